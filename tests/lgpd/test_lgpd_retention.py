"""Retention by time travel: messages, media, events and jobs leave on schedule; legal hold holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from atende.actions import retention
from atende.cli import main
from atende.db.tables import conversations, events, jobs, media, messages
from atende.db.types import utcnow
from atende.jobs.queue import enqueue
from tests.support.harness import Harness
from tests.support.lgpd import build_world, scan_database


async def _count(h: Harness, table: Any, *where: Any) -> int:
    async with h.rt.read() as conn:
        return int(await conn.scalar(select(func.count()).select_from(table).where(*where)) or 0)


async def _texts(h: Harness, conversation_id: int) -> list[str | None]:
    async with h.rt.read() as conn:
        return [r[0] for r in await conn.execute(select(messages.c.text).where(
            messages.c.conversation_id == conversation_id, messages.c.kind != "event").order_by(messages.c.id))]


async def _dead_job(h: Harness) -> None:
    async with h.rt.write() as tx:
        await enqueue(tx, "provider_event", {"connector_id": 1, "type": "x", "data": {"phone": "5511999990000"}})
        await tx.conn.execute(update(jobs).where(jobs.c.kind == "provider_event").values(status="dead"))


def _files(root: Path) -> list[Path]:
    return [p for p in Path(root).rglob("*") if p.is_file()]


async def _put(h: Harness, body: dict[str, Any], who: str = "admin") -> Any:
    return await h.client.put("/api/v1/retention", json=body, headers=h.auth(who))


async def test_defaults_prune_events_and_finished_jobs_and_keep_messages(harness: Harness) -> None:
    h = harness
    world = await build_world(h, opt_out=False)
    await _dead_job(h)
    r = await h.get("/api/v1/retention")
    assert r.json() == {"messages_days": None, "media_days": 365, "events_days": 90, "jobs_days": 30,
                        "per_connector": {}}
    pending = await _count(h, jobs, jobs.c.status == "pending")
    assert await _count(h, events) > 10

    tomorrow = await retention.run(h.rt, now=utcnow() + timedelta(days=1))
    assert tomorrow.counts() == {"messages": 0, "media": 0, "events": 0, "jobs": 0, "held": 0}

    async with h.rt.read() as conn:
        newest = await conn.scalar(select(func.max(events.c.id)))
    report = await retention.run(h.rt, now=utcnow() + timedelta(days=91))
    assert report.events > 10 and report.jobs == 1 and report.messages == 0 and report.media == 0
    async with h.rt.read() as conn:  # only the newest stays: live streams resume from ids they hold
        assert [r[0] for r in await conn.execute(select(events.c.id))] == [newest]
    assert await _count(h, jobs, jobs.c.status == "dead") == 0
    assert await _count(h, jobs, jobs.c.status == "pending") == pending  # work still to do is never pruned
    assert world.titular.texts[0] in await _texts(h, world.titular.conversation_ids[0])
    assert await _count(h, media) == 2


async def test_media_leaves_the_store_after_its_days(harness: Harness) -> None:
    h = harness
    world = await build_world(h, opt_out=False)
    files = _files(h.rt.settings.media_dir)
    assert len(files) == 2
    dry = await retention.run(h.rt, now=utcnow() + timedelta(days=366), dry_run=True)
    assert dry.media == 2 and await _count(h, media) == 2
    report = await retention.run(h.rt, now=utcnow() + timedelta(days=366))
    assert report.media == 2 and report.messages == 0
    assert await _count(h, media) == 0
    assert _files(h.rt.settings.media_dir) == []
    async with h.rt.read() as conn:
        row = (await conn.execute(select(messages).where(messages.c.text == world.titular.texts[1]))).one()
    assert row.media_id is None and "media_expired" in row.attributes and "media" not in row.attributes
    thread = (await h.get(f"/api/v1/conversations/{row.conversation_id}/messages")).json()["items"]
    assert any(m["text"] == world.titular.texts[1] for m in thread)  # the caption stays: only the file expired


async def test_messages_expire_to_skeletons_except_under_legal_hold(harness: Harness) -> None:
    h = harness
    world = await build_world(h, opt_out=False)
    held, open_sms = world.titular.conversation_ids
    r = await h.client.put(f"/api/v1/conversations/{held}/legal-hold", json={"reason": "ação judicial"},
                           headers=h.auth("supervisor"))
    assert r.status_code == 200
    assert (await _put(h, {"messages_days": 30})).status_code == 200
    async with h.rt.read() as conn:
        before = [tuple(r) for r in await conn.execute(select(
            messages.c.id, messages.c.segments, messages.c.cost, messages.c.direction, messages.c.created_at)
            .order_by(messages.c.id))]
        totals = [tuple(r) for r in await conn.execute(select(
            conversations.c.id, conversations.c.segments_total, conversations.c.cost_total)
            .order_by(conversations.c.id))]
    stats = (await h.get(f"/api/v1/connectors/{world.sms['id']}")).json()["stats"]

    assert (await retention.run(h.rt, now=utcnow() + timedelta(days=29))).messages == 0
    dry = await retention.run(h.rt, now=utcnow() + timedelta(days=31), dry_run=True, batch=2)
    report = await retention.run(h.rt, now=utcnow() + timedelta(days=31), batch=2)
    assert report.messages == dry.messages > 0 and report.held == dry.held > 0
    assert world.titular.texts[0] in await _texts(h, held)  # held: untouched
    assert set(await _texts(h, open_sms)) == {None}
    for conv_id in world.other.conversation_ids:
        assert set(await _texts(h, conv_id)) == {None}
    assert await _count(h, media) == 1  # the other customer's image went with its message; the held one stayed
    async with h.rt.read() as conn:
        after = [tuple(r) for r in await conn.execute(select(
            messages.c.id, messages.c.segments, messages.c.cost, messages.c.direction, messages.c.created_at)
            .order_by(messages.c.id))]
        totals_after = [tuple(r) for r in await conn.execute(select(
            conversations.c.id, conversations.c.segments_total, conversations.c.cost_total)
            .order_by(conversations.c.id))]
        preview = await conn.scalar(select(conversations.c.last_message_preview).where(
            conversations.c.id == world.other.conversation_ids[0]))
    assert after == before and totals_after == totals  # reports and billing add up
    # Events outlive messages here (90 > 30 days): their previews of the expired texts are scrubbed.
    assert await scan_database(h, [world.other.texts[0], "desnecessariamente"]) == []
    assert await scan_database(h, ["Paralelepipedal"])  # the held conversation keeps everything
    assert (await h.get(f"/api/v1/connectors/{world.sms['id']}")).json()["stats"] == stats
    assert preview == ""
    # Lifting the hold lets the next run take them.
    await h.client.delete(f"/api/v1/conversations/{held}/legal-hold", headers=h.auth("supervisor"))
    again = await retention.run(h.rt, now=utcnow() + timedelta(days=31))
    assert again.messages > 0 and again.held == 0
    assert set(await _texts(h, held)) == {None}


async def test_per_connector_override(harness: Harness) -> None:
    h = harness
    world = await build_world(h, opt_out=False)
    r = await _put(h, {"per_connector": {str(world.sms["id"]): {"messages_days": 10}}})
    assert r.status_code == 200, r.text
    assert r.json()["per_connector"] == {str(world.sms["id"]): {"messages_days": 10}}
    report = await retention.run(h.rt, now=utcnow() + timedelta(days=11))
    assert report.messages > 0
    assert set(await _texts(h, world.titular.conversation_ids[1])) == {None}
    assert world.titular.texts[0] in await _texts(h, world.titular.conversation_ids[0])
    # A connector may keep for ever what the installation expires.
    r = await _put(h, {"messages_days": 5, "per_connector": {str(world.whatsapp["id"]): {"messages_days": None}}})
    assert r.status_code == 200, r.text
    await retention.run(h.rt, now=utcnow() + timedelta(days=400))
    assert world.titular.texts[0] in await _texts(h, world.titular.conversation_ids[0])


async def test_retention_api_validates_and_is_for_admins_and_the_dpo(harness: Harness) -> None:
    h = harness
    await h.add_user("dora", "dpo")
    for body in ({"media_days": 0}, {"events_days": -1}, {"jobs_days": "muito"}, {"unknown": 1},
                 {"per_connector": {"999": {"messages_days": 3}}}, {"per_connector": {"1": {"events_days": 3}}},
                 {"messages_days": 10**9}):
        r = await _put(h, body)
        assert r.status_code == 422, (body, r.text)
    for who in ("ana", "supervisor"):
        assert (await _put(h, {"media_days": 30}, who=who)).status_code == 403
        assert (await h.get("/api/v1/retention", who=who)).status_code == 403
    r = await _put(h, {"media_days": 30, "events_days": None}, who="dora")
    assert r.status_code == 200 and r.json()["events_days"] is None and r.json()["media_days"] == 30
    assert (await h.get("/api/v1/retention")).json()["media_days"] == 30


async def test_the_daily_job_runs_and_comes_back_tomorrow(sqlite_harness: Harness) -> None:
    from atende.jobs.handlers import ensure_periodic

    h = sqlite_harness
    await ensure_periodic(h.rt)
    async with h.rt.read() as conn:
        run_at = await conn.scalar(select(jobs.c.run_at).where(jobs.c.kind == "retention"))
    assert run_at is not None and utcnow() < run_at <= utcnow() + timedelta(days=1)
    assert retention.next_run(datetime(2026, 3, 10, 5, 59, tzinfo=UTC), "America/Sao_Paulo") == \
        datetime(2026, 3, 10, 6, 0, tzinfo=UTC)
    assert retention.next_run(datetime(2026, 3, 10, 6, 0, tzinfo=UTC), "America/Sao_Paulo") == \
        datetime(2026, 3, 11, 6, 0, tzinfo=UTC)
    forced = utcnow()
    async with h.rt.write() as tx:
        await tx.conn.execute(update(jobs).where(jobs.c.kind == "retention").values(run_at=forced))
    await h.drain()
    async with h.rt.read() as conn:
        row = (await conn.execute(select(jobs).where(jobs.c.kind == "retention"))).one()
    # It ran and is back for the next 03:00 local, whatever the wall clock says now.
    assert row.status == "pending" and row.run_at > utcnow()
    assert row.run_at == retention.next_run(forced, h.rt.settings.timezone)


def test_cli_retention_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from atende.settings import get_settings

    monkeypatch.setenv("ATENDE_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'r.db'}")
    monkeypatch.setenv("ATENDE_SECRET_KEY", "k" * 32)
    get_settings.cache_clear()
    try:
        main(["retention", "run", "--dry-run"])
        out = capsys.readouterr().out
        assert "simulação" in out and "eventos" in out and "sairiam" in out
        main(["retention", "run"])
        out = capsys.readouterr().out
        assert "retenção aplicada" in out and "removidos" in out
    finally:
        get_settings.cache_clear()
