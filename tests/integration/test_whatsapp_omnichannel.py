"""WhatsApp next to SMS: one conversation list filtered by channel, one contact timeline."""

from __future__ import annotations

import time

from tests.support.harness import Harness
from tests.support.whatsapp import WA, WA_12, conversation, inbound, reply, settle


async def test_sms_and_whatsapp_side_by_side_and_one_timeline(harness: Harness) -> None:
    sms = await harness.kolmeya_connector()
    wa = await harness.whatsapp_connector()

    # The customer wrote on WhatsApp two minutes ago (from her legacy 12-digit account)…
    first = await inbound(harness, wa, WA_12, "Oi, vi a promoção pelo WhatsApp", name="Maria Souza",
                          timestamp=int(time.time()) - 120)
    # …the SMS campaign goes to the number as agents type it…
    r = await harness.post("/api/v1/messages", {"connector_id": sms["id"], "to": "+55 11 98765-4321",
                                                "text": "Promoção: 20% off hoje"})
    assert r.status_code == 202, r.text
    sms_msg = r.json()
    # …and the agent answers on WhatsApp.
    answer = await reply(harness, first["conversation_id"], "Oi Maria! Quer o link?")
    await settle(harness)
    assert harness.kolmeya.state.sent[0].text == "Promoção: 20% off hoje"
    assert harness.graph.sent[0].to == WA_12

    wa_conv = await conversation(harness, first["conversation_id"])
    sms_conv = await conversation(harness, sms_msg["conversation_id"])
    assert wa_conv["id"] != sms_conv["id"]
    assert (wa_conv["channel"], sms_conv["channel"]) == ("whatsapp", "sms")
    assert wa_conv["contact"]["id"] == sms_conv["contact"]["id"]  # one person, both channels

    everything = (await harness.get("/api/v1/conversations")).json()["items"]
    assert {c["id"] for c in everything} == {wa_conv["id"], sms_conv["id"]}
    only_wa = (await harness.get("/api/v1/conversations", params={"channel": "whatsapp"})).json()["items"]
    only_sms = (await harness.get("/api/v1/conversations", params={"channel": "sms"})).json()["items"]
    assert [c["id"] for c in only_wa] == [wa_conv["id"]]
    assert [c["id"] for c in only_sms] == [sms_conv["id"]]

    timeline = (await harness.get(f"/api/v1/contacts/{wa_conv['contact']['id']}/timeline")).json()["items"]
    assert [(m["channel"], m["id"]) for m in timeline] == [
        ("whatsapp", first["id"]), ("sms", sms_msg["id"]), ("whatsapp", answer["id"])]
    stamps = [m["created_at"] for m in timeline]
    assert stamps == sorted(stamps)
    assert timeline[1]["segments"] == 1 and timeline[0]["segments"] is None  # SMS facts only on SMS

    contact = (await harness.get(f"/api/v1/contacts/{wa_conv['contact']['id']}")).json()
    assert contact["name"] == "Maria Souza"
    assert {c["channel"] for c in contact["conversations"]} == {"whatsapp", "sms"}
    assert [i["value"] for i in contact["identities"] if i["kind"] == "phone"] == ["+" + WA]


async def test_whatsapp_customer_answering_an_sms_contact_is_the_same_person(harness: Harness) -> None:
    sms = await harness.kolmeya_connector()
    wa = await harness.whatsapp_connector()
    r = await harness.post("/api/v1/messages", {"connector_id": sms["id"], "to": "+5511987654321", "text": "Oi"})
    sms_conv = await conversation(harness, r.json()["conversation_id"])
    msg = await inbound(harness, wa, WA, "Recebi seu SMS")
    wa_conv = await conversation(harness, msg["conversation_id"])
    assert wa_conv["contact"]["id"] == sms_conv["contact"]["id"]
    assert wa_conv["connector_id"] == wa["id"] and sms_conv["connector_id"] == sms["id"]


async def test_post_messages_opens_a_whatsapp_conversation_with_a_template(harness: Harness) -> None:
    c = await harness.whatsapp_connector()
    harness.graph.add_template("boas_vindas", body="Bem-vindo à nossa loja!")
    assert (await harness.post(f"/api/v1/connectors/{c['id']}/templates/sync", who="supervisor")).status_code == 200
    text_only = await harness.post("/api/v1/messages", {"connector_id": c["id"], "to": "+5511987654321", "text": "Oi"})
    assert text_only.status_code == 409 and text_only.json()["code"] == "window_closed"
    neither = await harness.post("/api/v1/messages", {"connector_id": c["id"], "to": "+5511987654321"})
    assert neither.status_code == 422
    r = await harness.post("/api/v1/messages", {"connector_id": c["id"], "to": "+5511987654321",
                                                 "template": {"name": "boas_vindas", "language": "pt_BR"}})
    assert r.status_code == 202 and r.json()["kind"] == "template", r.text
    await harness.drain()
    assert [s.body["template"]["name"] for s in harness.graph.sent] == ["boas_vindas"]
