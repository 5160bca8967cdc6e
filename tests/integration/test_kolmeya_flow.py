"""Kolmeya SMS end to end through HTTP: connector, send, status, reply, poll, opt-out."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from atende.db.tables import messages
from tests.support.harness import Harness

PHONE = "+5548991910234"


async def _send(h: Harness, connector_id: int, text: str, to: str = PHONE) -> dict:
    r = await h.post("/api/v1/messages", {"connector_id": connector_id, "to": to, "text": text})
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] == "queued"
    return dict(body)


async def test_connector_create_hides_secrets_and_tests_balance(harness: Harness) -> None:
    c = await harness.kolmeya_connector()
    assert c["provider"] == "kolmeya" and c["channel"] == "sms"
    assert c["webhook_url"].startswith("http://atende.test/webhooks/") and len(c["webhook_url"]) > 60
    assert "test-token" not in str(c) and "config" not in c
    r = await harness.post(f"/api/v1/connectors/{c['id']}/test")
    assert r.status_code == 200
    assert r.json() == {"ok": True, "detail": r.json()["detail"], "balance": "9397.3",
                        "balance_display": "R$ 9.397,30"}
    assert "9.397,30" in r.json()["detail"]


async def test_test_connection_reports_bad_token(harness: Harness) -> None:
    c = await harness.kolmeya_connector(api_token="wrong")
    r = await harness.post(f"/api/v1/connectors/{c['id']}/test")
    assert r.status_code == 200
    assert r.json()["ok"] is False and r.json()["balance"] is None
    assert "token" in r.json()["detail"].lower()


async def test_send_status_reply_and_stats(harness: Harness) -> None:
    c = await harness.kolmeya_connector()
    text = "Olá! Sua fatura vence amanhã."  # "á" and "ã": UCS-2, 1 segment
    msg = await _send(harness, c["id"], text)
    assert msg["segments"] == 1 and msg["encoding"] == "ucs2" and msg["cost"] == "0.08"
    await harness.drain()

    sent = harness.kolmeya.state.sent
    assert len(sent) == 1 and sent[0].text == text
    assert sent[0].reference != str(msg["id"]) and len(sent[0].reference) >= 20  # opaque, not the id
    assert sent[0].webhook_url == c["webhook_url"]
    m = (await harness.get(f"/api/v1/conversations/{msg['conversation_id']}/messages")).json()["items"][0]
    assert m["status"] == "sent" and m["provider_message_id"] == sent[0].id

    r = await harness.kolmeya.deliver_status(sent[0].id, 3)
    assert r.status_code == 200, r.text
    m = (await harness.get(f"/api/v1/conversations/{msg['conversation_id']}/messages")).json()["items"][0]
    assert m["status"] == "delivered"

    await harness.kolmeya.send_reply(sent[0].id, "Já paguei, obrigado")
    conv = (await harness.get(f"/api/v1/conversations/{msg['conversation_id']}")).json()
    assert conv["status"] == "new" and conv["unread"] == 1 and conv["channel"] == "sms"
    assert conv["contact"]["address"] == PHONE
    thread = (await harness.get(f"/api/v1/conversations/{conv['id']}/messages")).json()["items"]
    assert [t["direction"] for t in thread] == ["out", "in"]
    assert thread[1]["text"] == "Já paguei, obrigado" and thread[1]["reply_to_id"] == msg["id"]

    stats = (await harness.get(f"/api/v1/connectors/{c['id']}")).json()["stats"]
    assert stats == {"sent": 1, "received": 1, "segments": 1, "cost": "0.08"}
    assert conv["segments_total"] == 1 and Decimal(conv["cost_total"]) == Decimal("0.08")


async def test_delivery_status_never_downgrades_and_failure_reason_shown(harness: Harness) -> None:
    c = await harness.kolmeya_connector()
    msg = await _send(harness, c["id"], "teste")
    await harness.drain()
    kid = harness.kolmeya.state.sent[0].id
    await harness.kolmeya.deliver_status(kid, 3)
    await harness.kolmeya.deliver_status(kid, 2)  # late "enviado" after "entregue"
    m = (await harness.get(f"/api/v1/conversations/{msg['conversation_id']}/messages")).json()["items"][0]
    assert m["status"] == "delivered"

    msg2 = await _send(harness, c["id"], "outro", to="+5511988887777")
    await harness.drain()
    kid2 = harness.kolmeya.state.messages_to("5511988887777")[0].id
    await harness.kolmeya.deliver_status(kid2, 5)
    m2 = (await harness.get(f"/api/v1/conversations/{msg2['conversation_id']}/messages")).json()["items"][0]
    assert m2["status"] == "failed" and "rejeitad" in (m2["error"] or "").lower()


async def test_blacklisted_number_fails_visibly(harness: Harness) -> None:
    c = await harness.kolmeya_connector()
    harness.kolmeya.state.blacklist.add(48991910234)
    msg = await _send(harness, c["id"], "oi")
    await harness.drain()
    m = (await harness.get(f"/api/v1/conversations/{msg['conversation_id']}/messages")).json()["items"][0]
    assert m["status"] == "failed" and "blacklist" in m["error"].lower()
    stats = (await harness.get(f"/api/v1/connectors/{c['id']}")).json()["stats"]
    assert stats["sent"] == 0 and stats["cost"] == "0"


async def test_polling_picks_up_reply_whose_webhook_went_missing(harness: Harness) -> None:
    c = await harness.kolmeya_connector()
    msg = await _send(harness, c["id"], "Confirma a visita?")
    await harness.drain()
    kid = harness.kolmeya.state.sent[0].id
    harness.kolmeya.add_reply_without_webhook(kid, "SIM")
    harness.kolmeya.set_status(kid, 3)  # delivered, but the status webhook never came either
    r = await harness.post(f"/api/v1/connectors/{c['id']}/poll")
    assert r.status_code == 202
    await harness.drain()
    thread = (await harness.get(f"/api/v1/conversations/{msg['conversation_id']}/messages")).json()["items"]
    assert [t["text"] for t in thread] == ["Confirma a visita?", "SIM"]
    assert thread[0]["status"] == "delivered"

    # The same reply arriving later by webhook as well is not stored twice.
    await harness.kolmeya.send_reply(kid, "SIM")
    async with harness.rt.read() as conn:
        n = await conn.scalar(select(func.count()).select_from(messages).where(messages.c.direction == "in"))
    assert n == 2  # "SIM" (polled) and the second, distinct reply just sent


async def test_opt_out_keyword_blocks_sms_and_syncs_blacklist(harness: Harness) -> None:
    c = await harness.kolmeya_connector()
    msg = await _send(harness, c["id"], "Promoção de hoje")
    await harness.drain()
    await harness.kolmeya.send_reply(harness.kolmeya.state.sent[0].id, " Sair! ")
    await harness.drain()
    assert 48991910234 in harness.kolmeya.state.blacklist
    texts = [m.text for m in harness.kolmeya.state.sent]
    assert len(texts) == 2 and "não receberá" in texts[1]  # one confirmation, once

    r = await harness.post(f"/api/v1/conversations/{msg['conversation_id']}/messages", {"text": "Mais uma oferta"})
    assert r.status_code == 409 and r.json()["code"] == "opted_out"

    conv = (await harness.get(f"/api/v1/conversations/{msg['conversation_id']}")).json()
    r = await harness.client.patch(f"/api/v1/contacts/{conv['contact']['id']}", json={"sms_opted_out": False},
                                   headers=harness.auth())
    assert r.status_code == 200 and r.json()["sms_opted_out"] is False
    await harness.drain()
    assert 48991910234 not in harness.kolmeya.state.blacklist
    r = await harness.post(f"/api/v1/conversations/{msg['conversation_id']}/messages", {"text": "Bem-vindo de volta"})
    assert r.status_code == 202
