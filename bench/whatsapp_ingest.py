"""Benchmark: acknowledged, signed WhatsApp Cloud webhooks per second on SQLite (issue 3).

Starts `atende serve` in a subprocess on a fresh SQLite file with one WhatsApp Cloud connector,
posts unique text messages from a separate load process over loopback — each body encoded the way
Meta encodes it (escaped unicode) and signed with `X-Hub-Signature-256` over those exact bytes —
then checks that every acknowledged message is stored.

    .venv/bin/python bench/whatsapp_ingest.py --requests 20000 --concurrency 64
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _load import http_post, run_load

APP_SECRET = "bench-app-secret"
PHONE_NUMBER_ID = "106540352242922"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _setup(db_url: str) -> str:
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
        cid = await create_connector(tx, rt.secrets, name="bench", provider="whatsapp_cloud", config={
            "access_token": "t", "phone_number_id": PHONE_NUMBER_ID, "app_secret": APP_SECRET,
            "verify_token": "v", "base_url": "http://127.0.0.1:9"})
    async with rt.read() as conn:
        token = await conn.scalar(select(connectors.c.webhook_token).where(connectors.c.id == cid))
    await rt.close()
    return str(token)


def _request(path: str, host: str, i: int, phones: int) -> bytes:
    from atende.channels.meta.signature import sign
    from atende.testing.fake_graph import build_message_webhook, contact_entry, encode, text_message

    wa_id = str(5511900000000 + (i % phones))
    payload = build_message_webhook(
        [text_message(wa_id, f"Olá, mensagem {i} do cliente — está disponível?", wamid=f"wamid.bench-{i}")],
        [contact_entry(wa_id, f"Cliente {i % phones}")], phone_number_id=PHONE_NUMBER_ID)
    raw = encode(payload)  # escaped unicode, as Meta sends it; the signature covers these bytes
    return http_post(path, raw, host, f"X-Hub-Signature-256: {sign(raw, APP_SECRET)}\r\n")


def _load_process(port: int, path: str, total: int, concurrency: int, phones: int, out: mp.Queue,
                  offset: int) -> None:
    host = f"127.0.0.1:{port}"

    def make(i: int) -> bytes:
        return _request(path, host, i + offset, phones)

    elapsed, latencies, statuses = asyncio.run(run_load("127.0.0.1", port, make, total=total,
                                                        concurrency=concurrency))
    out.put((elapsed, latencies, statuses))


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def run(requests: int, concurrency: int, phones: int, warmup: int) -> dict[str, object]:
    tmp = tempfile.mkdtemp(prefix="atende-bench-wa-")
    db = Path(tmp) / "bench.db"
    url = f"sqlite+aiosqlite:///{db}"
    token = asyncio.run(_setup(url))
    port = free_port()
    env = {**os.environ, "ATENDE_DATABASE_URL": url, "ATENDE_SECRET_KEY": "bench", "ATENDE_LOG_LEVEL": "WARNING",
           "ATENDE_AUTO_ASSIGN": "false", "ATENDE_MEDIA_DIR": str(Path(tmp) / "media")}
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
        path = f"/webhooks/{token}"
        q: mp.Queue = mp.Queue()
        if warmup:
            p = mp.Process(target=_load_process, args=(port, path, warmup, concurrency, phones, q, 0))
            p.start()
            q.get()
            p.join()
        # The warm-up used ids 0..warmup-1; the measured run must not repeat them.
        p = mp.Process(target=_load_process, args=(port, path, requests, concurrency, phones, q, warmup))
        p.start()
        elapsed, latencies, statuses = q.get()
        p.join()
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[64])
    ap.add_argument("--phones", type=int, default=2000, help="distinct customers in the run")
    ap.add_argument("--warmup", type=int, default=1000)
    args = ap.parse_args()
    rows = [run(args.requests, c, args.phones, args.warmup) for c in args.concurrency]
    print("\nInbound signed WhatsApp Cloud webhooks on SQLite, one `atende serve` process, "
          f"{os.cpu_count()}-core machine")
    print(f"{'conc':>5} {'requests':>9} {'acked':>7} {'stored':>7} {'msg/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'RSS MB':>7}")
    for r in rows:
        print(f"{r['concurrency']:>5} {r['requests']:>9} {r['acked']:>7} {r['stored']:>7} {r['throughput']:>8.0f} "
              f"{r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} {r['rss_mb']:>7.0f}")
        if r["acked"] != r["stored"]:
            print(f"  !! acknowledged {r['acked']} but stored {r['stored']}: {r['statuses']}")
    if any(r["acked"] > r["stored"] for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
