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
    ana = await pages("supervisor")  # the admin's sends: concluded, nobody's queue

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
        "Ana transferiu a conversa para Bruno",  # not "de Ana para Bruno" when Ana hands over her own
        "Concluída por Bruno",
        "Reaberta por Bruno",
    ]


async def test_agent_cannot_reply_in_another_agents_conversation(harness: Harness, pages: Pages) -> None:
    one = await sms_conversation(harness)
    cid = one["conversation"]["id"]
    ana, bruno = await pages("ana"), await pages("bruno")
    await ana.post(f"/conversations/{cid}/take")
    # Ana's now, and the visibility is "own": Bruno neither sees it nor answers in it (a team-wide
    # team's colleague sees it but may not answer: tests/teams/test_visibility_pages.py).
    r = await bruno.post(f"/conversations/{cid}/send", {"text": "oi", "mode": "reply"})
    assert r.status_code == 404
    assert (await bruno.get(f"/conversations/{cid}/header")).status_code == 404
    # The REST API refuses the same reply: one rule, in the action (issue 7 §3).
    r = await harness.post(f"/api/v1/conversations/{cid}/messages", {"text": "oi"}, who="bruno")
    assert r.status_code == 404


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
    assert (await ana.get(f"/contacts/{contact_id}")).status_code == 403  # the whole history: once she serves it
    await ana.post(f"/conversations/{one['conversation']['id']}/take")
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


def composer_config(html: str) -> str:
    match = re.search(r'x-data="composer\(([^"]+)\)"', html)
    assert match, "no composer on the page"
    return match.group(1).replace("&#34;", '"')


async def test_composer_is_note_only_in_another_agents_conversation(harness: Harness, pages: Pages) -> None:
    # Ana and Bruno share a team whose visibility is "team": Bruno sees Ana's conversation.
    c = await harness.kolmeya_connector()
    members = [harness.user_ids[who] for who in ("ana", "bruno", "supervisor")]
    r = await harness.post("/api/v1/teams", {"name": "Cobrança", "member_ids": members, "connector_ids": [c["id"]],
                                             "visibility": "team"})
    assert r.status_code == 201, r.text
    one = await sms_conversation(harness, connector=c)
    cid = one["conversation"]["id"]
    ana, bruno, sup = await pages("ana"), await pages("bruno"), await pages("supervisor")
    await ana.post(f"/conversations/{cid}/take")
    mine = (await ana.get(f"/conversations/{cid}")).text
    assert '"locked": false' in composer_config(mine) and 'data-may-handle="1"' in mine
    theirs = (await bruno.get(f"/conversations/{cid}")).text
    config = composer_config(theirs)
    assert '"locked": true' in config and '"holder": "Ana"' in config
    assert "{name}. Voc\\u00ea pode deixar uma nota interna." in config
    assert 'data-testid="composer-locked"' in theirs and ':disabled="locked"' in theirs
    assert 'data-may-handle="0" data-holder="Ana"' in theirs  # what the live header tells the composer
    # A note is still welcome; a reply is not.
    note = await bruno.post(f"/conversations/{cid}/send", {"text": "Ana, ela já pagou", "mode": "note"})
    assert note.status_code == 204
    assert (await bruno.post(f"/conversations/{cid}/send", {"text": "oi", "mode": "reply"})).status_code == 403
    assert '"locked": false' in composer_config((await sup.get(f"/conversations/{cid}")).text)
    # After a transfer the header Ana receives says she may no longer answer.
    r = await ana.post(f"/conversations/{cid}/transfer", {"agent_id": harness.user_ids["bruno"]})
    assert 'data-may-handle="0" data-holder="Bruno"' in r.text
    header = (await bruno.get(f"/conversations/{cid}/header")).text
    assert 'data-may-handle="1" data-holder="Bruno"' in header


async def test_supervisor_transfer_names_both_agents(harness: Harness, pages: Pages) -> None:
    one = await sms_conversation(harness)
    cid = one["conversation"]["id"]
    ana, sup = await pages("ana"), await pages("supervisor")
    await ana.post(f"/conversations/{cid}/take")
    await sup.post(f"/conversations/{cid}/transfer", {"agent_id": harness.user_ids["bruno"]})
    html = (await ana.get(f"/conversations/{cid}")).text
    assert "Supervisor transferiu a conversa de Ana para Bruno" in html


async def test_chat_pane_keyboard_and_phone_affordances(harness: Harness, pages: Pages) -> None:
    one = await sms_conversation(harness)
    cid = one["conversation"]["id"]
    ana = await pages("ana")
    html = (await ana.get(f"/conversations/{cid}")).text
    # The thread takes focus when a conversation opens (Tab: composer, Shift+Tab: actions).
    assert re.search(r'id="thread" tabindex="-1"', html)
    # The contact toggle uses a glyph every font has (ⓘ was a missing-glyph box), and the panel,
    # which covers the chat on a phone, has its own way back.
    assert "ⓘ" not in html and 'class="toggle-contact"' in html and "ℹ️" in html
    panel = html[html.index('id="contact-panel"'):]
    assert 'class="close-contact"' in panel and "Voltar à conversa" in panel
    contact_page = (await ana.get(f"/contacts/{one['conversation']['contact']['id']}")).text
    assert 'class="close-contact"' not in contact_page  # no chat to go back to there
    # Customer bubbles carry the channel mark in their footer, not on a line of its own.
    inbound = bubble(html, max(int(x) for x in re.findall(r'id="msg-(\d+)" data-msg-id', html)))
    assert 'data-status="received"' in inbound and "msg-head" not in inbound
    assert re.search(r'<footer>\s*<span class="chmark ch-sms"', inbound)
    # A contact without a name is shown by number once, not "number · SMS · number".
    header = html[html.index('id="chat-header"'):html.index("</header>", html.index('id="chat-header"'))]
    assert header.count("+5548991910234") == 1
    # Back/forward re-load the page instead of restoring a DOM snapshot full of Alpine's rendered copies.
    assert '"historyCacheSize": 0' in html and '"refreshOnHistoryMiss": true' in html


async def test_demo_quick_replies_reach_the_composer(harness: Harness, pages: Pages) -> None:
    from atende.demo import QUICK_REPLIES, prepare

    await prepare(harness.rt)
    await prepare(harness.rt)  # idempotent: no duplicate shortcut
    one = await sms_conversation(harness)
    ana = await pages("ana")
    config = composer_config((await ana.get(f"/conversations/{one['conversation']['id']}")).text)
    for shortcut, _text in QUICK_REPLIES:
        assert config.count(f'"shortcut": "{shortcut}"') == 1, shortcut


async def test_inbox_list_keeps_an_empty_state_for_live_removals(harness: Harness, pages: Pages) -> None:
    one = await sms_conversation(harness)
    ana = await pages("ana")
    html = (await ana.get("/inbox")).text
    assert f'id="item-{one["conversation"]["id"]}"' in html
    assert re.search(r'<p class="empty-col" hidden>Nenhuma conversa\.</p>', html)  # shown by chat.js when emptied
    empty = (await ana.get("/inbox?f=mine")).text
    assert re.search(r'<p class="empty-col" >Nenhuma conversa\.</p>', empty)
    searched = (await ana.get("/inbox?q=paguei")).text
    assert "Limpar busca" in searched and 'href="/inbox?f=all"' in searched
