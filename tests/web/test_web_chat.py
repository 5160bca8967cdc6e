"""Inbox and chat: thread, ticks, failures and retry, composer, actions, system lines, contact panel."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from sqlalchemy import insert

from atende.actions import contacts as contact_actions
from atende.actions import conversations as conv_actions
from atende.db.tables import templates
from atende.db.types import utcnow
from tests.support.harness import Harness
from tests.web.pagekit import PageClient, sms_conversation

Pages = Callable[[str], Awaitable[PageClient]]


def bubble(html: str, message_id: int) -> str:
    start = html.index(f'id="msg-{message_id}"')
    end = html.find('<div class="msg ', start + 10)
    return html[start:end if end > 0 else len(html)]


async def test_chat_shows_ticks_and_the_failure_reason_with_retry(harness: Harness, pages: Pages) -> None:
    one = await sms_conversation(harness, reply=None)
    harness.kolmeya.state.blacklist.add(11988887777)
    two = await sms_conversation(harness, "Oferta", to="+5511988887777", reply=None, connector=one["connector"])
    await harness.kolmeya.deliver_status(harness.kolmeya.state.messages_to("5548991910234")[0].id, 3)
    ana = await pages("ana")

    html = (await ana.get(f"/conversations/{one['conversation']['id']}")).text
    delivered = bubble(html, one["message"]["id"])
    assert "tick-delivered" in delivered and "✓✓" in delivered and 'title="Entregue"' in delivered
    assert "1 seg · R$ 0,08" in delivered and "Olá! Sua fatura vence amanhã." in delivered

    html = (await ana.get(f"/conversations/{two['conversation']['id']}")).text
    failed = bubble(html, two["message"]["id"])
    assert "tick-failed" in failed and 'role="alert"' in failed
    reason = re.search(r'class="reason">([^<]+)<', failed)
    assert reason and "blacklist" in reason.group(1).lower()
    assert f'hx-post="/messages/{two["message"]["id"]}/retry"' in failed

    r = await ana.post(f"/messages/{two['message']['id']}/retry")
    assert r.status_code == 200 and "tick-queued" in r.text and "⏱" in r.text and 'role="alert"' not in r.text


async def test_reply_note_and_thread_sync(harness: Harness, pages: Pages) -> None:
    one = await sms_conversation(harness)
    cid = one["conversation"]["id"]
    ana = await pages("ana")
    html = (await ana.get(f"/conversations/{cid}")).text
    assert 'id="thread"' in html and 'id="composer"' in html and 'id="contact-panel"' in html
    last_msg = max(int(x) for x in re.findall(r'data-msg-id="(\d+)"', html))
    last_evt = max([int(x) for x in re.findall(r'data-event-id="(\d+)"', html)] or [0])

    r = await ana.post(f"/conversations/{cid}/send", {"text": "Recebemos, obrigado!", "mode": "reply"})
    assert r.status_code == 204 and r.headers["HX-Trigger"] == "atende:thread-sync"
    r = await ana.post(f"/conversations/{cid}/send", {"text": "Cliente pediu 2ª via", "mode": "note"})
    assert r.status_code == 204
    r = await ana.post(f"/conversations/{cid}/send", {"text": "  ", "mode": "reply"})
    assert r.status_code == 422

    news = (await ana.get(f"/conversations/{cid}/thread?after_msg={last_msg}&after_event={last_evt}")).text
    assert "Recebemos, obrigado!" in news and "tick-queued" in news and "Ana" in news
    assert "Nota interna" in news and "Cliente pediu 2ª via" in news
    assert "Ana assumiu a conversa" in news  # replying takes the conversation: a system line says so
    assert f'data-msg-id="{last_msg}"' not in news  # only what is new
    conv = (await harness.get(f"/api/v1/conversations/{cid}")).json()
    assert conv["status"] == "open" and conv["assignee"]["id"] == harness.user_ids["ana"]


async def test_actions_take_transfer_close_reopen_write_system_lines(harness: Harness, pages: Pages) -> None:
    one = await sms_conversation(harness)
    cid = one["conversation"]["id"]
    ana = await pages("ana")
    r = await ana.post(f"/conversations/{cid}/take")
    assert r.status_code == 200 and 'id="chat-header"' in r.text and "Em atendimento" in r.text
    assert "atende:thread-sync" in r.headers["HX-Trigger"]
    r = await ana.post(f"/conversations/{cid}/transfer", {"agent_id": harness.user_ids["bruno"]})
    assert r.status_code == 200 and "Bruno" in r.text
    bruno = await pages("bruno")
    r = await bruno.post(f"/conversations/{cid}/close")
    assert r.status_code == 200 and 'data-status="done"' in r.text and "Reabrir" in r.text
    r = await bruno.post(f"/conversations/{cid}/reopen")
    assert r.status_code == 200 and 'data-status="new"' in r.text

    html = (await ana.get(f"/conversations/{cid}")).text
    lines = re.findall(r'class="sysline"[^>]*>\s*<span>([^·<]+)', html)
    assert [line.strip() for line in lines] == [
        "Reaberta: nova mensagem do cliente",
        "Ana assumiu a conversa",
        "Ana transferiu a conversa de Ana para Bruno",
        "Concluída por Bruno",
        "Reaberta por Bruno",
    ]


async def test_agent_cannot_reply_in_another_agents_conversation(harness: Harness, pages: Pages) -> None:
    one = await sms_conversation(harness)
    cid = one["conversation"]["id"]
    ana, bruno = await pages("ana"), await pages("bruno")
    await ana.post(f"/conversations/{cid}/take")
    r = await bruno.post(f"/conversations/{cid}/send", {"text": "oi", "mode": "reply"})
    assert r.status_code == 403
    header = (await bruno.get(f"/conversations/{cid}/header")).text
    assert "disabled" in header and "Transferir" not in header


async def test_unread_is_cleared_when_opened(harness: Harness, pages: Pages) -> None:
    one = await sms_conversation(harness)
    cid = one["conversation"]["id"]
    ana = await pages("ana")
    inbox = (await ana.get("/inbox")).text
    assert re.search(rf'id="item-{cid}".*?class="unread"[^>]*>1<', inbox, re.S)
    page = (await ana.get(f"/conversations/{cid}")).text
    assert f'hx-post="/conversations/{cid}/read"' in page
    assert (await ana.post(f"/conversations/{cid}/read")).status_code == 204
    assert (await harness.get(f"/api/v1/conversations/{cid}")).json()["unread"] == 0


async def test_sms_composer_counter_and_quick_replies_are_configured(harness: Harness, pages: Pages) -> None:
    one = await sms_conversation(harness)
    admin = await pages("admin")
    await admin.post("/settings/quick-replies", {"shortcut": "/boleto", "text": "Segue a 2ª via do boleto."})
    html = (await admin.get(f"/conversations/{one['conversation']['id']}")).text
    assert 'data-testid="sms-counter"' in html
    assert "&#34;costPerSegment&#34;: &#34;0.08&#34;" in html
    assert "&#34;shortcut&#34;: &#34;boleto&#34;" in html
    assert "/static/js/chat.js" in html and 'class="attach"' not in html  # no attachments on SMS


async def test_whatsapp_window_closed_shows_the_template_picker(harness: Harness, pages: Pages) -> None:
    r = await harness.post("/api/v1/connectors", {"name": "WhatsApp", "provider": "whatsapp_cloud", "config": {
        "access_token": "tok", "phone_number_id": "123", "app_secret": "sec", "verify_token": "ver"}})
    assert r.status_code == 201, r.text
    connector_id = r.json()["id"]
    async with harness.rt.write() as tx:
        contact_id = await contact_actions.resolve_contact(tx, "+5511977776666", "whatsapp", name="Rita")
        cid = await conv_actions.create(tx, connector_id=connector_id, contact_id=contact_id, channel="whatsapp",
                                        address="+5511977776666", address_key="+5511977776666", at=utcnow())
        await tx.conn.execute(insert(templates).values(
            connector_id=connector_id, name="boas_vindas", language="pt_BR", category="UTILITY", status="APPROVED",
            components=[{"type": "BODY", "text": "Olá {{1}}, podemos ajudar?"}], updated_at=utcnow()))
    ana = await pages("ana")
    html = (await ana.get(f"/conversations/{cid}")).text
    assert 'class="template-picker"' in html and "janela de 24 h" in html and "boas_vindas" in html
    assert 'class="attach"' in html  # WhatsApp takes attachments
    r = await ana.post(f"/conversations/{cid}/send", {"text": "oi", "mode": "reply"})
    assert r.status_code == 409 and "modelo" in r.text
    tid = re.search(r'<option value="(\d+)">boas_vindas', html)
    assert tid
    r = await ana.post(f"/conversations/{cid}/send", {"mode": "template", "template_id": tid.group(1),
                                                      "params": "Rita"})
    assert r.status_code == 204
    items = (await harness.get(f"/api/v1/conversations/{cid}/messages")).json()["items"]
    assert items[-1]["kind"] == "template" and items[-1]["text"] == "Olá Rita, podemos ajudar?"


async def test_contact_panel_renames_and_toggles_opt_out(harness: Harness, pages: Pages) -> None:
    one = await sms_conversation(harness)
    contact_id = one["conversation"]["contact"]["id"]
    ana = await pages("ana")
    r = await ana.post(f"/contacts/{contact_id}/name", {"name": "Maria Souza", "conversation": "1"})
    assert r.status_code == 200 and 'value="Maria Souza"' in r.text and "Nome salvo" in r.text
    r = await ana.post(f"/contacts/{contact_id}/optout", {"opted_out": "1"})
    assert r.status_code == 200 and "Não recebe SMS" in r.text
    contact = (await harness.get(f"/api/v1/contacts/{contact_id}")).json()
    assert contact["name"] == "Maria Souza" and contact["sms_opted_out"] is True
    page = (await ana.get(f"/contacts/{contact_id}")).text
    assert "Histórico de Maria Souza" in page and "+5548991910234" in page
    assert "Olá! Sua fatura vence amanhã." in page and "Já paguei, obrigado" in page
    assert (await ana.post(f"/contacts/{contact_id}/name", {"name": " "})).status_code == 422
    assert (await ana.get("/contacts/99999")).status_code == 404
