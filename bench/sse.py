"""Benchmark: live updates (issue 12): idle-stream memory and webhook → SSE latency under fan-out.

Starts `atende serve` (one process, SQLite by default) and, from a separate client process over
loopback:
1. opens `--idle` event streams that only read, and reports how much the server's RSS grew;
2. opens `--readers` more streams, sends Kolmeya reply webhooks at `--rate` msg/s for `--seconds`,
   and measures, on every reading stream, the time from sending a webhook to receiving its
   `message.created` event (p50/p99), counting events never delivered.
Bounded: a fixed number of requests to one loopback address; the script stops by itself.

    .venv/bin/python bench/sse.py                                   # 1,000 idle + 50 readers, 50 msg/s, 20 s
    .venv/bin/python bench/sse.py --idle 200 --readers 10 --seconds 5
Goals: 1,000 idle streams add < 60 MB; p99 < 100 ms at 50 msg/s with 50 reading + 1,000 idle streams.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _webhooks import create_connector_token, free_port  # noqa: E402

TEXT = re.compile(r"mensagem (\d+) do cliente")


async def make_token(db_url: str) -> str:
    from atende.actions import users as user_actions
    from atende.realtime.bus import MemoryBus
    from atende.runtime import Runtime
    from atende.settings import Settings

    rt = Runtime.create(Settings(database_url=db_url, secret_key="bench"), bus=MemoryBus())
    async with rt.write() as tx:
        uid = await user_actions.create_user(tx, email="bench@example.com", password="s3nha-forte-bench",
                                             name="Bench", role="admin")
        token = await user_actions.create_api_token(tx, uid, "bench")
    await rt.close()
    return token


def cpu_s(pid: int) -> float:
    """User + system CPU seconds the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def open_stream(port: int, token: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
                 "Accept: text/event-stream\r\n\r\n".encode())
    await writer.drain()
    status = await reader.readline()
    if b" 200 " not in status:
        raise RuntimeError(f"stream refused: {status!r}")
    while (await reader.readline()) not in (b"\r\n", b""):
        pass
    return reader, writer


async def discard(reader: asyncio.StreamReader) -> None:
    while await reader.read(65536):
        pass


async def collect(reader: asyncio.StreamReader, arrivals: dict[int, float]) -> None:
    """Record when each `message.created` event of the run arrives (chunked body, parsed loosely)."""
    while line := await reader.readline():
        if line.startswith(b"data:") and b"message.created" in line:
            match = TEXT.search(json.loads(line[5:]).get("preview", ""))
            if match:
                arrivals.setdefault(int(match.group(1)), time.perf_counter())


def kolmeya_reply(path: str, port: int, i: int) -> bytes:
    body = json.dumps({"reply": {"id": f"sse-{i}", "reply": f"mensagem {i} do cliente",
                                 "received_at": "16/11/2025 14:30:00",
                                 "message": {"id": f"m-{i}", "reference": None,
                                             "phone": str(5511900000000 + i % 500), "content": "x"}}}).encode()
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


async def send_at_rate(port: int, path: str, rate: float, seconds: float, sent: dict[int, float]) -> int:
    """Send `rate * seconds` webhooks on schedule, over a few keep-alive connections; returns 2xx count."""
    total = int(rate * seconds)
    conns = [await asyncio.open_connection("127.0.0.1", port) for _ in range(8)]
    free: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for c in conns:
        free.put_nowait(c)
    ok = 0

    async def one(i: int) -> None:
        nonlocal ok
        reader, writer = await free.get()
        sent[i] = time.perf_counter()
        writer.write(kolmeya_reply(path, port, i))
        await writer.drain()
        status = await reader.readline()
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        ok += status.split()[1].startswith(b"2")
        free.put_nowait((reader, writer))

    start = time.perf_counter()
    tasks = []
    for i in range(total):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    for _, writer in conns:
        writer.close()
    return ok


async def client(port: int, path: str, token: str, server_pid: int, idle: int, readers: int, rate: float,
                 seconds: float) -> dict[str, Any]:
    base = rss_mb(server_pid)
    idle_streams = []
    for _ in range(idle):
        idle_streams.append(await open_stream(port, token))
    drains = [asyncio.create_task(discard(r)) for r, _ in idle_streams]
    await asyncio.sleep(2)  # let the server settle (tasks, buffers)
    with_idle = rss_mb(server_pid)
    arrivals = [dict[int, float]() for _ in range(readers)]
    reading = [await open_stream(port, token) for _ in range(readers)]
    collectors = [asyncio.create_task(collect(r, a)) for (r, _), a in zip(reading, arrivals, strict=True)]
    sent: dict[int, float] = {}
    cpu0, own0, t0 = cpu_s(server_pid), cpu_s(os.getpid()), time.perf_counter()
    ok = await send_at_rate(port, path, rate, seconds, sent)
    server_cpu = (cpu_s(server_pid) - cpu0) / (time.perf_counter() - t0)
    client_cpu = (cpu_s(os.getpid()) - own0) / (time.perf_counter() - t0)
    await asyncio.sleep(3)  # the last events in flight
    peak = rss_mb(server_pid)
    latencies = sorted((a[i] - sent[i]) * 1000 for a in arrivals for i in a if i in sent)
    expected = len(sent) * readers
    for task in [*drains, *collectors]:
        task.cancel()
    for _, writer in [*idle_streams, *reading]:
        writer.close()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else float("nan")

    return {"idle": idle, "readers": readers, "rate": rate, "sent": len(sent), "acked": ok,
            "idle_mb": with_idle - base, "base_mb": base, "peak_mb": peak,
            "p50_ms": pct(0.5), "p99_ms": pct(0.99), "missed": expected - len(latencies),
            "server_cpu": server_cpu, "client_cpu": client_cpu}


def _client_process(args: tuple[Any, ...], out: mp.Queue) -> None:
    out.put(asyncio.run(client(*args)))


def run(idle: int, readers: int, rate: float, seconds: float, database_url: str | None = None) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="atende-bench-sse-"))
    url = database_url or f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    path = "/webhooks/" + asyncio.run(create_connector_token(
        url, "kolmeya", {"api_token": "t", "base_url": "http://127.0.0.1:9/api/v1", "poll_interval_s": 0}))
    token = asyncio.run(make_token(url))
    port = free_port()
    env = {**os.environ, "ATENDE_DATABASE_URL": url, "ATENDE_SECRET_KEY": "bench", "ATENDE_LOG_LEVEL": "WARNING",
           "ATENDE_AUTO_ASSIGN": "false", "ATENDE_MEDIA_DIR": str(tmp / "media")}
    profile = os.environ.get("BENCH_PROFILE")  # a path: record the server with py-spy (collapsed stacks)
    prefix = [str(Path(sys.executable).parent / "py-spy"), "record", "--nonblocking", "-r", "200", "-f", "raw",
              "-o", profile, "--"] if profile else []
    server = subprocess.Popen([*prefix, sys.executable, "-c", "from atende.cli import main; main()", "serve", "--port",
                               str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError("server did not start")
        q: mp.Queue = mp.Queue()
        p = mp.Process(target=_client_process, args=((port, path, token, server.pid, idle, readers, rate,
                                                      seconds), q))
        p.start()
        result: dict[str, Any] = q.get()
        p.join()
        return result
    finally:
        server.send_signal(2) if profile else server.terminate()
        server.wait(30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--idle", type=int, default=1000)
    ap.add_argument("--readers", type=int, default=50)
    ap.add_argument("--rate", type=float, default=50.0, help="webhooks per second")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--json", action="store_true", help="print one JSON line (for bench/run_all.py)")
    args = ap.parse_args()
    r = run(args.idle, args.readers, args.rate, args.seconds)
    if args.json:
        print(json.dumps(r))
        return
    print(f"\nLive updates, SQLite, one `atende serve`, {os.cpu_count()}-core machine")
    print(f"{'idle':>5} {'readers':>7} {'msg/s':>6} {'sent':>5} {'acked':>5} {'idle MB':>8} {'p50 ms':>7} "
          f"{'p99 ms':>7} {'missed':>6} {'RSS MB':>7} {'server CPU':>10} {'client CPU':>10}")
    print(f"{r['idle']:>5} {r['readers']:>7} {r['rate']:>6.0f} {r['sent']:>5} {r['acked']:>5} {r['idle_mb']:>8.1f} "
          f"{r['p50_ms']:>7.1f} {r['p99_ms']:>7.1f} {r['missed']:>6} {r['peak_mb']:>7.0f} "
          f"{r['server_cpu']:>10.0%} {r['client_cpu']:>10.0%}")


if __name__ == "__main__":
    main()
