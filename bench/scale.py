"""Benchmark: the board, a conversation, board search and message search on a big database (issue 12),
on SQLite or PostgreSQL.

Seeds N conversations (one contact each, a phone number, a name) and M messages (Portuguese phrases,
each with a rare "protocolo NNNNNNN" token) in bulk, builds the search indexes the way migration 0009
does on existing data, then measures server time in-process (httpx.ASGITransport), signed in as an
agent (board, the conversations they may open) and as the admin (board, any conversation, the
searches, which then find every seeded match): p50/p95 per page. Goal: board and conversation p95
< 50 ms; board search and message search p95 < 100 ms.

    .venv/bin/python bench/scale.py --database sqlite --conversations 1000000 --messages 10000000
    .venv/bin/python bench/scale.py --database postgres --conversations 100000 --messages 1000000
    .venv/bin/python bench/scale.py --conversations 20000 --messages 200000 --iterations 100   # quick

SQLite files are kept under var/bench/ and reused for the same sizes (--reseed to start over);
PostgreSQL runs a throw-away server of its own (the test suite's helper), started and stopped here.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

SECRET = "bench-secret-key"
AGENTS = 20
CHUNK = 50_000
RARE_NAME = "Zuleica Vasconcellos"
FIRST = ["Ana", "Bruno", "Carla", "Diego", "Elaine", "Fábio", "Gabriela", "Heitor", "Irene", "João", "Karina",
         "Lucas", "Márcia", "Nelson", "Otávio", "Patrícia", "Quésia", "Rafael", "Sônia", "Tiago", "Úrsula",
         "Vinícius", "Wagner", "Xênia", "Yasmin"]
LAST = ["Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira", "Lima", "Gomes",
        "Costa", "Ribeiro", "Martins", "Carvalho", "Almeida", "Lopes", "Soares", "Fernandes", "Vieira", "Barbosa"]
PHRASES = ["Não recebi o boleto", "Quero a segunda via da fatura", "Obrigado pelo atendimento!",
           "Qual o prazo de entrega do pedido?", "Já paguei, podem confirmar?", "Pode me ligar amanhã?",
           "Recebi a mensagem, obrigado", "Bom dia! Preciso de ajuda com a conta"]


def phone(cid: int) -> str:
    return f"+55119{cid:08d}"


def protocol(mid: int) -> str:
    return f"{(mid * 7919 + 1234567) % 9000000 + 1000000}"  # distinct per message up to 9 M, looks random


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# ---- data ----------------------------------------------------------------------------------------

def chunks(conversations: int, messages: int,
           tally: dict[tuple[str, str, int], int]) -> Iterator[dict[str, list[dict[str, Any]]]]:
    """Rows per table, CHUNK conversations at a time (messages spread evenly, newest conversations last);
    `tally` collects conversation_counts as the actions would keep them."""
    rnd = random.Random(42)
    now = datetime.now(UTC).replace(microsecond=0)
    per_conv, extra = divmod(messages, conversations)
    msg_id = evt_id = 0
    for base in range(0, conversations, CHUNK):
        out: dict[str, list[dict[str, Any]]] = {k: [] for k in ("contacts", "contact_identities", "conversations",
                                                                "messages", "events")}
        for cid in range(base + 1, min(base + CHUNK, conversations) + 1):
            channel = "sms" if cid % 2 else "whatsapp"
            roll = rnd.random()
            status = "new" if roll < 0.1 else "open" if roll < 0.3 else "done"
            assignee = None if status == "new" else rnd.randint(1, AGENTS)
            tally[(channel, status, assignee or 0)] = tally.get((channel, status, assignee or 0), 0) + 1
            last = now - timedelta(seconds=(conversations - cid) * 7 + rnd.randint(0, 6))
            name = RARE_NAME if cid == conversations // 2 else f"{rnd.choice(FIRST)} {rnd.choice(LAST)}"
            out["contacts"].append({"id": cid, "name": name, "created_at": last, "updated_at": last})
            out["contact_identities"].append({"id": cid, "contact_id": cid, "kind": "phone", "value": phone(cid),
                                              "attributes": {}, "created_at": last})
            count = per_conv + (1 if cid <= extra else 0)
            first = last - timedelta(minutes=3 * count)
            preview = ""
            for k in range(count):
                msg_id += 1
                out_dir = k % 2 == 1
                preview = f"{PHRASES[(cid + k) % len(PHRASES)]} protocolo {protocol(msg_id)}"
                at = first + timedelta(minutes=3 * k)
                out["messages"].append({
                    "id": msg_id, "conversation_id": cid, "connector_id": 1 if channel == "sms" else 2,
                    "contact_id": cid, "direction": "out" if out_dir else "in", "kind": "text", "text": preview,
                    "status": "delivered" if out_dir else "received", "provider_message_id": f"p{msg_id}",
                    "author_id": assignee if out_dir else None, "attributes": {}, "created_at": at,
                    "updated_at": at})
            if assignee:
                evt_id += 1
                out["events"].append({"id": evt_id, "type": "conversation.assigned", "conversation_id": cid,
                                      "payload": {"id": cid, "assignee_id": assignee, "actor_id": assignee},
                                      "created_at": first})
            out["conversations"].append({
                "id": cid, "connector_id": 1 if channel == "sms" else 2, "contact_id": cid, "channel": channel,
                "address_key": phone(cid), "address": phone(cid), "status": status, "assignee_id": assignee,
                "last_activity_at": last, "last_inbound_at": last, "last_outbound_at": last,
                "last_message_preview": preview[:200], "last_message_direction": "in", "unread": rnd.choice((0, 0, 1)),
                "segments_total": 0, "cost_total": 0, "created_at": first})
        yield out


def count_rows(tally: dict[tuple[str, str, int], int]) -> list[dict[str, Any]]:
    return [{"channel": c, "status": s, "assignee_id": a, "n": n} for (c, s, a), n in tally.items()]


def fixed_rows() -> dict[str, list[dict[str, Any]]]:
    from atende.auth.passwords import hash_password
    from atende.auth.tokens import token_hash
    from atende.secrets import SecretBox

    box = SecretBox(SECRET)
    now = datetime.now(UTC)
    pw = hash_password("s3nha-forte")
    users = [{"id": i, "email": f"agent{i}@example.com", "name": f"Agente {i}", "password_hash": pw,
              "role": "admin" if i == 1 else "agent", "presence": "online", "created_at": now}
             for i in range(1, AGENTS + 1)]
    connectors = []
    for cid, (provider, channel, config) in enumerate([
            ("kolmeya", "sms", {"api_token": "x", "base_url": "https://kolmeya.invalid/api/v1", "poll_interval_s": 0}),
            ("sandbox", "whatsapp", {"look_like": "whatsapp"})], start=1):
        token = f"bench-token-{cid}" * 3
        connectors.append({"id": cid, "name": channel, "provider": provider, "channel": channel,
                           "config_encrypted": box.encrypt_json(config), "webhook_token_hash": token_hash(token),
                           "webhook_token_encrypted": box.encrypt_text(token), "state": {}, "created_at": now,
                           "updated_at": now})
    return {"users": users, "connectors": connectors}


# ---- seeding ---------------------------------------------------------------------------------------

ORDER = ("contacts", "contact_identities", "conversations", "messages", "events")


def seed_sqlite(path: Path, conversations: int, messages: int) -> None:
    from sqlalchemy import create_engine, insert, text

    from atende.db import tables as t
    from atende.db.migrate import upgrade_url
    from atende.search.schema import SQLITE_TRIGGERS, ensure_sqlite

    path.parent.mkdir(parents=True, exist_ok=True)
    upgrade_url(f"sqlite+aiosqlite:///{path}")
    engine = create_engine(f"sqlite:///{path}")
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        conn.exec_driver_sql("PRAGMA synchronous=OFF")
        for stmt in SQLITE_TRIGGERS:  # bulk load first, then index once (as migration 0009 backfills)
            conn.execute(text(f"DROP TRIGGER IF EXISTS {stmt.split('IF NOT EXISTS ')[1].split()[0]}"))
        for name, rows in fixed_rows().items():
            conn.execute(insert(t.metadata.tables[name]), rows)
        tally: dict[tuple[str, str, int], int] = {}
        for i, part in enumerate(chunks(conversations, messages, tally)):
            for name in ORDER:
                if part[name]:
                    conn.execute(insert(t.metadata.tables[name]), part[name])
            print(f"  seeded {min((i + 1) * CHUNK, conversations):>9,} conversations "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)
        conn.execute(insert(t.conversation_counts), count_rows(tally))
    with engine.begin() as conn:
        t0 = time.perf_counter()
        ensure_sqlite(conn)  # re-creates the triggers and rebuilds the search indexes
        print(f"  search indexes built in {time.perf_counter() - t0:.0f} s", flush=True)
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)


async def seed_postgres(url: str, conversations: int, messages: int) -> None:
    import asyncpg
    from sqlalchemy.dialects import postgresql

    from atende.db import tables as t
    from atende.db.engine import create_engine
    from atende.db.migrate import upgrade
    from atende.realtime.pg_bus import asyncpg_dsn
    from atende.search.schema import POSTGRES

    engine = create_engine(url)
    await upgrade(engine, secret_key=SECRET)
    await engine.dispose()
    dialect = postgresql.dialect()
    conn = await asyncpg.connect(asyncpg_dsn(url))
    started = time.perf_counter()
    try:
        await conn.execute("SET maintenance_work_mem = '512MB'")
        for name in ("ix_search_messages", "ix_search_contacts", "ix_search_numbers"):
            await conn.execute(f"DROP INDEX IF EXISTS {name}")  # bulk load first, index once

        async def copy(table_name: str, rows: list[dict[str, Any]]) -> None:
            table = t.metadata.tables[table_name]
            cols = [c for c in table.columns if any(c.name in r for r in rows[:1])]
            records = []
            for r in rows:
                rec = []
                for c in cols:
                    value = r.get(c.name)
                    if value is not None:
                        processor = c.type.bind_processor(dialect) if hasattr(c.type, "process_bind_param") else None
                        if hasattr(c.type, "process_bind_param"):
                            value = c.type.process_bind_param(value, dialect)  # type: ignore[attr-defined]
                        elif processor is not None:
                            value = processor(value)
                        if isinstance(value, dict | list):
                            value = json.dumps(value)
                    rec.append(value)
                records.append(tuple(rec))
            await conn.copy_records_to_table(table_name, records=records, columns=[c.name for c in cols])

        for name, rows in fixed_rows().items():
            await copy(name, rows)
        tally: dict[tuple[str, str, int], int] = {}
        for i, part in enumerate(chunks(conversations, messages, tally)):
            for name in ORDER:
                if part[name]:
                    await copy(name, part[name])
            print(f"  seeded {min((i + 1) * CHUNK, conversations):>9,} conversations "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)
        await copy("conversation_counts", count_rows(tally))
        for table in ("users", "connectors", "contacts", "contact_identities", "conversations", "messages", "events"):
            await conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                               f"(SELECT coalesce(max(id), 1) FROM {table}))")
        t0 = time.perf_counter()
        for statement in POSTGRES:
            if statement.startswith("CREATE INDEX"):
                await conn.execute(statement)
        print(f"  search indexes built in {time.perf_counter() - t0:.0f} s", flush=True)
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)


# ---- measuring ---------------------------------------------------------------------------------------

def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(url: str, iterations: int, conversations: int, messages: int) -> list[dict[str, Any]]:
    import httpx

    from atende.actions import users as user_actions
    from atende.app import create_app
    from atende.realtime.bus import MemoryBus
    from atende.runtime import Runtime
    from atende.settings import Settings
    from atende.web.auth import SESSION_COOKIE

    settings = Settings(database_url=url, secret_key=SECRET, run_migrations_on_start=False, log_level="WARNING",
                        send_quota_per_hour=0, send_quota_per_day=0)
    rt = Runtime.create(settings, bus=MemoryBus())
    app = create_app(rt=rt, run_worker=False)
    app.state.rt = rt
    async with rt.write() as tx:
        agent_token, _ = await user_actions.create_session(tx, 2, 3600)  # an agent: the policy's narrowest view
        admin_token, _ = await user_actions.create_session(tx, 1, 3600)  # the admin: everything
    async with rt.read() as conn:  # what the agent may open: assigned to them, or waiting unassigned
        from sqlalchemy import or_, select

        from atende.db.tables import conversations as conv_table
        own = [int(r[0]) for r in await conn.execute(select(conv_table.c.id).where(or_(
            conv_table.c.assignee_id == 2, conv_table.c.status == "new")).order_by(conv_table.c.id).limit(20_000))]
    rnd = random.Random(7)
    rows: list[dict[str, Any]] = []
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench",
                                 cookies={SESSION_COOKIE: agent_token}) as agent, \
            httpx.AsyncClient(transport=transport, base_url="http://bench",
                              cookies={SESSION_COOKIE: admin_token}) as admin:

        async def run(name: str, goal_ms: float, paths: list[str], check: Any = None, client: Any = admin) -> None:
            for p in paths[:5]:  # warm-up
                r = await client.get(p)
                assert r.status_code == 200, (p, r.status_code, r.text[:300])
                if check is not None:
                    assert check(p, r), (name, p, r.text[:300])
            times: list[float] = []
            for i in range(iterations):
                t0 = time.perf_counter()
                r = await client.get(paths[i % len(paths)])
                times.append((time.perf_counter() - t0) * 1000)
                if r.status_code != 200:
                    raise SystemExit(f"{name}: HTTP {r.status_code} for {paths[i % len(paths)]}")
            rows.append({"page": name, "p50": pct(times, .5), "p95": pct(times, .95), "goal_ms": goal_ms,
                         "rss": rss_mb()})

        def found(_p: str, r: Any) -> bool:
            return bool(r.json()["items"])

        boards = ["/board", "/board?f=sms", "/board?f=mine", "/board?f=unassigned"]
        await run("board (agent)", 50, boards, client=agent)
        await run("board (admin)", 50, boards)
        await run("conversation page (agent: own or queue)", 50,
                  [f"/conversations/{rnd.choice(own)}" for _ in range(200)], client=agent)
        await run("conversation page (admin)", 50,
                  [f"/conversations/{rnd.randint(1, conversations)}" for _ in range(200)])
        await run("board search: rare name", 100, ["/api/v1/conversations?q=zuleica",
                                                   "/api/v1/conversations?q=Vasconcellos"], found)
        spellings = []
        for _ in range(100):
            d = phone(rnd.randint(1, conversations))[1:]
            spellings += [d[4:], f"({d[2:4]}) {d[4:9]}-{d[9:]}", d]
        await run("board search: number", 100, [f"/api/v1/conversations?q={s}" for s in spellings], found)
        words = ["boleto", "nao recebi", "segunda via", "fatura", "entrega pedido"]
        rare = [f"protocolo {protocol(rnd.randint(1, messages))}" for _ in range(100)]
        await run("message search: common words", 100, [f"/api/v1/search?q={w}" for w in words], found)
        await run("message search: rare token", 100, [f"/api/v1/search?q={w}" for w in rare], found)
    await rt.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--conversations", type=int, default=1_000_000)
    parser.add_argument("--messages", type=int, default=10_000_000)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--reseed", action="store_true", help="SQLite: seed again even if a seeded file exists")
    parser.add_argument("--json", action="store_true", help="print one JSON line (for bench/run_all.py)")
    args = parser.parse_args()
    size = f"{args.conversations}x{args.messages}"
    server = None
    if args.database == "sqlite":
        db = ROOT / "var" / "bench" / f"scale-{size}.db"
        marker = db.with_suffix(".ok")
        if args.reseed or not marker.exists():
            for leftover in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm"), marker):
                leftover.unlink(missing_ok=True)
            print(f"seeding {db}…", flush=True)
            seed_sqlite(db, args.conversations, args.messages)
            marker.touch()
        url = f"sqlite+aiosqlite:///{db}"
        from atende.db.migrate import upgrade_url

        upgrade_url(url)  # a file seeded by an older checkout gets this one's migrations
    else:
        from tests.support.services import start_postgres

        server = start_postgres()
        url = server.fresh_database("bench_scale")
        print(f"seeding PostgreSQL ({url})…", flush=True)
        asyncio.run(seed_postgres(url, args.conversations, args.messages))
    try:
        rows = asyncio.run(measure(url, args.iterations, args.conversations, args.messages))
    finally:
        if server is not None:
            server.stop()
    if args.json:
        print(json.dumps({"database": args.database, "conversations": args.conversations,
                          "messages": args.messages, "rows": rows}))
        return
    print(f"\n{args.database}, {args.conversations:,} conversations, {args.messages:,} messages, "
          f"{args.iterations} requests each, in-process, python {sys.version.split()[0]}, pid {os.getpid()}")
    print(f"{'page':<32} {'p50 ms':>8} {'p95 ms':>8} {'goal':>6}")
    for r in rows:
        ok = "ok" if r["p95"] < r["goal_ms"] else "MISSED"
        print(f"{r['page']:<32} {r['p50']:>8.1f} {r['p95']:>8.1f} {r['goal_ms']:>5.0f}  {ok}")
    print(f"median p95: {statistics.median(r['p95'] for r in rows):.1f} ms")


if __name__ == "__main__":
    main()
