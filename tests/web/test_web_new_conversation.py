""""Nova conversa": pick a connector, type a number in any Brazilian spelling, send text or a template."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import pytest

from tests.support.harness import Harness
from tests.support.whatsapp import settle
from tests.web.pagekit import PageClient, sms_conversation

Pages = Callable[[str], Awaitable[PageClient]]


@pytest.mark.parametrize("typed", ["(48) 9191-0234", "48 99191-0234", "048991910234", "+55 48 99191 0234",
                                   "5548991910234"])
async def test_any_brazilian_spelling_reaches_the_same_number(sqlite_harness: Harness, sqlite_pages: Pages,
                                                              typed: str) -> None:
    h = sqlite_harness
    sms = await h.kolmeya_connector()
    ana = await sqlite_pages("ana")
    check = await ana.get("/conversations/new/number", params={"connector_id": sms["id"], "to": typed})
    assert 'data-testid="number-ok">Enviar para +55 48 99191-0234<' in check.text
    r = await ana.post("/conversations/new", {"connector_id": sms["id"], "to": typed, "mode": "text",
                                              "text": "Olá! Aqui é da loja, sobre o seu pedido."})
    assert r.status_code == 204, r.text
    conv_id = int(r.headers["HX-Redirect"].rsplit("/", 1)[1])
    await h.drain()
    assert [m.text for m in h.kolmeya.state.messages_to("5548991910234")] == \
        ["Olá! Aqui é da loja, sobre o seu pedido."]
    conv = (await h.get(f"/api/v1/conversations/{conv_id}")).json()
    # Started from the workspace: the agent holds it, so the customer's answer comes back to them.
    assert conv["contact"]["address"] == "+5548991910234"
    assert conv["status"] == "open" and conv["assignee"]["id"] == h.user_ids["ana"]


async def test_the_form_lists_startable_connectors_and_checks_the_number(harness: Harness, pages: Pages) -> None:
    one = await sms_conversation(harness)
    sms_id = one["connector"]["id"]
    ana = await pages("ana")
    html = (await ana.get("/conversations/new")).text
    assert re.search(rf'<option value="{sms_id}"[^>]*>SMS Kolmeya · SMS</option>', html)
    assert 'data-testid="new-conversation"' in html and "x-data=\"newConversation(" in html
    bad = await ana.get("/conversations/new/number", params={"connector_id": sms_id, "to": "12345"})
    assert "Número inválido: confira o DDD e os dígitos." in bad.text
    known = await ana.get("/conversations/new/number", params={"connector_id": sms_id, "to": "(48) 9191-0234"})
    assert f'href="/conversations/{one["conversation"]["id"]}" data-testid="number-existing"' in known.text

    # Mistakes come back on the form, in words, with what was typed kept.
    r = await ana.post("/conversations/new", {"connector_id": sms_id, "to": "12345", "text": "Oi"}, htmx=False)
    assert r.status_code == 422 and "Número inválido" in r.text and 'value="12345"' in r.text
    r = await ana.post("/conversations/new", {"connector_id": sms_id, "to": "48991910234", "text": " "},
                       htmx=False)
    assert r.status_code == 422 and "Escreva a mensagem antes de enviar." in r.text
    r = await ana.post("/conversations/new", {"connector_id": 9999, "to": "48991910234", "text": "Oi"}, htmx=False)
    assert r.status_code == 422 and "Escolha um conector." in r.text


async def test_an_existing_conversation_is_reused_and_refusals_are_shown(sqlite_harness: Harness,
                                                                         sqlite_pages: Pages) -> None:
    h = sqlite_harness
    one = await sms_conversation(h)
    ana = await sqlite_pages("ana")
    r = await ana.post("/conversations/new", {"connector_id": one["connector"]["id"], "to": "(48) 9191-0234",
                                              "text": "Retomando nosso assunto"})
    assert r.headers["HX-Redirect"] == f"/conversations/{one['conversation']['id']}"
    r = await h.client.patch(f"/api/v1/contacts/{one['conversation']['contact']['id']}",
                             json={"sms_opted_out": True}, headers=h.auth())
    r = await ana.post("/conversations/new", {"connector_id": one["connector"]["id"], "to": "48991910234",
                                              "text": "De novo"}, htmx=False)
    assert r.status_code == 409 and "pediu para não receber SMS" in r.text


async def test_whatsapp_starts_with_an_approved_template(sqlite_harness: Harness, sqlite_pages: Pages) -> None:
    h = sqlite_harness
    wa = await h.whatsapp_connector()
    h.graph.add_template("pedido_atualizado", body="Olá {{1}}, seu pedido {{2}} foi atualizado.")
    h.graph.add_template("promo_rascunho", status="PENDING")
    r = await h.post(f"/api/v1/connectors/{wa['id']}/templates/sync", who="supervisor")
    assert r.status_code == 200, r.text
    ana = await sqlite_pages("ana")
    html = (await ana.get("/conversations/new")).text
    assert "pedido_atualizado" in html and "promo_rascunho" not in html  # only approved ones are offered
    listed = (await h.get(f"/api/v1/connectors/{wa['id']}/templates")).json()
    tpl_id = next(t["id"] for t in (listed["items"] if isinstance(listed, dict) else listed)
                  if t["name"] == "pedido_atualizado")
    r = await ana.post("/conversations/new", {"connector_id": wa["id"], "to": "(11) 98765-4321", "mode": "template",
                                              "template_id": tpl_id, "params": ["Maria", "4521"]})
    assert r.status_code == 204, r.text
    conv_id = int(r.headers["HX-Redirect"].rsplit("/", 1)[1])
    await settle(h)
    sent = h.graph.sent_to("5511987654321")
    assert len(sent) == 1 and sent[0].type == "template"
    items = (await h.get(f"/api/v1/conversations/{conv_id}/messages")).json()["items"]
    assert items[-1]["kind"] == "template" and items[-1]["text"] == "Olá Maria, seu pedido 4521 foi atualizado."
    # Plain text on a new WhatsApp number: the 24 h window is closed, said in words.
    r = await ana.post("/conversations/new", {"connector_id": wa["id"], "to": "(21) 98888-7777", "mode": "text",
                                              "text": "Oi"}, htmx=False)
    assert r.status_code == 409 and "janela de 24 h encerrada" in r.text


async def test_from_the_contact_page_its_numbers_are_ready(harness: Harness, pages: Pages) -> None:
    one = await sms_conversation(harness)
    contact_id = one["conversation"]["contact"]["id"]
    ana = await pages("ana")
    # Serving the contact, she reads its page (auth.policy).
    assert (await ana.post(f"/conversations/{one['conversation']['id']}/take")).status_code == 200
    panel = (await ana.get(f"/contacts/{contact_id}")).text
    assert f'href="/conversations/new?contact={contact_id}"' in panel
    html = (await ana.get(f"/conversations/new?contact={contact_id}")).text
    assert 'value="+5548991910234"' in html and f'name="contact" value="{contact_id}"' in html
    assert 'data-testid="new-for-contact"' in html
    assert (await ana.get("/conversations/new?contact=999999")).status_code == 404
