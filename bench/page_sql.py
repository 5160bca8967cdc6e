"""Profile: where a page's time goes, statement by statement (issue 12's board and conversation rows).

Seeds a database the way `bench/scale.py` does (SQLite: reuses its file; PostgreSQL: a throw-away
server), then requests each path in-process as a user and prints the request's total time, the time
spent in SQL, the number of statements and the slowest ones. The rest of the total is Python
(routing, the policy, rendering).

    .venv/bin/python bench/page_sql.py --database postgres --conversations 100000 --messages 1000000
    .venv/bin/python bench/page_sql.py --database sqlite --conversations 1000000 --messages 10000000 \\
        --user 1 --path /board "/board?f=sms"
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import scale  # noqa: E402  (the seeding of bench/scale.py)


async def profile(url: str, user_id: int, paths: list[str], repeats: int, top: int) -> None:
    import httpx
    from sqlalchemy import event

    from atende.actions import users as user_actions
    from atende.app import create_app
    from atende.realtime.bus import MemoryBus
    from atende.runtime import Runtime
    from atende.settings import Settings
    from atende.web.auth import SESSION_COOKIE

    settings = Settings(database_url=url, secret_key=scale.SECRET, run_migrations_on_start=False,
                        log_level="WARNING", send_quota_per_hour=0, send_quota_per_day=0)
    rt = Runtime.create(settings, bus=MemoryBus())
    app = create_app(rt=rt, run_worker=False)
    app.state.rt = rt
    async with rt.write() as tx:
        token, _ = await user_actions.create_session(tx, user_id, 3600)
    timings: list[tuple[float, str]] = []

    def before(conn: Any, _cursor: Any, _statement: str, *_args: Any) -> None:
        conn.info["t0"] = time.perf_counter()

    def after(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        timings.append(((time.perf_counter() - conn.info["t0"]) * 1000, " ".join(statement.split())))

    engine = rt.engine.sync_engine
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench",
                                 cookies={SESSION_COOKIE: token}) as client:
        for path in paths:
            total = 0.0
            status = 0
            for _ in range(repeats):  # the last one is reported: caches and plans are warm by then
                timings.clear()
                t0 = time.perf_counter()
                status = (await client.get(path)).status_code
                total = (time.perf_counter() - t0) * 1000
            sql = sum(ms for ms, _ in timings)
            print(f"\n{path}  HTTP {status}  total {total:.1f} ms  SQL {sql:.1f} ms in {len(timings)} statements  "
                  f"other {total - sql:.1f} ms")
            for ms, statement in sorted(timings, reverse=True)[:top]:
                print(f"  {ms:7.2f} ms  {statement[:160]}")
    await rt.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database", choices=("sqlite", "postgres"), default="postgres")
    ap.add_argument("--conversations", type=int, default=100_000)
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--user", type=int, default=2, help="1 is the admin, 2.. are agents (as scale.py seeds them)")
    ap.add_argument("--path", nargs="+", default=["/board", "/board?f=sms", "/board?f=mine", "/board?f=unassigned",
                                                   "/conversations/7"])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--top", type=int, default=4)
    args = ap.parse_args()
    server = None
    if args.database == "sqlite":
        db = ROOT / "var" / "bench" / f"scale-{args.conversations}x{args.messages}.db"
        if not db.with_suffix(".ok").exists():
            sys.exit(f"seed it first: bench/scale.py --conversations {args.conversations} --messages {args.messages}")
        url = f"sqlite+aiosqlite:///{db}"
    else:
        from tests.support.services import start_postgres

        server = start_postgres()
        url = server.fresh_database("bench_page_sql")
        print(f"seeding PostgreSQL ({args.conversations:,} conversations, {args.messages:,} messages)…", flush=True)
        asyncio.run(scale.seed_postgres(url, args.conversations, args.messages))
    try:
        asyncio.run(profile(url, args.user, args.path, args.repeats, args.top))
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
