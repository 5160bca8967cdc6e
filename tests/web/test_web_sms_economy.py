""""Economizar SMS" per connector and per send: what goes out is GSM-7 when that saves segments."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from decimal import Decimal

from tests.support.harness import Harness
from tests.web.pagekit import PageClient, sms_conversation

Pages = Callable[[str], Awaitable[PageClient]]
PT = "Olá! Sua fatura de março está disponível. Não esqueça: o vencimento é amanhã, às 18h. Obrigado!"
SPELLED = "Ola! Sua fatura de marco esta disponivel. Nao esqueca: o vencimento é amanha, às 18h. Obrigado!"


async def last_out(h: Harness, conversation_id: int) -> dict[str, object]:
    items = (await h.get(f"/api/v1/conversations/{conversation_id}/messages")).json()["items"]
    return [m for m in items if m["direction"] == "out"][-1]


async def test_connector_setting_economizes_every_sms(harness: Harness) -> None:
    h = harness
    sms = await h.kolmeya_connector(sms_economize=True)
    conv = (await sms_conversation(h, connector=sms))["conversation"]
    r = await h.post(f"/api/v1/conversations/{conv['id']}/messages", {"text": PT}, who="ana")
    assert r.status_code == 202, r.text
    msg = r.json()
    assert msg["text"] == SPELLED and msg["attributes"]["original_text"] == PT
    assert (msg["encoding"], msg["segments"], Decimal(msg["cost"])) == ("gsm7", 1, Decimal("0.08"))
    await h.drain()
    assert h.kolmeya.state.messages_to("5548991910234")[-1].text == SPELLED  # what the customer gets
    # An agent turns it off for one send: the accents go as typed (UCS-2, 2 segments).
    r = await h.post(f"/api/v1/conversations/{conv['id']}/messages", {"text": PT, "economize": False}, who="ana")
    msg = r.json()
    assert msg["text"] == PT and "original_text" not in msg["attributes"]
    assert (msg["encoding"], msg["segments"]) == ("ucs2", 2)
    # Nothing to save (one segment either way): the text is left alone.
    r = await h.post(f"/api/v1/conversations/{conv['id']}/messages", {"text": "Olá, tudo bem?"}, who="ana")
    assert r.json()["text"] == "Olá, tudo bem?"


async def test_off_by_default_on_for_one_send(harness: Harness) -> None:
    h = harness
    conv = (await sms_conversation(h))["conversation"]
    r = await h.post(f"/api/v1/conversations/{conv['id']}/messages", {"text": PT}, who="ana")
    assert r.json()["text"] == PT and r.json()["segments"] == 2
    r = await h.post(f"/api/v1/conversations/{conv['id']}/messages", {"text": PT, "economize": True}, who="ana")
    assert r.json()["text"] == SPELLED and r.json()["segments"] == 1
    r = await h.post("/api/v1/messages", {"connector_id": conv["connector_id"], "to": "+5511988887771",
                                          "text": PT, "economize": True}, who="ana")
    assert r.status_code == 202 and r.json()["text"] == SPELLED


async def test_composer_and_settings(sqlite_harness: Harness, sqlite_pages: Pages) -> None:
    h = sqlite_harness
    conv = (await sms_conversation(h))["conversation"]
    ana = await sqlite_pages("ana")
    html = (await ana.get(f"/conversations/{conv['id']}")).text
    assert 'data-testid="sms-economize"' in html and "&#34;economize&#34;: false" in html
    r = await ana.post(f"/conversations/{conv['id']}/send", {"text": PT, "mode": "reply", "economize": "1"})
    assert r.status_code == 204
    assert (await last_out(h, conv["id"]))["text"] == SPELLED

    admin = await sqlite_pages("admin")
    page = (await admin.get(f"/settings/connectors/{conv['connector_id']}")).text
    assert re.search(r'name="cfg_sms_economize" type="checkbox" value="1"\s*>', page)  # off
    form = {"name": "SMS Kolmeya", "active": "1", "cfg_sms_economize": "1"}
    assert (await admin.post(f"/settings/connectors/{conv['connector_id']}", form)).status_code == 204
    page = (await admin.get(f"/settings/connectors/{conv['connector_id']}")).text
    assert re.search(r'name="cfg_sms_economize" type="checkbox" value="1"\s*checked', page)
    html = (await ana.get(f"/conversations/{conv['id']}")).text
    assert "&#34;economize&#34;: true" in html  # the composer starts with the connector's choice
    r = await ana.post(f"/conversations/{conv['id']}/send", {"text": PT, "mode": "reply"})
    assert (await last_out(h, conv["id"]))["text"] == SPELLED
    # Unchecked box: off again.
    form = {"name": "SMS Kolmeya", "active": "1"}
    assert (await admin.post(f"/settings/connectors/{conv['connector_id']}", form)).status_code == 204
    r = await ana.post(f"/conversations/{conv['id']}/send", {"text": PT, "mode": "reply"})
    assert (await last_out(h, conv["id"]))["text"] == PT


async def test_new_conversation_economizes_when_asked(sqlite_harness: Harness, sqlite_pages: Pages) -> None:
    h = sqlite_harness
    sms = await h.kolmeya_connector()
    ana = await sqlite_pages("ana")
    assert 'data-testid="new-economize"' in (await ana.get("/conversations/new")).text
    r = await ana.post("/conversations/new", {"connector_id": sms["id"], "to": "48991910234", "text": PT,
                                              "economize": "1"})
    conv_id = int(r.headers["HX-Redirect"].rsplit("/", 1)[1])
    assert (await last_out(h, conv_id))["text"] == SPELLED
    r = await ana.post("/conversations/new", {"connector_id": sms["id"], "to": "11988887771", "text": PT})
    conv_id = int(r.headers["HX-Redirect"].rsplit("/", 1)[1])
    assert (await last_out(h, conv_id))["text"] == PT
