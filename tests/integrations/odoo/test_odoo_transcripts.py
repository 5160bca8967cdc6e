"""Closing a conversation posts its transcript to the partner's chatter: once per attendance,
retried until Odoo accepts it, never twice."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from atende.actions import odoo as odoo_actions
from atende.db.tables import jobs, odoo_transcripts
from tests.support.harness import Harness
from tests.support.odoo import OdooSide, attach_odoo, configure, inbound_sms


def _notes(side: OdooSide, partner_id: int) -> list[dict[str, Any]]:
    return [m for m in side.fake.store.records["mail.message"].values()
            if m["model"] == "res.partner" and m["res_id"] == partner_id]


async def _conversation(h: Harness, side: OdooSide) -> tuple[dict[str, Any], int]:
    partner = side.partner("Carla Dias", mobile="(48) 99191-0234")
    assert (await configure(h, side)).json()["ok"]
    c = await h.kolmeya_connector()
    conv = await inbound_sms(h, c, "5548991910234", "Meu pedido não chegou", "1")
    await h.drain()  # partner lookup
    r = await h.post(f"/api/v1/conversations/{conv['id']}/messages", {"text": "Vou verificar agora."}, who="ana")
    assert r.status_code == 202, r.text
    await h.drain()
    return conv, partner


async def _retry_now(h: Harness) -> None:
    async with h.rt.write() as tx:
        await tx.conn.execute(update(jobs).where(jobs.c.status == "pending").values(run_at=jobs.c.created_at))


async def test_transcript_posted_once_per_attendance(harness: Harness) -> None:
    h = harness
    side = attach_odoo(h)
    conv, partner = await _conversation(h, side)
    assert (await h.post(f"/api/v1/conversations/{conv['id']}/close", who="ana")).status_code == 200
    assert (await h.post(f"/api/v1/conversations/{conv['id']}/close", who="ana")).status_code == 200  # no-op
    await h.drain()
    notes = _notes(side, partner)
    assert len(notes) == 1
    body = notes[0]["body"]
    assert notes[0]["message_type"] == "comment" and notes[0]["subtype_id"] == 1  # internal note (mt_note)
    for part in ("SMS", "SMS Kolmeya", "Meu pedido não chegou", "Vou verificar agora.", "Ana", "Carla Dias",
                 "Início", "[atende:atendimento:"):
        assert part in body, part
    # Reopened and closed again: a new attendance, a new note; the first is not repeated.
    await h.post(f"/api/v1/conversations/{conv['id']}/reopen", who="ana")
    r = await h.post(f"/api/v1/conversations/{conv['id']}/messages", {"text": "Chegou?"}, who="ana")
    assert r.status_code == 202, r.text
    await h.drain()
    await h.post(f"/api/v1/conversations/{conv['id']}/close", who="ana")
    await h.drain()
    notes = _notes(side, partner)
    assert len(notes) == 2 and "Chegou?" in notes[1]["body"] and "Meu pedido" not in notes[1]["body"]
    # An attendance with nothing said is not worth a note.
    await h.post(f"/api/v1/conversations/{conv['id']}/reopen", who="ana")
    await h.post(f"/api/v1/conversations/{conv['id']}/close", who="ana")
    await h.drain()
    assert len(_notes(side, partner)) == 2
    async with h.rt.read() as conn:
        rows = list(await conn.execute(select(odoo_transcripts).order_by(odoo_transcripts.c.attendance_id)))
    assert [r.status for r in rows] == ["posted", "posted", "skipped"]
    assert len({r.odoo_message_id for r in rows[:2]}) == 2


async def test_retried_after_an_odoo_error(harness: Harness) -> None:
    h = harness
    side = attach_odoo(h)
    conv, partner = await _conversation(h, side)
    side.fake.fail_next(model="res.partner", method="message_post", error="odoo.exceptions.UserError",
                        message="O registro está bloqueado")
    side.fake.fail_next(model="res.partner", method="message_post", http_status=503)
    await h.post(f"/api/v1/conversations/{conv['id']}/close", who="ana")
    await h.drain()
    async with h.rt.read() as conn:
        job = (await conn.execute(select(jobs).where(jobs.c.kind == "odoo_transcript"))).one()
    assert job.status == "pending" and "indisponível" in job.last_error and not _notes(side, partner)
    await _retry_now(h)
    await h.drain()
    async with h.rt.read() as conn:
        job = (await conn.execute(select(jobs).where(jobs.c.kind == "odoo_transcript"))).one()
    assert job.status == "pending" and "bloqueado" in job.last_error and not _notes(side, partner)
    await _retry_now(h)
    await h.drain()
    assert len(_notes(side, partner)) == 1
    async with h.rt.read() as conn:
        assert (await conn.execute(select(odoo_transcripts.c.status))).scalar_one() == "posted"
        assert not list(await conn.execute(select(jobs).where(jobs.c.kind == "odoo_transcript")))


async def test_never_duplicated_when_a_try_dies_after_posting(harness: Harness,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    h = harness
    side = attach_odoo(h)
    conv, partner = await _conversation(h, side)
    real = odoo_actions.transcript_posted
    calls = 0

    async def dies_once(tx: Any, attendance_id: int, message_id: int) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("o processo morreu depois do message_post")
        await real(tx, attendance_id, message_id)

    monkeypatch.setattr(odoo_actions, "transcript_posted", dies_once)
    await h.post(f"/api/v1/conversations/{conv['id']}/close", who="ana")
    await h.drain()
    assert len(_notes(side, partner)) == 1  # it reached Odoo, but we did not record it
    await _retry_now(h)
    await h.drain()
    assert len(_notes(side, partner)) == 1 and calls == 2  # the retry found the note instead of posting again
    async with h.rt.read() as conn:
        row = (await conn.execute(select(odoo_transcripts))).one()
    assert row.status == "posted" and row.odoo_message_id == _notes(side, partner)[0]["id"]


async def test_no_partner_no_transcript(harness: Harness) -> None:
    h = harness
    side = attach_odoo(h)
    assert (await configure(h, side)).json()["ok"]
    c = await h.kolmeya_connector()
    conv = await inbound_sms(h, c, "5511955554444", "Oi", "1")
    await h.drain()
    await h.post(f"/api/v1/conversations/{conv['id']}/close", who="ana")
    async with h.rt.read() as conn:
        assert not list(await conn.execute(select(odoo_transcripts)))
        assert "odoo_transcript" not in [r.kind for r in await conn.execute(select(jobs.c.kind))]
