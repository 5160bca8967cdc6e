"""Correctness under concurrency: three teams, five agents, bursts on SMS and WhatsApp, several workers.

- PostgreSQL: four worker processes (`atende serve --role worker`) route 2,000 conversations while they
  arrive; the test prints its figures.
- SQLite: the same burst of 500 with four workers in one process (one writer at a time).

Checked afterwards: none lost, none assigned twice, nobody over capacity, each queue served oldest first
(what is assigned is a prefix of the queue in waiting order), and nothing waits beside a free agent.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from atende.actions import teams as team_actions
from atende.actions.connectors import create_connector
from atende.actions.ingest import ConnectorInfo, ingest_batch
from atende.auth.passwords import hash_password
from atende.channels.base import InboundMessage, WebhookBatch
from atende.db.migrate import upgrade
from atende.db.tables import attendances, conversation_counts, conversations, events, jobs, users
from atende.db.types import utcnow
from atende.jobs.handlers import DEAD_HOOKS, HANDLERS
from atende.jobs.worker import Worker
from atende.realtime.bus import MemoryBus
from atende.runtime import Runtime
from atende.settings import Settings

CAPACITIES = {"ana": 150, "bruno": 200, "carla": 250, "davi": 300, "eva": 350}  # 1,250 slots in all
TEAMS = {  # members, policy, the look-alike channel of its connector
    "Cobrança": (["ana", "bruno"], "least_busy", "sms"),
    "Vendas": (["bruno", "carla", "davi"], "round_robin", "whatsapp"),
    "Suporte": (["davi", "eva"], "sticky", "sms"),
}


async def _seed(rt: Runtime, capacities: dict[str, int]) -> tuple[dict[str, int], list[int]]:
    await upgrade(rt.engine)
    pw = hash_password("s3nha-forte")
    async with rt.write() as tx:
        ids = {}
        for name, capacity in capacities.items():
            ids[name] = int((await tx.conn.execute(insert(users).values(
                email=f"{name}@example.com", name=name, password_hash=pw, role="agent", capacity=capacity,
                presence="online", last_seen_at=utcnow(), created_at=utcnow()).returning(users.c.id))).scalar_one())
        connector_ids = []
        for name, (members, policy, channel) in TEAMS.items():
            cid = await create_connector(tx, rt.secrets, name=name, provider="sandbox", config={"look_like": channel})
            connector_ids.append(cid)
            await team_actions.create_team(tx, {"name": name, "member_ids": [ids[m] for m in members],
                                                "connector_ids": [cid], "policy": policy})
    return ids, connector_ids


async def _burst(rt: Runtime, connector_ids: list[int], total: int, batch: int = 50) -> float:
    """`total` customers write, `batch` per transaction (a webhook's group commit), across the teams."""
    started = time.perf_counter()
    infos = []
    for cid in connector_ids:
        loaded = await rt.connector(cid)
        assert loaded is not None
        infos.append(ConnectorInfo(id=cid, channel=loaded.channel, provider="sandbox"))
    for start in range(0, total, batch):
        per_connector: dict[int, list[InboundMessage]] = {}
        for n in range(start, min(start + batch, total)):
            info = infos[n % len(infos)]
            per_connector.setdefault(info.id, []).append(InboundMessage(
                provider_message_id=f"b{n}", address=f"+55119{n:08d}", kind="text", text="olá",
                timestamp=utcnow(), raw={}))
        # As webhooks arrive: through the group committer (one transaction for what arrives together).
        await asyncio.gather(*(rt.committer.run(_ingest(info, per_connector[info.id])) for info in infos
                               if info.id in per_connector))
    return time.perf_counter() - started


def _ingest(info: ConnectorInfo, messages: list[InboundMessage]) -> Any:
    async def work(tx: Any) -> None:
        await ingest_batch(tx, info, WebhookBatch(messages=messages))
    return work


async def _settled(rt: Runtime, limit_s: float) -> float:
    """Wait until no routing work is left; returns when the last assignment was made (seconds from now-ish)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        async with rt.read() as conn:
            left = await conn.scalar(select(func.count()).select_from(jobs).where(
                jobs.c.kind.in_(("route", "route_queue")), jobs.c.status.in_(("pending", "running"))))
        if not left:
            return time.monotonic()
        await asyncio.sleep(0.2)
    raise AssertionError("routing did not settle in time")


async def _check(rt: Runtime, ids: dict[str, int], total: int, capacities: dict[str, int]) -> dict[str, Any]:
    async with rt.read() as conn:
        convs = list(await conn.execute(select(conversations).order_by(conversations.c.id)))
        assigned_events = Counter(int(r.conversation_id) for r in await conn.execute(
            select(events.c.conversation_id).where(events.c.type == "conversation.assigned")))
        assignments = Counter(int(r.conversation_id) for r in await conn.execute(
            select(attendances.c.conversation_id).where(attendances.c.assignee_id.is_not(None))))
        counters = Counter({(r.channel, r.status, int(r.assignee_id), int(r.team_id)): int(r.n) for r in
                            await conn.execute(select(conversation_counts).where(conversation_counts.c.n != 0))})
        teams = {t["id"]: t for t in await team_actions.team_views(conn)}
        dead = await conn.scalar(select(func.count()).select_from(jobs).where(jobs.c.status == "dead"))
    assert len(convs) == total and dead == 0  # none lost, no job given up
    assert all(n == 1 for n in assigned_events.values()) and all(n == 1 for n in assignments.values())
    assert counters == Counter((c.channel, c.status, int(c.assignee_id or 0), int(c.team_id or 0)) for c in convs)
    load = Counter(int(c.assignee_id) for c in convs if c.status == "open")
    by_name = {name: load.get(uid, 0) for name, uid in ids.items()}
    assert all(by_name[name] <= capacities[name] for name in capacities), by_name
    for team_id, team in teams.items():
        queue = sorted((c for c in convs if c.team_id == team_id), key=lambda c: (c.waiting_since or c.created_at,
                                                                                  c.id))
        taken = [c.status == "open" for c in queue]
        assert taken == sorted(taken, reverse=True), f"{team['name']}: not served oldest first"
        full = all(by_name[n] >= capacities[n] for n in capacities if ids[n] in team["member_ids"])
        assert all(taken) or full, f"{team['name']} has waiting conversations and a free agent"
    return {"assigned": sum(load.values()), "waiting": sum(1 for c in convs if c.status == "new"), "load": by_name}


@contextlib.asynccontextmanager
async def _workers(env: dict[str, str], n: int) -> AsyncIterator[list[asyncio.subprocess.Process]]:
    procs = [await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from atende.cli import main; main()", "serve", "--role", "worker", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE) for _ in range(n)]
    try:
        yield procs
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 15)
            if proc.returncode is None:
                proc.kill()


@pytest.mark.postgres
@pytest.mark.timeout(600)
async def test_four_worker_processes_route_2000_conversations_on_postgresql(postgres_url: str) -> None:
    settings = Settings(database_url=postgres_url, secret_key="concurrency", run_migrations_on_start=False,
                        auto_release_after_s=0, auto_close_after_s=0)
    rt = Runtime.create(settings, bus=MemoryBus())
    try:
        ids, connector_ids = await _seed(rt, CAPACITIES)
        env = {**os.environ, "ATENDE_DATABASE_URL": postgres_url, "ATENDE_SECRET_KEY": "concurrency",
               "ATENDE_JOB_POLL_S": "0.05", "ATENDE_WORKER_CONCURRENCY": "8", "ATENDE_AUTO_RELEASE_AFTER_S": "0",
               "ATENDE_AUTO_CLOSE_AFTER_S": "0", "ATENDE_RUN_MIGRATIONS_ON_START": "false",
               "ATENDE_LOG_LEVEL": "WARNING"}
        async with _workers(env, 4) as procs:
            await asyncio.sleep(2.0)  # the processes start (imports, engine)
            started = time.monotonic()
            ingest_s = await _burst(rt, connector_ids, 2000)
            done_at = await _settled(rt, 300)
            alive = [p.returncode is None for p in procs]
        figures = await _check(rt, ids, 2000, CAPACITIES)
        assert all(alive)
        elapsed = done_at - started
        print(f"\nPostgreSQL, 4 worker processes: 2,000 conversations arrived in {ingest_s:.1f} s; routing settled "
              f"{elapsed:.1f} s after the first ({figures['assigned']} assigned, {figures['waiting']} waiting for a "
              f"free slot, {figures['assigned'] / elapsed:.0f} assignments/s); load {figures['load']}")
        assert figures["assigned"] == sum(CAPACITIES.values()) and figures["waiting"] == 2000 - figures["assigned"]
    finally:
        await rt.close()


@pytest.mark.timeout(300)
async def test_four_workers_route_a_burst_of_500_on_sqlite(tmp_path: Any) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'burst.db'}", secret_key="concurrency",
                        run_migrations_on_start=False, auto_release_after_s=0, auto_close_after_s=0)
    rt = Runtime.create(settings, bus=MemoryBus())
    capacities = {name: n // 5 for name, n in CAPACITIES.items()}  # the burst must overflow them
    try:
        ids, connector_ids = await _seed(rt, capacities)
        stop = asyncio.Event()
        workers = [Worker(rt, HANDLERS, dead_hooks=DEAD_HOOKS, concurrency=4) for _ in range(4)]
        tasks = [asyncio.create_task(w.run_forever(stop)) for w in workers]
        started = time.monotonic()
        await _burst(rt, connector_ids, 500, batch=25)
        for w in workers:
            w.wake()
        done_at = await _settled(rt, 120)
        stop.set()
        for w in workers:
            w.wake()
        await asyncio.wait(tasks, timeout=20)
        figures = await _check(rt, ids, 500, capacities)
        print(f"\nSQLite, 4 workers in one process: 500 conversations routed in {done_at - started:.1f} s "
              f"({figures['assigned']} assigned, {figures['waiting']} waiting); load {figures['load']}")
        assert figures["assigned"] == sum(capacities.values()) and figures["waiting"] == 500 - figures["assigned"]
    finally:
        await rt.close()
