"""The shared machinery of the webhook ingest benchmarks.

Sets up a fresh SQLite database with one connector, starts `atende serve` in a subprocess,
drives it from a separate load process over loopback (bounded: exactly `requests` requests),
then checks that every acknowledged message is stored, and prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from _load import run_load

# (path, host, i, phones) -> raw HTTP request; a module-level function, so it can go to the load process.
MakeRequest = Callable[[str, str, int, int], bytes]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def create_connector_token(db_url: str, provider: str, config: dict[str, Any]) -> str:
    from sqlalchemy import select

    from atende.actions.connectors import create_connector
    from atende.db.migrate import upgrade
    from atende.db.tables import connectors
    from atende.realtime.bus import MemoryBus
    from atende.runtime import Runtime
    from atende.settings import Settings

    rt = Runtime.create(Settings(database_url=db_url, secret_key="bench"), bus=MemoryBus())
    await upgrade(rt.engine)
    async with rt.write() as tx:
        cid = await create_connector(tx, rt.secrets, name="bench", provider=provider, config=config,
                                     allow_http_loopback=True)
    async with rt.read() as conn:
        sealed = await conn.scalar(select(connectors.c.webhook_token_encrypted).where(connectors.c.id == cid))
    await rt.close()
    return rt.secrets.decrypt_text(str(sealed))


def _load_process(make: MakeRequest, port: int, path: str, total: int, concurrency: int, phones: int,
                  offset: int, out: mp.Queue) -> None:
    host = f"127.0.0.1:{port}"
    elapsed, latencies, statuses = asyncio.run(run_load(
        "127.0.0.1", port, lambda i: make(path, host, i + offset, phones), total=total, concurrency=concurrency))
    out.put((elapsed, latencies, statuses))


def _load(make: MakeRequest, port: int, path: str, total: int, concurrency: int, phones: int,
          offset: int) -> tuple[float, list[float], dict[int, int]]:
    q: mp.Queue = mp.Queue()
    p = mp.Process(target=_load_process, args=(make, port, path, total, concurrency, phones, offset, q))
    p.start()
    result = q.get()
    p.join()
    return result  # type: ignore[no-any-return]


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its descendants (uvicorn's workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime (fields 14, 15)
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError, IndexError):
            continue
    return total


def _profile(pid: int, out: str) -> subprocess.Popen[bytes]:
    """py-spy (pip) sampling the server and its workers, every thread, while the measured load runs."""
    spy = Path(sys.executable).with_name("py-spy")
    fmt = "speedscope" if out.endswith(".json") else "flamegraph" if out.endswith(".svg") else "raw"
    return subprocess.Popen([str(spy), "record", "--pid", str(pid), "--subprocesses", "--threads", "--nonblocking",
                             "--rate", "200", "--format", fmt, "--output", out],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _count_stored(url: str) -> int:
    if url.startswith("sqlite"):
        return int(sqlite3.connect(url.split("///", 1)[1]).execute("SELECT count(*) FROM messages").fetchone()[0])
    import asyncpg

    from atende.realtime.pg_bus import asyncpg_dsn

    async def count() -> int:
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            return int(await conn.fetchval("SELECT count(*) FROM messages"))
        finally:
            await conn.close()

    return asyncio.run(count())


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(400):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.05)
    raise RuntimeError("server did not start: " + (process.stderr.read().decode() if process.stderr else ""))


def drop_search(url: str) -> None:
    """Remove the search indexing (triggers / GIN indexes and column), to measure what it costs ingest."""
    from sqlalchemy import create_engine as create_sync_engine
    from sqlalchemy import text

    if url.startswith("sqlite"):
        from atende.search.schema import SQLITE_TRIGGERS

        engine = create_sync_engine(url.replace("+aiosqlite", ""))
        with engine.begin() as conn:
            for stmt in SQLITE_TRIGGERS:
                conn.execute(text(f"DROP TRIGGER IF EXISTS {stmt.split('IF NOT EXISTS ')[1].split()[0]}"))
        engine.dispose()
        return
    import asyncpg

    from atende.realtime.pg_bus import asyncpg_dsn

    async def drop() -> None:
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            for name in ("ix_search_messages", "ix_search_contacts", "ix_search_numbers"):
                await conn.execute(f"DROP INDEX IF EXISTS {name}")
            await conn.execute("ALTER TABLE messages DROP COLUMN IF EXISTS search_vector")
        finally:
            await conn.close()

    asyncio.run(drop())


def run(provider: str, config: dict[str, Any], make: MakeRequest, *, requests: int, concurrency: int, phones: int,
        warmup: int, database: str = "sqlite", web_processes: int = 1, search: bool = True,
        profile: str | None = None, per_request: int = 1, http_server: str = "uvicorn") -> dict[str, Any]:
    """One measured run. `database="postgres"`: a throw-away PostgreSQL and Redis (the test suite's
    helpers), `web_processes` web processes plus one worker process, as in production."""
    tmp = Path(tempfile.mkdtemp(prefix="atende-bench-"))
    services: list[Any] = []
    env_extra: dict[str, str] = {}
    if database == "postgres":
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from tests.support.services import start_postgres, start_redis

        pg = start_postgres()
        services.append(pg)
        redis = start_redis()
        services.append(redis)
        url = pg.fresh_database("bench_ingest")
        env_extra["ATENDE_REDIS_URL"] = redis.url
    else:
        url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        path = "/webhooks/" + asyncio.run(create_connector_token(url, provider, config))
        if not search:
            drop_search(url)
            env_extra["ATENDE_RUN_MIGRATIONS_ON_START"] = "false"  # a migration run would put them back
        port = free_port()
        env = {**os.environ, "ATENDE_DATABASE_URL": url, "ATENDE_SECRET_KEY": "bench", "ATENDE_LOG_LEVEL": "WARNING",
               "ATENDE_AUTO_ASSIGN": "false", "ATENDE_MEDIA_DIR": str(tmp / "media"), **env_extra}
        serve = [sys.executable, "-c", "from atende.cli import main; main()", "serve", "--port", str(port)]
        if database == "postgres":
            serve += ["--role", "web", "--workers", str(web_processes)]
            procs.append(subprocess.Popen([sys.executable, "-c", "from atende.cli import main; main()", "serve",
                                           "--role", "worker"], env=env, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
        if http_server == "granian":  # the same app under granian (pip install granian), to compare HTTP stacks
            env["ATENDE_ROLE"] = "all" if database == "sqlite" else "web"
            serve = [str(Path(sys.executable).with_name("granian")), "--interface", "asgi", "--loop", "uvloop",
                     "--host", "127.0.0.1", "--port", str(port), "--workers", str(web_processes),
                     "--log-level", "warning", "--no-access-log", "atende.asgi:app"]
        server = subprocess.Popen(serve, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        procs.append(server)
        _wait_for_port(port, server)
        if warmup:
            _load(make, port, path, warmup, concurrency, phones, 0)
        spy = _profile(server.pid, profile) if profile else None
        # CPU of the web process(es) and the worker; the load generator is a process of its own.
        cpu_before = sum(cpu_seconds(p.pid) for p in procs)
        # The warm-up used ids 0..warmup-1; the measured run must not repeat them.
        elapsed, latencies, statuses = _load(make, port, path, requests, concurrency, phones, warmup)
        cpu = sum(cpu_seconds(p.pid) for p in procs) - cpu_before
        peak = rss_mb(server.pid) if database == "sqlite" else float("nan")  # uvicorn's parent, with workers
        if spy is not None:
            spy.send_signal(2)  # py-spy writes its output on SIGINT
            spy.wait(60)
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(20)
        stored = _count_stored(url)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        for service in reversed(services):
            service.stop() if hasattr(service, "data") else service.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)  # the database and media of this run
    acked = statuses.get(200, 0) * per_request  # messages acknowledged
    lat = sorted(latencies)
    return {
        "database": database, "web_processes": web_processes, "search": search, "requests": requests,
        "concurrency": concurrency, "per_request": per_request, "server": http_server,
        "acked": acked, "stored": stored - warmup * per_request, "throughput": acked / elapsed,
        "cpu_us_per_msg": cpu / max(1, acked) * 1e6, "load_average": os.getloadavg()[0],
        "p50_ms": statistics.median(lat) * 1000, "p99_ms": lat[int(len(lat) * 0.99) - 1] * 1000, "rss_mb": peak,
        "statuses": {str(k): v for k, v in statuses.items()},
    }


def main(title: str, provider: str, config: dict[str, Any], make: MakeRequest, doc: str | None, *,
         batches: bool = False) -> None:
    """`batches`: `make` takes `per_request=N` and puts N messages in one request."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[64])
    ap.add_argument("--phones", type=int, default=2000, help="distinct customers in the run")
    ap.add_argument("--warmup", type=int, default=1000)
    ap.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite",
                    help="postgres: a throw-away PostgreSQL + Redis, web processes and one worker process")
    ap.add_argument("--web-processes", type=int, default=2, help="with --database postgres")
    ap.add_argument("--json", action="store_true", help="print one JSON line per run (for bench/run_all.py)")
    if batches:
        ap.add_argument("--per-request", type=int, default=1,
                        help="messages in each webhook (Meta batches several in one POST)")
    ap.add_argument("--server", choices=("uvicorn", "granian"), default="uvicorn",
                    help="granian: the app under granian instead of `atende serve` (uvicorn), for comparison")
    ap.add_argument("--profile", metavar="FILE", help="record the server with py-spy during the measured run "
                    "(.svg flame graph, .json speedscope, else raw collapsed stacks)")
    ap.add_argument("--search-cost", action="store_true",
                    help="also run without the search indexing, alternating, to show what it costs ingest")
    args = ap.parse_args()
    variants = [True, False, True, False] if args.search_cost else [True]
    per_request = getattr(args, "per_request", 1)
    if per_request > 1:
        make = partial(make, per_request=per_request)
    rows = [run(provider, config, make, requests=args.requests, concurrency=c, phones=args.phones,
                warmup=args.warmup, database=args.database, search=search,
                web_processes=args.web_processes if args.database == "postgres" else 1, profile=args.profile,
                per_request=per_request, http_server=args.server)
            for c in args.concurrency for search in variants]
    if args.json:
        for r in rows:
            print(json.dumps(r))
        return
    where = ("SQLite, one `atende serve` process" if args.database == "sqlite" else
             f"PostgreSQL + Redis, {args.web_processes} web processes + 1 worker")
    batched = f", {per_request} messages per webhook" if per_request > 1 else ""
    print(f"\n{title} on {where}, {os.cpu_count()}-core machine, {args.phones} distinct customers{batched}")
    print(f"{'conc':>5} {'search':>6} {'requests':>9} {'acked':>7} {'stored':>7} {'msg/s':>8} {'p50 ms':>8} "
          f"{'p99 ms':>8} {'RSS MB':>7} {'CPU µs/msg':>10} {'load':>5}")
    for r in rows:
        print(f"{r['concurrency']:>5} {'on' if r['search'] else 'off':>6} {r['requests']:>9} {r['acked']:>7} "
              f"{r['stored']:>7} {r['throughput']:>8.0f} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} {r['rss_mb']:>7.0f} "
              f"{r['cpu_us_per_msg']:>10.0f} {r['load_average']:>5.1f}")
        if r["acked"] != r["stored"]:
            print(f"  !! acknowledged {r['acked']} but stored {r['stored']}: {r['statuses']}")
    if any(r["acked"] > r["stored"] for r in rows):
        sys.exit(1)
