"""Benchmark: a 100,000-row campaign (issue 11) — estimate, creation, and memory while it sends.

1. estimate: the pure screening of the CSV (parse, phones, duplicates, render, segments, cost);
2. create: POST /api/v1/campaigns with the CSV (in-process, SQLite file by default), with a probe
   that calls GET /healthz every 20 ms meanwhile: its worst answer time says whether the web process
   kept serving while the list was stored;
3. send: the campaign goes out to the fake Kolmeya (in-process) at 100,000 a minute, the pacer's
   clock moved by the benchmark (no sleeping); RSS and Python's traced memory are sampled every
   10,000 messages: flat numbers mean the pacer never holds the list in memory.

    .venv/bin/python bench/campaigns.py                      # 100,000 rows on SQLite
    .venv/bin/python bench/campaigns.py --rows 20000 --database-url postgresql+asyncpg://...
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from board import rss_mb  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from atende.db.tables import jobs  # noqa: E402
from atende.domain.campaign_csv import read_csv  # noqa: E402
from atende.domain.campaign_estimate import Estimate, Exclusion, MessageSpec, Screener  # noqa: E402
from tests.support.harness import close_harness, make_harness  # noqa: E402

TEXT = "Olá {{nome}}, sua fatura de {{valor}} vence em {{vencimento}}. Pague pelo app ou responda SAIR."


def make_csv(rows: int) -> str:
    """A realistic list: 1 % duplicates, 0.5 % invalid numbers, 0.5 % rows without {{valor}}."""
    lines = ["nome;telefone;valor;vencimento"]
    for i in range(rows):
        phone = f"(11) 9{i % 10**8:08d}"
        if i % 100 == 99:
            phone = f"(11) 9{(i - 1) % 10**8:08d}"  # the row before's number again
        elif i % 200 == 7:
            phone = "12345"
        valor = "" if i % 200 == 11 else f"R$ {i % 900 + 100},{i % 100:02d}"
        lines.append(f"Cliente {i};{phone};{valor};{(i % 28) + 1:02d}/12")
    return "\n".join(lines) + "\n"


def estimate_only(csv_text: str) -> tuple[float, float, dict[str, Any]]:
    started, cpu = time.perf_counter(), time.process_time()
    _, rows = read_csv(csv_text)
    screener = Screener("sms", MessageSpec(text=TEXT), Decimal("0.08"))
    estimate = Estimate(Decimal("0.08"))
    for row in rows:
        checked = screener.check(row)
        estimate.add(checked if isinstance(checked, Exclusion) else screener.finish(row, checked))
    return time.perf_counter() - started, time.process_time() - cpu, estimate.as_dict()


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def run(rows: int, database_url: str | None) -> None:
    csv_text = make_csv(rows)
    load = os.getloadavg()[0]
    print(f"CSV: {rows:,} rows, {len(csv_text) / 1e6:.1f} MB; load average {load:.1f} on {os.cpu_count()} CPUs "
          "(the CPU-time figures do not depend on it)")
    seconds, cpu_s, est = estimate_only(csv_text)
    print(f"\n| step | figure |\n|---|---|\n| estimate (pure, {rows:,} rows) | {seconds:.2f} s wall, {cpu_s:.2f} s CPU "
          f"({est['recipients']:,} recipients, {est['segments']:,} segments, R$ {est['cost']}) |")

    workdir = Path(tempfile.mkdtemp(prefix="atende-bench-campaigns-"))
    url = database_url or f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    h = await make_harness(url)
    try:
        clock = Clock(datetime.now(UTC) + timedelta(days=1))
        h.rt.clock = clock
        h.kolmeya.state.clock = clock
        h.kolmeya.state.balance = Decimal("1000000")
        h.kolmeya.state.rate_limit = 10**9
        connector = await h.kolmeya_connector(poll_interval_s=0)

        probes: list[float] = []
        creating = True

        async def probe() -> None:
            while creating:
                started = time.perf_counter()
                await h.client.get("/healthz")
                probes.append(time.perf_counter() - started)
                await asyncio.sleep(0.02)

        prober = asyncio.create_task(probe())
        rss_before = rss_mb()
        started, cpu = time.perf_counter(), time.process_time()
        r = await h.client.post("/api/v1/campaigns", json={
            "name": "bench", "connector_id": connector["id"], "text": TEXT, "csv": csv_text,
            "rate_per_minute": 100_000}, headers=h.auth("supervisor"), timeout=600)
        created, created_cpu = time.perf_counter() - started, time.process_time() - cpu
        creating = False
        await prober
        assert r.status_code == 201, r.text
        camp = r.json()
        print(f"| create: POST /api/v1/campaigns ({url.split(':')[0]}) | {created:.2f} s wall, {created_cpu:.2f} s CPU "
              "(with the probe's requests), "
              f"RSS {rss_before:.0f} → {rss_mb():.0f} MB |")
        print(f"| /healthz while creating | {len(probes)} answers, median "
              f"{statistics.median(probes) * 1000:.0f} ms, worst {max(probes) * 1000:.0f} ms |")

        del csv_text
        gc.collect()
        tracemalloc.start()
        await h.post(f"/api/v1/campaigns/{camp['id']}/start", who="supervisor")
        samples: list[tuple[int, float, float]] = []
        total = 0
        started, cpu = time.perf_counter(), time.process_time()
        while True:
            await h.worker.drain()
            total += len(h.kolmeya.state.messages)
            # The fake's own record of what it accepted is not ours to measure: dropped as we go.
            h.kolmeya.state.messages.clear()
            h.kolmeya.state.requests.clear()
            h.kolmeya.state.calls.clear()
            while total >= (len(samples) + 1) * 10_000:
                gc.collect()
                samples.append(((len(samples) + 1) * 10_000, rss_mb(), tracemalloc.get_traced_memory()[0] / 1e6))
            async with h.rt.read() as conn:
                due = await conn.scalar(select(func.min(jobs.c.run_at)).where(
                    jobs.c.status == "pending", jobs.c.kind == "campaign_tick"))
            if due is None:
                break
            clock.now = max(clock.now, due)
        elapsed, sent_cpu = time.perf_counter() - started, time.process_time() - cpu
        tracemalloc.stop()
        got = (await h.get(f"/api/v1/campaigns/{camp['id']}", who="supervisor")).json()
        print(f"| send {got['stats']['sent']:,} at 100,000/min (fake clock, fake Kolmeya in-process) | "
              f"{elapsed:.1f} s wall, {sent_cpu:.1f} s CPU (app and fake), "
              f"{got['stats']['sent'] / elapsed:,.0f} msg/s, status {got['status']} |")
        print("\n| sent | RSS (MB) | traced Python memory (MB) |\n|---|---|---|")
        for n, rss, traced in samples:
            print(f"| {n:,} | {rss:.0f} | {traced:.1f} |")
    finally:
        await close_harness(h)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    asyncio.run(run(args.rows, args.database_url))


if __name__ == "__main__":
    main()
