"""The shared machinery of the webhook ingest benchmarks.

Sets up a fresh SQLite database with one connector, starts `atende serve` in a subprocess,
drives it from a separate load process over loopback (bounded: exactly `requests` requests),
then checks that every acknowledged message is stored, and prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
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


def run(provider: str, config: dict[str, Any], make: MakeRequest, *, requests: int, concurrency: int, phones: int,
        warmup: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="atende-bench-"))
    db = tmp / "bench.db"
    url = f"sqlite+aiosqlite:///{db}"
    path = "/webhooks/" + asyncio.run(create_connector_token(url, provider, config))
    port = free_port()
    env = {**os.environ, "ATENDE_DATABASE_URL": url, "ATENDE_SECRET_KEY": "bench", "ATENDE_LOG_LEVEL": "WARNING",
           "ATENDE_AUTO_ASSIGN": "false", "ATENDE_MEDIA_DIR": str(tmp / "media")}
    server = subprocess.Popen(
        [sys.executable, "-c", "from atende.cli import main; main()", "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError("server did not start: " + (server.stderr.read().decode() if server.stderr else ""))
        if warmup:
            _load(make, port, path, warmup, concurrency, phones, 0)
        # The warm-up used ids 0..warmup-1; the measured run must not repeat them.
        elapsed, latencies, statuses = _load(make, port, path, requests, concurrency, phones, warmup)
        peak = rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(10)
    stored = sqlite3.connect(db).execute("SELECT count(*) FROM messages").fetchone()[0]
    acked = statuses.get(200, 0)
    lat = sorted(latencies)
    return {
        "requests": requests, "concurrency": concurrency, "acked": acked, "stored": stored - warmup,
        "throughput": acked / elapsed, "p50_ms": statistics.median(lat) * 1000,
        "p99_ms": lat[int(len(lat) * 0.99) - 1] * 1000, "rss_mb": peak, "statuses": statuses,
    }


def main(title: str, provider: str, config: dict[str, Any], make: MakeRequest, doc: str | None) -> None:
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[64])
    ap.add_argument("--phones", type=int, default=2000, help="distinct customers in the run")
    ap.add_argument("--warmup", type=int, default=1000)
    args = ap.parse_args()
    rows = [run(provider, config, make, requests=args.requests, concurrency=c, phones=args.phones,
                warmup=args.warmup) for c in args.concurrency]
    print(f"\n{title} on SQLite, one `atende serve` process, {os.cpu_count()}-core machine, "
          f"{args.phones} distinct customers")
    print(f"{'conc':>5} {'requests':>9} {'acked':>7} {'stored':>7} {'msg/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'RSS MB':>7}")
    for r in rows:
        print(f"{r['concurrency']:>5} {r['requests']:>9} {r['acked']:>7} {r['stored']:>7} {r['throughput']:>8.0f} "
              f"{r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} {r['rss_mb']:>7.0f}")
        if r["acked"] != r["stored"]:
            print(f"  !! acknowledged {r['acked']} but stored {r['stored']}: {r['statuses']}")
    if any(r["acked"] > r["stored"] for r in rows):
        sys.exit(1)
