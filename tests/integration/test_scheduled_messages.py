"""Scheduled messages: 202 scheduled, shown in the thread, cancellable while waiting, sent at their
time even after a restart, failed with the reason when WhatsApp's 24 h window closed meanwhile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from atende.db.tables import events, jobs
from atende.jobs.handlers import DEAD_HOOKS, HANDLERS
from atende.jobs.worker import Worker
from tests.support.campaigns import run_until, travel
from tests.support.harness import Harness
from tests.support.whatsapp import inbound


async def _sms_conversation(h: Harness) -> int:
    c = await h.kolmeya_connector(poll_interval_s=0)
    r = await h.post("/api/v1/messages", {"connector_id": c["id"], "to": "+5548991910234", "text": "Oi"}, who="ana")
    await h.drain()
    return int(r.json()["conversation_id"])  # Ana's


async def test_scheduled_sms_goes_out_at_its_time_even_after_a_restart(harness: Harness) -> None:
    h = harness
    clock = travel(h)
    conv = await _sms_conversation(h)
    at = clock.now + timedelta(hours=2)
    r = await h.post(f"/api/v1/conversations/{conv}/messages", {"text": "Lembrete: sua visita é hoje",
                                                                 "send_at": at.isoformat()}, who="ana")
    assert r.status_code == 202, r.text
    msg = r.json()
    assert msg["status"] == "scheduled" and msg["send_at"] == at.isoformat()
    thread = (await h.get(f"/api/v1/conversations/{conv}/messages")).json()["items"]
    assert [m["status"] for m in thread] == ["sent", "scheduled"]
    listed = (await h.get(f"/api/v1/conversations/{conv}")).json()
    assert listed["last_message_preview"] == "Oi"  # not the conversation's last message before it is sent
    await run_until(h, clock, at - timedelta(seconds=1))
    assert len(h.kolmeya.state.sent) == 1
    # The process restarts: a new worker finds the job in the database.
    h.worker = Worker(h.rt, HANDLERS, dead_hooks=DEAD_HOOKS, name="after-restart")
    await run_until(h, clock, at + timedelta(seconds=5))
    assert [m.text for m in h.kolmeya.state.sent] == ["Oi", "Lembrete: sua visita é hoje"]
    assert h.kolmeya.state.sent[1].created_at == at
    thread = (await h.get(f"/api/v1/conversations/{conv}/messages")).json()["items"]
    assert thread[1]["status"] == "sent"
    assert (await h.get(f"/api/v1/conversations/{conv}")).json()["last_message_preview"].startswith("Lembrete")


async def test_cancel_while_scheduled(harness: Harness) -> None:
    h = harness
    clock = travel(h)
    conv = await _sms_conversation(h)
    at = clock.now + timedelta(minutes=30)
    msg = (await h.post(f"/api/v1/conversations/{conv}/messages", {"text": "Mais tarde", "send_at": at.isoformat()},
                        who="ana")).json()
    # Bruno may not read Ana's conversation (auth.policy): not found, as for any message he cannot see.
    assert (await h.client.delete(f"/api/v1/messages/{msg['id']}", headers=h.auth("bruno"))).status_code == 404
    r = await h.client.delete(f"/api/v1/messages/{msg['id']}", headers=h.auth("ana"))
    assert r.status_code == 204
    async with h.rt.read() as conn:
        assert await conn.scalar(select(jobs.c.id).where(jobs.c.dedup_key == f"send:{msg['id']}")) is None
    await run_until(h, clock, at + timedelta(minutes=1))
    assert len(h.kolmeya.state.sent) == 1
    thread = (await h.get(f"/api/v1/conversations/{conv}/messages")).json()["items"]
    assert thread[1]["status"] == "cancelled"
    r = await h.client.delete(f"/api/v1/messages/{msg['id']}", headers=h.auth("ana"))
    assert r.status_code == 409 and r.json()["code"] == "not_scheduled"
    r = await h.client.delete(f"/api/v1/messages/{thread[0]['id']}", headers=h.auth("admin"))
    assert r.status_code == 409  # a sent message cannot be "cancelled"
    assert (await h.client.delete("/api/v1/messages/999999", headers=h.auth("admin"))).status_code == 404


async def test_bad_send_at_is_a_clear_422(harness: Harness) -> None:
    h = harness
    clock = travel(h)
    conv = await _sms_conversation(h)
    cases = [
        ({"text": "x", "send_at": (clock.now - timedelta(minutes=1)).isoformat()}, "passou"),
        ({"text": "x", "send_at": "2030-01-01T10:00:00"}, "fuso"),
        ({"text": "x", "send_at": (clock.now + timedelta(days=91)).isoformat()}, "90 dias"),
        ({"text": "x", "kind": "note", "send_at": (clock.now + timedelta(hours=1)).isoformat()}, "agendados"),
        ({"text": "x", "send_at": "amanhã"}, None),
    ]
    for body, words in cases:
        r = await h.post(f"/api/v1/conversations/{conv}/messages", body)
        assert r.status_code == 422, (body, r.text)
        if words:
            assert words in r.json()["detail"], r.text


async def test_whatsapp_window_closed_at_send_time_fails_with_the_reason(harness: Harness) -> None:
    h = harness
    clock = travel(h, datetime.now(UTC))  # the customer writes now (provider times are never in the future)
    c = await h.whatsapp_connector()
    first = await inbound(h, c, body="Oi, me liga amanhã?")
    conv = first["conversation_id"]
    late = clock.now + timedelta(hours=30)  # the window (24 h from the customer's message) will be closed
    r = await h.post(f"/api/v1/conversations/{conv}/messages", {"text": "Bom dia! Retornando.",
                                                                 "send_at": late.isoformat()}, who="ana")
    assert r.status_code == 202 and r.json()["status"] == "scheduled"
    soon = clock.now + timedelta(hours=1)
    ok = (await h.post(f"/api/v1/conversations/{conv}/messages", {"text": "Já já te ligo",
                                                                   "send_at": soon.isoformat()}, who="ana")).json()
    await run_until(h, clock, late + timedelta(minutes=1))
    thread = {m["id"]: m for m in (await h.get(f"/api/v1/conversations/{conv}/messages")).json()["items"]}
    assert thread[ok["id"]]["status"] == "sent"
    failed = thread[r.json()["id"]]
    assert failed["status"] == "failed" and failed["error_code"] == "window_closed"
    assert "janela de 24 h" in failed["error"]
    assert [s.body.get("text", {}).get("body") for s in h.graph.sent] == ["Já já te ligo"]
    async with h.rt.read() as conn:  # the author is told wherever they are
        told = [e.payload for e in await conn.execute(select(events).where(events.c.type == "message.updated"))
                if e.payload.get("scheduled")]
    assert len(told) == 1 and told[0] | {"team_id": None} == {
        "id": r.json()["id"], "conversation_id": conv, "status": "failed", "error": failed["error"],
        "scheduled": True, "author_id": h.user_ids["ana"], "contact_id": told[0]["contact_id"], "team_id": None,
        "assignee_id": h.user_ids["ana"], "conversation_status": "open"}  # with its scope: Ana's stream shows it
