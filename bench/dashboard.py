"""Benchmark: the supervisors' dashboard at 1,000,000 conversations (issue 9: under 100 ms).

Seeds, with bulk Core inserts as bench/board.py does, what the dashboard and the reports read: 1 M
conversations over a year (10 % waiting in the queue), one attendance each, the counters the actions
keep (`report_activity` per conversation and hour, `report_daily` per day/channel/connector/agent),
the board counts and a polled balance. Messages are not seeded: no dashboard or report figure reads
them (that is the point of the counters), so their number does not change these timings.

Then it renders in-process (httpx.ASGITransport) as an admin and as a supervisor: the dashboard API,
the page, its live fragment, the board's "Hoje" line, and the summary of today and of 7 days (the
summary streams the period's attendances, so it grows with the period, not with the table).

    .venv/bin/python bench/dashboard.py                          # 1 M conversations, seeds var/bench/dashboard.db once
    .venv/bin/python bench/dashboard.py --conversations 100000 --iterations 50
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import sys
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import httpx  # noqa: E402
from sqlalchemy import create_engine, insert  # noqa: E402

from atende.db import tables as t  # noqa: E402

SECRET = "bench-secret-key"
ZONE = "America/Sao_Paulo"
AGENTS = 20
DAYS = 365
CHUNK = 20_000
GOAL_MS = 100.0
COST = Decimal("0.10")
ACTIVITY_ZERO = {"messages_in": 0, "messages_out": 0, "messages_agent": 0, "sms_sent": 0, "sms_segments": 0,
                 "sms_cost": Decimal(0), "sms_delivered": 0, "sms_failed": 0}
DAILY_ZERO = {**ACTIVITY_ZERO, "active": 0, "opened": 0, "reopened": 0, "closed": 0, "first_responses": 0,
              "first_response_s": 0}


def rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fixed_rows(now: datetime) -> dict[str, list[dict[str, Any]]]:
    from atende.auth.passwords import hash_password
    from atende.auth.tokens import token_hash
    from atende.secrets import SecretBox

    box = SecretBox(SECRET)
    pw = hash_password("s3nha-forte")
    users = [{"id": i, "email": f"user{i}@example.com", "name": f"Pessoa {i}", "password_hash": pw,
              "role": "admin" if i == 1 else "supervisor" if i == 2 else "agent", "presence": "online",
              "created_at": now} for i in range(1, AGENTS + 1)]
    connectors = []
    for cid, (provider, channel, config) in enumerate([
            ("kolmeya", "sms", {"api_token": "x", "base_url": "https://kolmeya.invalid/api/v1", "poll_interval_s": 0,
                                "low_balance_threshold": "50.00"}),
            ("sandbox", "whatsapp", {"look_like": "whatsapp"})], start=1):
        token = f"bench-token-{cid}" * 3
        connectors.append({"id": cid, "name": channel, "provider": provider, "channel": channel,
                           "config_encrypted": box.encrypt_json(config), "webhook_token_hash": token_hash(token),
                           "webhook_token_encrypted": box.encrypt_text(token), "state": {}, "created_at": now,
                           "updated_at": now})
    balances = [{"connector_id": 1, "balance": Decimal("42.50"), "low": True, "checked_at": now}]
    return {"users": users, "connectors": connectors, "connector_balances": balances}


def seed(path: Path, conversations: int) -> None:
    from atende.db.migrate import upgrade_url

    path.parent.mkdir(parents=True, exist_ok=True)
    upgrade_url(f"sqlite+aiosqlite:///{path}")
    engine = create_engine(f"sqlite:///{path}")
    rnd = random.Random(42)
    now = datetime.now(UTC).replace(microsecond=0)
    zone = ZoneInfo(ZONE)
    started = time.perf_counter()
    daily: defaultdict[tuple[date, str, int, int], defaultdict[str, Any]] = defaultdict(lambda: defaultdict(int))
    counts: dict[tuple[str, str, int], int] = {}
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        conn.exec_driver_sql("PRAGMA synchronous=OFF")
        for table, rows in fixed_rows(now).items():
            conn.execute(insert(t.metadata.tables[table]), rows)
        for base in range(0, conversations, CHUNK):
            rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for cid in range(base + 1, min(base + CHUNK, conversations) + 1):
                channel = "sms" if cid % 3 == 0 else "whatsapp"
                connector = 1 if channel == "sms" else 2
                roll = rnd.random()
                status = "new" if roll < 0.1 else "open" if roll < 0.3 else "done"
                agent = rnd.randint(3, AGENTS)
                assignee = None if status == "new" else agent
                # A year of conversations, evenly spread: about 2,700 a day.
                last = now - timedelta(seconds=int(DAYS * 86400 * rnd.random()))
                first = last - timedelta(minutes=rnd.randint(5, 240))
                answered = status != "new"
                response = first + timedelta(seconds=rnd.randint(20, 1800))
                phone = f"+55119{cid:08d}"
                rows["contacts"].append({"id": cid, "name": f"Cliente {cid}", "created_at": first, "updated_at": last})
                rows["conversations"].append({
                    "id": cid, "connector_id": connector, "contact_id": cid, "channel": channel, "address_key": phone,
                    "address": phone, "status": status, "assignee_id": assignee, "current_attendance_id": cid,
                    "last_activity_at": last, "last_inbound_at": last, "last_message_preview": "Olá",
                    "last_message_direction": "in", "unread": 0, "segments_total": 0, "cost_total": 0,
                    "created_at": first, "active_on": last.astimezone(zone).date()})
                rows["attendances"].append({
                    "id": cid, "conversation_id": cid, "assignee_id": assignee, "started_at": first,
                    "assigned_at": first if assignee else None, "first_response_at": response if answered else None,
                    "closed_at": last if status == "done" else None, "connector_id": connector, "channel": channel,
                    "team_id": None, "reopened": False, "customer_at": first,
                    "first_response_by": agent if answered else None, "messages_in": 2,
                    "messages_out": 2 if answered else 0, "sms_segments": 2 if answered and channel == "sms" else 0,
                    "sms_cost": 2 * COST if answered and channel == "sms" else Decimal(0)})
                sms = answered and channel == "sms"
                for at, agent_id, amounts in (
                        (first, 0, {"messages_in": 2}),
                        (response, agent, {"messages_out": 2, "messages_agent": 2,
                                           **({"sms_sent": 2, "sms_segments": 2, "sms_cost": 2 * COST,
                                               "sms_delivered": 2} if sms else {})})):
                    if agent_id and not answered:
                        continue
                    rows["report_activity"].append({
                        "hour": at.replace(minute=0, second=0), "conversation_id": cid, "team_id": 0,
                        "agent_id": agent_id, "channel": channel, "connector_id": connector, **ACTIVITY_ZERO,
                        **amounts})
                    day = daily[(at.astimezone(zone).date(), channel, connector, agent_id)]
                    for name, value in amounts.items():
                        day[name] += value
                daily[(first.astimezone(zone).date(), channel, connector, 0)]["opened"] += 1
                daily[(last.astimezone(zone).date(), channel, connector, 0)]["active"] += 1
                if answered:
                    fr = daily[(response.astimezone(zone).date(), channel, connector, agent)]
                    fr["first_responses"] += 1
                    fr["first_response_s"] += int((response - first).total_seconds())
                if status == "done":
                    daily[(last.astimezone(zone).date(), channel, connector, agent)]["closed"] += 1
                key = (channel, status, assignee or 0)
                counts[key] = counts.get(key, 0) + 1
            seen: set[tuple[Any, ...]] = set()
            activity = []
            for r in rows["report_activity"]:  # both rows of a short conversation may share an hour and agent 0
                k = (r["hour"], r["conversation_id"], r["agent_id"])
                if k not in seen:
                    seen.add(k)
                    activity.append(r)
            rows["report_activity"] = activity
            for table in ("contacts", "conversations", "attendances", "report_activity"):
                conn.execute(insert(t.metadata.tables[table]), rows[table])
            print(f"  seeded {min(base + CHUNK, conversations):>8,} conversations "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)
        conn.execute(insert(t.report_daily), [
            {"day": d, "channel": c, "connector_id": k, "team_id": 0, "agent_id": a, **DAILY_ZERO, **values}
            for (d, c, k, a), values in daily.items()])
        conn.execute(insert(t.conversation_counts), [
            {"channel": c, "status": s, "assignee_id": a, "n": n} for (c, s, a), n in counts.items()])
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    print(f"seeded in {time.perf_counter() - started:.0f} s ({len(daily):,} daily counter rows)", flush=True)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(path: Path, iterations: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from atende.actions import users as user_actions
    from atende.app import create_app
    from atende.realtime.bus import MemoryBus
    from atende.runtime import Runtime
    from atende.settings import Settings
    from atende.web.auth import SESSION_COOKIE

    settings = Settings(database_url=f"sqlite+aiosqlite:///{path}", secret_key=SECRET, timezone=ZONE,
                        run_migrations_on_start=False, log_level="WARNING")
    rt = Runtime.create(settings, bus=MemoryBus())
    app = create_app(rt=rt, run_worker=False)
    app.state.rt = rt
    rows: list[dict[str, Any]] = []
    today = datetime.now(ZoneInfo(ZONE)).date()
    week = {"from": (today - timedelta(days=6)).isoformat(), "to": today.isoformat()}
    sample: dict[str, Any] = {}
    for user_id, who in ((1, "admin"), (2, "supervisor")):
        async with rt.write() as tx:
            token, _ = await user_actions.create_session(tx, user_id, 3600)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench",
                                     cookies={SESSION_COOKIE: token}) as client:

            async def run(name: str, path: str, params: dict[str, str] | None = None, n: int = iterations,
                          who: str = who) -> None:
                for _ in range(3):  # warm-up
                    r = await client.get(path, params=params)
                    assert r.status_code == 200, (path, r.status_code, r.text[:300])
                times: list[float] = []
                for _ in range(n):
                    t0 = time.perf_counter()
                    r = await client.get(path, params=params)
                    times.append((time.perf_counter() - t0) * 1000)
                    if r.status_code != 200:
                        raise SystemExit(f"{name}: HTTP {r.status_code}")
                rows.append({"page": f"{name} ({who})", "p50": pct(times, .5), "p95": pct(times, .95),
                             "p99": pct(times, .99), "rss": rss_mb(), "n": n})

            await run("GET /api/v1/dashboard", "/api/v1/dashboard")
            await run("dashboard page", "/dashboard")
            await run("dashboard live fragment", "/dashboard/live")
            await run("board 'Hoje' line", "/board/today")
            await run("summary, today", "/api/v1/reports/summary", {"from": today.isoformat(), "to": today.isoformat()})
            await run("summary, 7 days", "/api/v1/reports/summary", week, max(3, iterations // 20))
            if who == "admin":
                d = (await client.get("/api/v1/dashboard")).json()
                sample = {"active_today": {k: d["active_today"][k] for k in ("total", "sms", "whatsapp")},
                          "queue_waiting": d["queue"]["waiting"], "longest_wait_s": d["queue"]["longest_wait_s"],
                          "sms_month": d["sms"]["month"]}
    await rt.close()
    return rows, sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=1_000_000)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--db", type=Path, default=ROOT / "var" / "bench" / "dashboard.db")
    parser.add_argument("--reseed", action="store_true", help="drop the database and seed it again")
    parser.add_argument("--json", action="store_true", help="print JSON lines instead of the table")
    args = parser.parse_args()
    db = args.db.resolve()
    marker = db.with_suffix(f".{args.conversations}.ok")
    if args.reseed or not marker.exists():
        for leftover in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
            leftover.unlink(missing_ok=True)
        for old in db.parent.glob(db.stem + ".*.ok"):
            old.unlink()
        print(f"seeding {db} with {args.conversations:,} conversations…", flush=True)
        seed(db, args.conversations)
        marker.touch()
    else:
        print(f"reusing {db} (--reseed to start over); its 'today' is the day it was seeded", flush=True)
    rows, sample = asyncio.run(measure(db, args.iterations))
    if args.json:
        for r in rows:
            print(json.dumps({"conversations": args.conversations, **r}))
        return
    print(f"\nSQLite, {args.conversations:,} conversations, {args.iterations} requests per row, in-process "
          f"(httpx.ASGITransport), python {sys.version.split()[0]}, pid {os.getpid()}")
    print(f"today's figures: {sample}")
    header = f"{'request':<44} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'n':>5} {'RSS MB':>8}  goal"
    print(header)
    print("-" * len(header))
    for r in rows:
        goal = "" if r["page"].startswith("summary") else \
            "ok" if r["p95"] < GOAL_MS else f"MISSED (p95 ≥ {GOAL_MS:.0f} ms)"
        print(f"{r['page']:<44} {r['p50']:>8.1f} {r['p95']:>8.1f} {r['p99']:>8.1f} {r['n']:>5} {r['rss']:>8.0f}"
              f"  {goal}")


if __name__ == "__main__":
    main()
