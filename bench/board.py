"""Benchmark: server time of the board and of a conversation page on a big SQLite database (issues 4, 8).

Seeds conversations and messages (bulk Core inserts) in three teams (20 agents: one admin, one
supervisor, agents in one or two teams, some with team-wide visibility), then renders the pages
in-process through httpx.ASGITransport, many times. Prints p50 / p95 / p99 (ms), requests/s and the
process RSS. Goal: p95 under 50 ms for the board (as an agent, whose lists and counters go through the
visibility scope of auth/policy, read branch by branch from the indexes) and for a conversation.

    .venv/bin/python bench/board.py --conversations 1000000 --messages 1000000   # issue 8's size
    .venv/bin/python bench/board.py --conversations 10000 --messages 100000 --iterations 100
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import httpx  # noqa: E402
from sqlalchemy import create_engine, insert, text  # noqa: E402

from atende.auth.passwords import hash_password  # noqa: E402
from atende.auth.tokens import token_hash  # noqa: E402
from atende.db import tables as t  # noqa: E402
from atende.secrets import SecretBox  # noqa: E402

SECRET = "bench-secret-key"
EVENTS_INDEX = "CREATE INDEX IF NOT EXISTS ix_events_conversation ON events (conversation_id, id)"
AGENTS = 20
TEAMS = 3  # connector 1 (SMS) → team 1, connector 2 (WhatsApp) → team 2, connector 3 (SMS) → team 3
CHUNK = 20_000
PREVIEWS = ["Olá, tudo bem?", "Quero a segunda via do boleto", "Obrigado!", "Qual o prazo de entrega?",
            "Já paguei, obrigado", "Pode me ligar?", "Recebi a mensagem", "Bom dia! Preciso de ajuda"]


def rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def seed(path: Path, conversations: int, messages: int) -> None:
    from atende.db.migrate import upgrade_url

    path.parent.mkdir(parents=True, exist_ok=True)
    upgrade_url(f"sqlite+aiosqlite:///{path}")
    engine = create_engine(f"sqlite:///{path}")
    rnd = random.Random(42)
    now = datetime.now(UTC).replace(microsecond=0)
    box = SecretBox(SECRET)
    per_conv = max(1, messages // conversations)
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        conn.exec_driver_sql("PRAGMA synchronous=OFF")
        pw = hash_password("s3nha-forte")
        conn.execute(insert(t.users), [
            {"id": i, "email": f"agent{i}@example.com", "name": f"Agente {i}", "password_hash": pw,
             "role": "admin" if i == 1 else "supervisor" if i == 3 else "agent", "presence": "online",
             "capacity": 0, "created_at": now}
            for i in range(1, AGENTS + 1)])

        def connector(cid: int, name: str, provider: str, channel: str, config: dict[str, Any]) -> dict[str, Any]:
            token = f"bench-{cid}-" + "x" * 30
            return {"id": cid, "name": name, "provider": provider, "channel": channel,
                    "webhook_token_hash": token_hash(token), "webhook_token_encrypted": box.encrypt_text(token),
                    "config_encrypted": box.encrypt_json(config), "state": {}, "created_at": now, "updated_at": now}

        sms = {"api_token": "x", "base_url": "https://kolmeya.invalid/api/v1", "cost_per_segment": "0.10",
               "poll_interval_s": 0}
        conn.execute(insert(t.connectors), [connector(1, "SMS", "kolmeya", "sms", sms),
                                            connector(2, "WhatsApp", "sandbox", "whatsapp", {"look_like": "whatsapp"}),
                                            connector(3, "SMS 2", "kolmeya", "sms", sms)])
        conn.execute(insert(t.teams), [
            {"id": k, "name": f"Equipe {k}", "policy": "least_busy", "visibility": "team" if k == 3 else "own",
             "created_at": now, "updated_at": now} for k in range(1, TEAMS + 1)])
        conn.execute(insert(t.team_connectors), [{"connector_id": k, "team_id": k} for k in range(1, TEAMS + 1)])
        # Agent 2 (the one measured) is in teams 1 and 2; the others in one team each; the supervisor in 1.
        members = [(1, 2), (2, 2), (1, 3)] + [(1 + (i % TEAMS), i) for i in range(4, AGENTS + 1)]
        conn.execute(insert(t.team_members), [{"team_id": tm, "user_id": u, "created_at": now} for tm, u in members])
        team_agents = {k: [u for tm, u in members if tm == k and u != 3] for k in range(1, TEAMS + 1)}
        counts: dict[tuple[str, str, int, int], int] = {}
        msg_id = 0
        evt_id = 0
        for base in range(0, conversations, CHUNK):
            contacts: list[dict[str, Any]] = []
            idents: list[dict[str, Any]] = []
            convs: list[dict[str, Any]] = []
            msgs: list[dict[str, Any]] = []
            evts: list[dict[str, Any]] = []
            for cid in range(base + 1, min(base + CHUNK, conversations) + 1):
                connector_id = 1 + cid % TEAMS
                channel = "whatsapp" if connector_id == 2 else "sms"
                roll = rnd.random()
                status = "new" if roll < 0.1 else "open" if roll < 0.3 else "done"
                assignee = None if status == "new" else rnd.choice(team_agents[connector_id])
                phone = f"+55119{cid:08d}"
                last = now - timedelta(seconds=rnd.randint(0, 90 * 86400))
                contacts.append({"id": cid, "name": f"Cliente {cid}", "created_at": last, "updated_at": last})
                idents.append({"id": cid, "contact_id": cid, "kind": "phone", "value": phone, "attributes": {},
                               "created_at": last})
                first = last - timedelta(minutes=per_conv * 3)
                for k in range(per_conv):
                    msg_id += 1
                    out = k % 2 == 1
                    at = first + timedelta(minutes=3 * k)
                    msgs.append({
                        "id": msg_id, "conversation_id": cid, "connector_id": connector_id,
                        "contact_id": cid, "direction": "out" if out else "in", "kind": "text",
                        "text": PREVIEWS[(cid + k) % len(PREVIEWS)], "status": "delivered" if out else "received",
                        "provider_message_id": f"p{msg_id}", "author_id": assignee if out else None,
                        "segments": 1 if channel == "sms" else None, "encoding": "gsm7" if channel == "sms" else None,
                        "cost": Decimal("0.10") if channel == "sms" and out else None, "attributes": {},
                        "created_at": at, "updated_at": at})
                if assignee:
                    evt_id += 1
                    evts.append({"id": evt_id, "type": "conversation.assigned", "conversation_id": cid,
                                 "payload": {"id": cid, "assignee_id": assignee, "actor_id": assignee},
                                 "created_at": first + timedelta(minutes=1)})
                if status == "done":
                    evt_id += 1
                    evts.append({"id": evt_id, "type": "conversation.closed", "conversation_id": cid,
                                 "payload": {"id": cid, "actor_id": assignee}, "created_at": last})
                convs.append({
                    "id": cid, "connector_id": connector_id, "contact_id": cid, "channel": channel,
                    "team_id": connector_id, "waiting_since": last - timedelta(minutes=3) if status == "new" else None,
                    "address_key": phone, "address": phone, "status": status, "assignee_id": assignee,
                    "last_activity_at": last, "last_inbound_at": last - timedelta(minutes=3),
                    "last_outbound_at": last, "last_message_preview": PREVIEWS[cid % len(PREVIEWS)],
                    "last_message_direction": "out", "unread": rnd.choice((0, 0, 0, 1, 2)),
                    "segments_total": per_conv // 2 if channel == "sms" else 0,
                    "cost_total": Decimal("0.10") * (per_conv // 2) if channel == "sms" else Decimal(0),
                    "created_at": first})
                key = (channel, status, assignee or 0, connector_id)
                counts[key] = counts.get(key, 0) + 1
            conn.execute(insert(t.contacts), contacts)
            conn.execute(insert(t.contact_identities), idents)
            conn.execute(insert(t.conversations), convs)
            for i in range(0, len(msgs), CHUNK):
                conn.execute(insert(t.messages), msgs[i:i + CHUNK])
            if evts:
                conn.execute(insert(t.events), evts)
            print(f"  seeded {min(base + CHUNK, conversations):>7} conversations, {msg_id:>8} messages "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)
        conn.execute(insert(t.conversation_counts), [
            {"channel": c, "status": s, "assignee_id": a, "team_id": tm, "n": n}
            for (c, s, a, tm), n in counts.items()])
        conn.execute(insert(t.quick_replies), [
            {"shortcut": f"atalho{i}", "text": f"Resposta pronta {i}", "created_at": now} for i in range(20)])
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)


def _next_page(html: str, status: str) -> str:
    """The endless column's next keyset page, as the sentinel asks for it."""
    import re

    start = html.find(f'id="column-{status}"') if f'id="column-{status}"' in html else 0
    found = re.search(r'hx-get="(/board/column/' + status + r'\?[^"]+)"', html[start:])
    assert found, f"no next page for {status}"
    return found.group(1).replace("&amp;", "&")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(path: Path, iterations: int, conversations: int) -> list[dict[str, Any]]:
    from atende.actions import users as user_actions
    from atende.app import create_app
    from atende.realtime.bus import MemoryBus
    from atende.runtime import Runtime
    from atende.settings import Settings
    from atende.web.auth import SESSION_COOKIE

    settings = Settings(database_url=f"sqlite+aiosqlite:///{path}", secret_key=SECRET,
                        run_migrations_on_start=False, log_level="WARNING")
    rt = Runtime.create(settings, bus=MemoryBus())
    app = create_app(rt=rt, run_worker=False)
    app.state.rt = rt
    sessions = {}
    async with rt.write() as tx:
        for who, user_id in (("agent", 2), ("supervisor", 3), ("admin", 1)):
            sessions[who], _ = await user_actions.create_session(tx, user_id, 3600)
    async with rt.read() as conn:
        mine = [int(r[0]) for r in await conn.execute(
            text("SELECT id FROM conversations WHERE assignee_id = 2 ORDER BY id LIMIT 200"))]
    rows: list[dict[str, Any]] = []
    rnd = random.Random(7)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench",
                                 cookies={SESSION_COOKIE: sessions["agent"]}) as client, \
            httpx.AsyncClient(transport=transport, base_url="http://bench",
                              cookies={SESSION_COOKIE: sessions["supervisor"]}) as sup, \
            httpx.AsyncClient(transport=transport, base_url="http://bench",
                              cookies={SESSION_COOKIE: sessions["admin"]}) as admin:

        async def run(name: str, paths: list[str], who: httpx.AsyncClient | None = None) -> None:
            http = who or client
            for p in paths[:10]:  # warm-up
                r = await http.get(p)
                assert r.status_code == 200, (p, r.status_code, r.text[:300])
            times: list[float] = []
            started = time.perf_counter()
            for i in range(iterations):
                t0 = time.perf_counter()
                r = await http.get(paths[i % len(paths)])
                times.append((time.perf_counter() - t0) * 1000)
                if r.status_code != 200:
                    raise SystemExit(f"{name}: HTTP {r.status_code} for {paths[i % len(paths)]}")
            total = time.perf_counter() - started
            rows.append({"page": name, "p50": pct(times, .5), "p95": pct(times, .95), "p99": pct(times, .99),
                         "rps": iterations / total, "rss": rss_mb()})

        board = ["/board", "/board?f=sms", "/board?f=mine", "/board?f=unassigned", "/board?f=whatsapp"]
        await run("agent: board (5 quick filters)", board)
        await run("agent: board, one team", ["/board?team=1", "/board?team=2"])
        column = (await client.get("/board/column/new?f=all")).text
        await run("agent: Novo, next page", [_next_page(column, "new")])
        await run("agent: Concluído, next page", [_next_page((await client.get("/board")).text, "done")])
        await run("agent: API list + counts", ["/api/v1/conversations?limit=25", "/api/v1/conversations/counts"])
        await run("supervisor: board", board, sup)
        await run("admin: board", board, admin)
        await run("agent: own conversation page", [f"/conversations/{cid}" for cid in mine or [1]])
        convs = [f"/conversations/{rnd.randint(1, conversations)}" for _ in range(200)]
        await run("admin: any conversation page", convs, admin)
    await rt.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--iterations", type=int, default=500)
    parser.add_argument("--db", type=Path, default=ROOT / "var" / "bench" / "board.db")
    parser.add_argument("--reseed", action="store_true", help="drop the database and seed it again")
    args = parser.parse_args()
    db = args.db.resolve()
    marker = db.with_suffix(f".{args.conversations}x{args.messages}.ok")
    if args.reseed or not marker.exists():
        for leftover in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
            leftover.unlink(missing_ok=True)
        for old in db.parent.glob(db.stem + ".*.ok"):
            old.unlink()
        print(f"seeding {db} with {args.conversations:,} conversations and {args.messages:,} messages…", flush=True)
        seed(db, args.conversations, args.messages)
        marker.touch()
    else:
        print(f"reusing {db} (--reseed to start over)")
        with create_engine(f"sqlite:///{db}").begin() as conn:  # measure "as the schema stands" again
            conn.exec_driver_sql("DROP INDEX IF EXISTS ix_events_conversation")
    rows = asyncio.run(measure(db, args.iterations, args.conversations))
    print(f"\nSQLite, {args.conversations:,} conversations, {args.messages:,} messages, {args.iterations} requests "
          f"each, in-process (httpx.ASGITransport), python {sys.version.split()[0]}, pid {os.getpid()}")
    header = f"{'page':<36} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'req/s':>8} {'RSS MB':>8}  goal"
    print(header)
    print("-" * len(header))
    for r in rows:
        goal = "ok" if r["p95"] < 50 else "MISSED (p95 ≥ 50 ms)"
        print(f"{r['page']:<36} {r['p50']:>8.1f} {r['p95']:>8.1f} {r['p99']:>8.1f} {r['rps']:>8.0f} "
              f"{r['rss']:>8.0f}  {goal}")
    print(f"\nindex asked of the schema: {EVENTS_INDEX}")
    print(f"median of p95s: {statistics.median(r['p95'] for r in rows):.1f} ms")


if __name__ == "__main__":
    main()
