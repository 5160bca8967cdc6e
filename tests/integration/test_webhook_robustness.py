"""Bad, repeated and reordered webhooks: a clear 4xx or a no-op; nothing lost, nothing duplicated."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from atende.actions import outbound
from atende.channels.base import SendResult
from atende.db.tables import messages, parked_statuses
from tests.support.harness import Harness

REPLY = {"reply": {"id": "r-1", "reply": "Quero saber do boleto", "received_at": "16/11/2025 14:30:00",
                   "message": {"id": "00000000-0000-0000-0000-000000000001", "reference": None,
                               "phone": "5511999999999", "content": "texto original"}}}


def _path(connector: dict) -> str:
    return "/webhooks/" + connector["webhook_url"].rsplit("/", 1)[1]


async def _count(h: Harness) -> int:
    async with h.rt.read() as conn:
        return int(await conn.scalar(select(func.count()).select_from(messages)) or 0)


async def test_duplicate_webhook_is_stored_once(harness: Harness) -> None:
    c = await harness.kolmeya_connector()
    for _ in range(3):
        r = await harness.client.post(_path(c), json=REPLY)
        assert r.status_code == 200
    assert r.json()["duplicates"] == 1 and r.json()["stored"] == 0
    assert await _count(harness) == 1
    convs = (await harness.get("/api/v1/conversations")).json()["items"]
    assert len(convs) == 1 and convs[0]["unread"] == 1 and convs[0]["contact"]["address"] == "+5511999999999"


async def test_unknown_or_malformed_token_is_404_and_stores_nothing(harness: Harness) -> None:
    c = await harness.kolmeya_connector()
    good = _path(c)
    for path in ("/webhooks/" + "x" * 43, good[:-1], "/webhooks/short", good + "a"):
        r = await harness.client.post(path, json=REPLY)
        assert r.status_code == 404, path
    assert await _count(harness) == 0


async def test_malformed_bodies_are_400(harness: Harness) -> None:
    c = await harness.kolmeya_connector()
    for body in (b"", b"{", b"[]", b"null", b'"text"', b'{"foo": 1}', json.dumps({"reply": {"id": 1}}).encode(),
                 "\xff\xfe".encode("latin-1")):
        r = await harness.client.post(_path(c), content=body, headers={"content-type": "application/json"})
        assert r.status_code == 400, (body, r.status_code, r.text)
        assert r.json()["detail"]
    assert await _count(harness) == 0


async def test_oversized_body_is_413(harness: Harness) -> None:
    c = await harness.kolmeya_connector()
    huge = json.dumps({**REPLY, "pad": "x" * (harness.rt.settings.max_webhook_bytes + 10)})
    r = await harness.client.post(_path(c), content=huge, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert await _count(harness) == 0


async def test_reordered_statuses_keep_the_highest(harness: Harness) -> None:
    c = await harness.kolmeya_connector()
    r = await harness.post("/api/v1/messages", {"connector_id": c["id"], "to": "+5511999999999", "text": "oi"})
    await harness.drain()
    sent = harness.kolmeya.state.sent[0]
    base = {"id": sent.request_id, "reference": None}
    for code, text in ((3, "entregue"), (1, "Tentando enviar"), (2, "enviado")):
        body = {**base, "messages": [{"id": sent.id, "reference": sent.reference, "status_code": code, "status": text}]}
        assert (await harness.client.post(_path(c), json=body)).status_code == 200
    m = (await harness.get(f"/api/v1/conversations/{r.json()['conversation_id']}/messages")).json()["items"][0]
    assert m["status"] == "delivered"


async def test_status_before_the_send_answer_is_applied_later(harness: Harness) -> None:
    """A status for a provider id we have not stored yet is parked (one row, no job), then applied
    when the send's answer names that id."""
    c = await harness.kolmeya_connector()
    r = await harness.post("/api/v1/messages", {"connector_id": c["id"], "to": "+5511999999999", "text": "oi"})
    message_id = r.json()["id"]
    body = {"id": "req-x", "reference": None,
            "messages": [{"id": "msg-x", "reference": None, "status_code": 3, "status": "entregue"}]}
    assert (await harness.client.post(_path(c), json=body)).status_code == 200
    jobs = (await harness.get("/api/v1/jobs", params={"status": "pending"})).json()["items"]
    assert not any(j["kind"] == "apply_status_later" for j in jobs)
    async with harness.rt.read() as conn:
        assert await conn.scalar(select(func.count()).select_from(parked_statuses)) == 1
    async with harness.rt.write() as tx:
        await outbound.mark_sending(tx, message_id)
        await outbound.record_send_result(tx, message_id, SendResult("x", "sent", provider_message_id="msg-x"))
    m = (await harness.get(f"/api/v1/conversations/{r.json()['conversation_id']}/messages")).json()["items"][0]
    assert m["status"] == "delivered"
    async with harness.rt.read() as conn:
        assert await conn.scalar(select(func.count()).select_from(parked_statuses)) == 0


async def test_reply_arriving_out_of_order_builds_thread_in_time_order(harness: Harness) -> None:
    c = await harness.kolmeya_connector()
    later = {"reply": {**REPLY["reply"], "id": "r-2", "reply": "segunda", "received_at": "16/11/2025 14:31:00"}}
    earlier = {"reply": {**REPLY["reply"], "id": "r-3", "reply": "primeira", "received_at": "16/11/2025 14:29:00"}}
    assert (await harness.client.post(_path(c), json=later)).status_code == 200
    assert (await harness.client.post(_path(c), json=earlier)).status_code == 200
    conv = (await harness.get("/api/v1/conversations")).json()["items"][0]
    assert conv["last_message_preview"] == "segunda"  # the newest by time, not by arrival
    timeline = (await harness.get(f"/api/v1/contacts/{conv['contact']['id']}/timeline")).json()["items"]
    assert [t["text"] for t in timeline] == ["primeira", "segunda"]


async def test_reply_in_the_same_second_as_our_send_is_the_newest(harness: Harness) -> None:
    """Provider clocks have whole seconds: a reply stamped a moment 'before' our send still leads."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    c = await harness.kolmeya_connector()
    r = await harness.post("/api/v1/messages", {"connector_id": c["id"], "to": "+5511999999999", "text": "Oferta"})
    assert r.status_code == 202
    stamp = datetime.now(UTC).astimezone(ZoneInfo("America/Sao_Paulo"))  # truncated to the second below
    body = {"reply": {**REPLY["reply"], "id": "same-second", "reply": "Quero!",
                      "received_at": stamp.strftime("%d/%m/%Y %H:%M:%S")}}
    assert (await harness.client.post(_path(c), json=body)).status_code == 200
    conv = (await harness.get(f"/api/v1/conversations/{r.json()['conversation_id']}")).json()
    assert conv["last_message_preview"] == "Quero!" and conv["last_message_direction"] == "in"


async def test_reply_links_by_reference_when_the_message_id_is_unknown(harness: Harness) -> None:
    """kolmeya.md §3.2: link by message.id, then by our reference, then by phone."""
    c = await harness.kolmeya_connector()
    r = await harness.post("/api/v1/messages", {"connector_id": c["id"], "to": "+5511999999999", "text": "Pedido"})
    assert r.status_code == 202
    async with harness.rt.read() as conn:
        reference = await conn.scalar(select(messages.c.reference).where(messages.c.id == r.json()["id"]))
    body = {"reply": {**REPLY["reply"], "id": "by-ref", "reply": "Recebi",
                      "message": {"id": "not-a-known-uuid", "reference": reference,
                                  "phone": "5511999999999", "content": "Pedido"}}}
    assert (await harness.client.post(_path(c), json=body)).status_code == 200
    thread = (await harness.get(f"/api/v1/conversations/{r.json()['conversation_id']}/messages")).json()["items"]
    assert [m["text"] for m in thread] == ["Pedido", "Recebi"] and thread[1]["reply_to_id"] == r.json()["id"]
