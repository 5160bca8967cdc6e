"""Benchmark: the security hardening's costs and effects (issue 7), in-process on SQLite.

1. Login timing: an unknown e-mail, a wrong password and a right one must cost about the same
   (the unknown e-mail is verified against a dummy hash); before, it answered ~100x faster.
2. A Kolmeya status batch naming 3,000 unknown messages (the 1.6 MB webhook of the issue): time to
   answer, rows parked and jobs created (before: 3,000 retrying jobs).

    .venv/bin/python bench/security.py [--logins 20] [--statuses 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from atende.db.tables import jobs, parked_statuses  # noqa: E402
from tests.support.harness import APP_HOST, close_harness, make_harness  # noqa: E402


async def _login_ms(app: object, email: str, password: str) -> float:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{APP_HOST}") as c:  # type: ignore[arg-type]
        page = await c.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        start = time.perf_counter()
        await c.post("/login", data={"email": email, "password": password, "csrf_token": token.group(1)})
        return (time.perf_counter() - start) * 1000


async def main(logins: int, statuses: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="atende-bench-sec-"))
    h = await make_harness(f"sqlite+aiosqlite:///{workdir / 'b.db'}", login_attempts_per_minute=10**6,
                           login_attempts_per_ip_per_minute=10**6, webhook_max_items=10**6)
    try:
        rows = []
        for label, email, password in (("unknown e-mail", "nobody@example.com", "x" * 12),
                                       ("wrong password", "ana@example.com", "x" * 12),
                                       ("right password", "ana@example.com", "s3nha-forte")):
            times = [await _login_ms(h.app, email, password) for _ in range(logins)]
            rows.append((label, statistics.median(times), sorted(times)[int(len(times) * 0.95) - 1]))
        print(f"\nLogin (n={logins} each)\n| case | p50 ms | p95 ms |\n|---|---|---|")
        for label, p50, p95 in rows:
            print(f"| {label} | {p50:.1f} | {p95:.1f} |")

        c = await h.kolmeya_connector()
        body = {"id": "req-flood", "reference": None, "messages": [
            {"id": f"00000000-0000-0000-0000-{i:012d}", "reference": f"r{i:020d}", "status_code": 3,
             "status": "entregue"} for i in range(statuses)]}
        path = "/webhooks/" + c["webhook_url"].rsplit("/", 1)[1]
        start = time.perf_counter()
        r = await h.client.post(path, json=body)
        elapsed = (time.perf_counter() - start) * 1000
        async with h.rt.read() as conn:
            parked = await conn.scalar(select(func.count()).select_from(parked_statuses))
            created = await conn.scalar(select(func.count()).select_from(jobs).where(jobs.c.status == "pending"))
        size = len(httpx.Request("POST", "http://x", json=body).content)
        print("\nUnknown-status batch\n| statuses | body bytes | HTTP | answer ms | parked rows | pending jobs |\n"
              "|---|---|---|---|---|---|")
        print(f"| {statuses} | {size} | {r.status_code} | {elapsed:.0f} | {parked} | {created} |")
    finally:
        await close_harness(h)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--logins", type=int, default=20)
    parser.add_argument("--statuses", type=int, default=3000)
    args = parser.parse_args()
    asyncio.run(main(args.logins, args.statuses))
