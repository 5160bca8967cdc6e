"""Templates in the thread and across the WhatsApp Business Account, on SQLite and PostgreSQL.

A sent template is stored with the text the customer reads (previews, chat, contact timeline);
template status webhooks update every connector (phone number) of the template's WABA.
"""

from __future__ import annotations

from typing import Any

from atende.channels.whatsapp_cloud.fixtures import load_fixture
from atende.testing.fake_graph import build_template_status_webhook
from tests.support.harness import Harness
from tests.support.whatsapp import WA, conversation, inbound, message, post_webhook, settle, thread

ORDER_COMPONENTS = [
    {"type": "HEADER", "format": "TEXT", "text": "Pedido {{1}}"},
    {"type": "BODY", "text": "Olá {{1}}, seu pedido de {{2}} chega em {{3}}."},
    {"type": "FOOTER", "text": "Loja Exemplo"},
    {"type": "BUTTONS", "buttons": [
        {"type": "QUICK_REPLY", "text": "Falar com atendente"},
        {"type": "URL", "text": "Rastrear", "url": "https://loja.example/r/{{1}}"},
    ]},
]
ORDER_SEND = [
    {"type": "header", "parameters": [{"type": "text", "text": "#4512"}]},
    {"type": "body", "parameters": [
        {"type": "text", "text": "Maria"},
        {"type": "currency", "currency": {"amount_1000": 100990, "code": "BRL", "fallback_value": "R$ 100,99"}},
        {"type": "date_time", "date_time": {"fallback_value": "3 de março"}},
    ]},
    {"type": "button", "sub_type": "url", "index": "1", "parameters": [{"type": "text", "text": "4512"}]},
]
ORDER_TEXT = ("Pedido #4512\nOlá Maria, seu pedido de R$ 100,99 chega em 3 de março.\nLoja Exemplo\n"
              "[Falar com atendente] [Rastrear]")


async def _sync(h: Harness, connector: dict[str, Any]) -> None:
    r = await h.post(f"/api/v1/connectors/{connector['id']}/templates/sync", who="supervisor")
    assert r.status_code == 200, r.text


# ------------------------------------------------------------------------------- text in the thread


async def test_a_sent_template_shows_its_text_in_chat_previews_and_timeline(harness: Harness) -> None:
    c = await harness.whatsapp_connector()
    harness.graph.add_template("pedido_enviado", components=ORDER_COMPONENTS)
    await _sync(harness, c)
    first = await inbound(harness, c, WA, "Cadê meu pedido?", name="Maria Souza")
    conv_id = first["conversation_id"]
    spec = {"name": "pedido_enviado", "language": "pt_BR", "components": ORDER_SEND}

    r = await harness.post(f"/api/v1/conversations/{conv_id}/messages", {"template": spec})
    assert r.status_code == 202, r.text
    queued = r.json()
    assert (queued["kind"], queued["text"]) == ("template", ORDER_TEXT)
    assert queued["attributes"]["template"] == spec  # the spec is kept for the send and for the UI
    await settle(harness)

    # What went to Meta is the template itself, never our rendering.
    (sent,) = harness.graph.sent
    assert sent.type == "template" and "text" not in sent.body
    assert sent.body["template"]["components"] == ORDER_SEND
    assert (await message(harness, queued["id"]))["status"] == "sent"

    # The chat, the conversation preview, the inbox list and the contact timeline.
    assert [m["text"] for m in await thread(harness, conv_id)] == ["Cadê meu pedido?", ORDER_TEXT]
    conv = await conversation(harness, conv_id)
    assert conv["last_message_preview"] == ORDER_TEXT.replace("\n", " ")[:120]
    assert conv["last_message_preview"].startswith("Pedido #4512 Olá Maria")
    listed = (await harness.get("/api/v1/conversations", params={"channel": "whatsapp"})).json()["items"]
    assert [i["last_message_preview"] for i in listed] == [conv["last_message_preview"]]
    found = (await harness.get("/api/v1/conversations", params={"q": "R$ 100,99"})).json()["items"]
    assert [i["id"] for i in found] == [conv_id]  # searchable by what the customer read
    timeline = (await harness.get(f"/api/v1/contacts/{conv['contact']['id']}/timeline")).json()["items"]
    assert [(m["kind"], m["text"]) for m in timeline] == [("text", "Cadê meu pedido?"), ("template", ORDER_TEXT)]


async def test_a_template_that_opens_a_conversation_renders_named_parameters(harness: Harness) -> None:
    c = await harness.whatsapp_connector()
    harness.graph.add_template("boas_vindas", body="Oi {{first_name}}! Seu cupom é {{coupon}}.",
                               parameter_format="NAMED")
    await _sync(harness, c)
    r = await harness.post(f"/api/v1/connectors/{c['id']}/templates/send", {
        "to": "+55 31 98765-1234", "name": "boas_vindas", "language": "pt_BR",
        "components": [{"type": "body", "parameters": [
            {"type": "text", "text": "BEMVINDO10", "parameter_name": "coupon"},
            {"type": "text", "text": "Joana", "parameter_name": "first_name"}]}]})
    assert r.status_code == 202, r.text
    assert r.json()["text"] == "Oi Joana! Seu cupom é BEMVINDO10."
    conv = await conversation(harness, r.json()["conversation_id"])
    assert conv["last_message_preview"] == "Oi Joana! Seu cupom é BEMVINDO10."
    # Same through POST /messages (the other way to start a conversation).
    r = await harness.post("/api/v1/messages", {
        "connector_id": c["id"], "to": "+5521998765432",
        "template": {"name": "boas_vindas", "language": "pt_BR", "components": [{"type": "body", "parameters": [
            {"type": "text", "text": "Rui", "parameter_name": "first_name"},
            {"type": "text", "text": "X1", "parameter_name": "coupon"}]}]}})
    assert r.status_code == 202 and r.json()["text"] == "Oi Rui! Seu cupom é X1.", r.text
    await settle(harness)
    assert [s.body["template"]["name"] for s in harness.graph.sent] == ["boas_vindas", "boas_vindas"]


async def test_a_template_known_only_from_a_webhook_keeps_the_generic_preview(harness: Harness) -> None:
    c = await harness.whatsapp_connector()
    await post_webhook(harness, c, build_template_status_webhook("aviso", "pt_BR", "APPROVED"))
    await settle(harness)
    r = await harness.post(f"/api/v1/connectors/{c['id']}/templates/send",
                           {"to": "+5531987651234", "name": "aviso", "language": "pt_BR"})
    assert r.status_code == 202, r.text
    assert r.json()["text"] is None  # nothing synced to render from: no made-up text
    assert (await conversation(harness, r.json()["conversation_id"]))["last_message_preview"] == "Modelo"


# ----------------------------------------------------------------------------- one WABA, many numbers


async def _templates(h: Harness, connector: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    r = await h.get(f"/api/v1/connectors/{connector['id']}/templates")
    assert r.status_code == 200, r.text
    return {(t["name"], t["language"]): t for t in r.json()["items"]}


async def test_template_status_reaches_every_number_of_the_waba(harness: Harness) -> None:
    g = harness.graph
    a = await harness.whatsapp_connector()  # the fake's number, WABA g.waba_id
    b = await harness.whatsapp_connector(phone_number_id="109999999999999")  # same WABA, another number
    other = await harness.whatsapp_connector(phone_number_id="108888888888888", waba_id="777777777777777")
    unset = await harness.whatsapp_connector(phone_number_id="107777777777777", waba_id=None)
    g.add_template("pedido_enviado", body="Seu pedido {{1}} saiu.")
    g.add_template("boas_vindas", category="UTILITY", body="Olá!")
    await _sync(harness, a)
    await _sync(harness, b)
    # The other WABA knows "pedido_enviado" too (approved there), from its own webhook.
    await post_webhook(harness, other, build_template_status_webhook("pedido_enviado", "pt_BR", "APPROVED",
                                                                    waba_id="777777777777777"))
    await settle(harness)

    # Meta pauses a template: the webhook reaches only A's URL, yet B's list follows.
    await post_webhook(harness, a, build_template_status_webhook("pedido_enviado", "pt_BR", "PAUSED"))
    # A recategorisation arrives at B's URL: A follows.
    category = load_fixture("template_category_update")
    category["entry"][0]["changes"][0]["value"]["message_template_name"] = "boas_vindas"
    await post_webhook(harness, b, category)
    # A template created and rejected in the WhatsApp Manager: both lists learn it.
    await post_webhook(harness, a, build_template_status_webhook("novo_modelo", "pt_BR", "REJECTED",
                                                                reason="INVALID_FORMAT"))
    await settle(harness)

    for connector in (a, b):
        listed = await _templates(harness, connector)
        assert listed[("pedido_enviado", "pt_BR")]["status"] == "PAUSED", connector["id"]
        assert listed[("boas_vindas", "pt_BR")]["category"] == "MARKETING", connector["id"]
        assert listed[("novo_modelo", "pt_BR")]["status"] == "REJECTED", connector["id"]
    # Another WABA's number is untouched…
    assert {k: t["status"] for k, t in (await _templates(harness, other)).items()} == {
        ("pedido_enviado", "pt_BR"): "APPROVED"}
    # …and so is a number whose WABA is not configured (it only hears its own webhooks).
    assert await _templates(harness, unset) == {}

    # B refuses the paused template before anything is queued, though the webhook went to A.
    r = await harness.post(f"/api/v1/connectors/{b['id']}/templates/send",
                           {"to": "+5531987651234", "name": "pedido_enviado", "language": "pt_BR",
                            "components": [{"type": "body", "parameters": [{"type": "text", "text": "1"}]}]})
    assert r.status_code == 409 and r.json()["code"] == "template_not_approved", r.text

    # An event of the other WABA delivered at A's URL (one app, one callback) goes to that WABA only.
    await post_webhook(harness, a, build_template_status_webhook("boas_vindas", "pt_BR", "DISABLED",
                                                                waba_id="777777777777777"))
    # A number without waba_id still hears what its own URL receives, and the WABA named in the
    # event (entry.id) has its numbers updated too.
    await post_webhook(harness, unset, build_template_status_webhook("aviso", "pt_BR", "APPROVED"))
    await settle(harness)
    assert (await _templates(harness, other))[("boas_vindas", "pt_BR")]["status"] == "DISABLED"
    for connector in (a, b):
        assert (await _templates(harness, connector))[("boas_vindas", "pt_BR")]["status"] == "APPROVED"
    assert set(await _templates(harness, unset)) == {("aviso", "pt_BR")}
    for connector in (a, b):
        assert (await _templates(harness, connector))[("aviso", "pt_BR")]["status"] == "APPROVED"
    assert ("aviso", "pt_BR") not in await _templates(harness, other)
