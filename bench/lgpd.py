"""Benchmark: what LGPD costs (issue 15), in-process on SQLite (or PostgreSQL with --database).

Seeds `--customers` contacts with `--per-customer` messages each (bulk Core inserts), an events row
per message, and one titular with `--titular` messages, then measures:
1. export of the titular (ZIP time and size);
2. erasure of the titular: the read step (scans of free-form JSON), the write transaction (the time
   the write lock is held) and the whole call;
3. retention with messages_days = 365 over data 400 days old (every message expires, every event
   goes with the default events_days = 90): total time, messages/s, and the longest single write
   transaction (what a webhook could wait behind);
4. the access log: a conversation read through the API, first open of the hour (one audit write)
   and the repeated opens (one indexed read).

    .venv/bin/python bench/lgpd.py [--customers 2000] [--per-customer 50] [--titular 2000]
    .venv/bin/python bench/lgpd.py --database postgresql+asyncpg://user:pass@host/db
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import sys
import tempfile
import time
from contextlib import asynccontextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select  # noqa: E402

from atende.actions import retention  # noqa: E402
from atende.db import tables as t  # noqa: E402
from atende.db.types import utcnow  # noqa: E402
from atende.privacy import export  # noqa: E402
from atende.web.api.privacy import run_erasure  # noqa: E402
from tests.support.harness import close_harness, make_harness  # noqa: E402

CHUNK = 5_000
TEXTS = ["Olá, tudo bem?", "Quero a segunda via do boleto", "Meu CPF é 529.982.247-25", "Obrigado!",
         "Qual o prazo de entrega?", "Já paguei, obrigado"]


async def seed(h: Any, customers: int, per_customer: int, titular: int) -> tuple[int, int]:
    """Returns (titular contact id, one of the titular's conversation ids)."""
    sms = await h.kolmeya_connector()
    now = utcnow()
    async with h.rt.write() as tx:
        next_msg = 1 + int(await tx.conn.scalar(select(func.coalesce(func.max(t.messages.c.id), 0))) or 0)
        next_evt = 1 + int(await tx.conn.scalar(select(func.coalesce(func.max(t.events.c.id), 0))) or 0)
    sizes = [per_customer] * customers + [titular]
    for base in range(0, len(sizes), CHUNK // max(1, per_customer) or 1):
        contacts, idents, convs, msgs, evts = [], [], [], [], []
        for i in range(base, min(len(sizes), base + (CHUNK // max(1, per_customer) or 1))):
            cid = 10_000 + i
            phone = f"+55119{cid:08d}"
            at0 = now - timedelta(days=400)
            contacts.append({"id": cid, "name": f"Cliente {cid}", "created_at": at0, "updated_at": at0})
            idents.append({"contact_id": cid, "kind": "phone", "value": phone, "attributes": {}, "created_at": at0})
            convs.append({"id": cid, "connector_id": sms["id"], "contact_id": cid, "channel": "sms",
                          "address_key": phone, "address": phone, "status": "done", "last_activity_at": at0,
                          "last_message_preview": TEXTS[0], "created_at": at0})
            for k in range(sizes[i]):
                at = at0 + timedelta(seconds=k)
                msgs.append({"id": next_msg, "conversation_id": cid, "connector_id": sms["id"], "contact_id": cid,
                             "direction": "in" if k % 2 == 0 else "out", "kind": "text",
                             "text": TEXTS[(i + k) % len(TEXTS)], "status": "received" if k % 2 == 0 else "delivered",
                             "provider_message_id": f"bench-{next_msg}", "segments": 1, "encoding": "gsm7",
                             "cost": Decimal("0.08"), "attributes": {}, "raw": {"phone": phone[3:]},
                             "created_at": at, "updated_at": at})
                evts.append({"id": next_evt, "type": "message.created", "conversation_id": cid,
                             "payload": {"id": next_msg, "conversation_id": cid, "preview": TEXTS[0]},
                             "created_at": at})
                next_msg += 1
                next_evt += 1
        async with h.rt.write() as tx:
            await tx.conn.execute(insert(t.contacts), contacts)
            await tx.conn.execute(insert(t.contact_identities), idents)
            await tx.conn.execute(insert(t.conversations), convs)
            for start in range(0, len(msgs), CHUNK):
                await tx.conn.execute(insert(t.messages), msgs[start:start + CHUNK])
                await tx.conn.execute(insert(t.events), evts[start:start + CHUNK])
    last = 10_000 + len(sizes) - 1
    return last, last


class TimedWrites:
    """Wraps rt.write to record how long each write transaction held the lock."""

    def __init__(self, rt: Any) -> None:
        self.rt = rt
        self.original = rt.write
        self.durations: list[float] = []

    @asynccontextmanager
    async def _timed(self) -> Any:
        start = time.perf_counter()
        async with self.original() as tx:
            yield tx
        self.durations.append((time.perf_counter() - start) * 1000)

    def __enter__(self) -> TimedWrites:
        self.rt.write = self._timed
        return self

    def __exit__(self, *exc: object) -> None:
        self.rt.write = self.original


async def main(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="atende-bench-lgpd-"))
    url = args.database or f"sqlite+aiosqlite:///{workdir / 'b.db'}"
    h = await make_harness(url)
    try:
        started = time.perf_counter()
        titular, conv = await seed(h, args.customers, args.per_customer, args.titular)
        total = args.customers * args.per_customer + args.titular
        print(f"\nseeded {args.customers + 1} contacts, {total} messages, {total} events in "
              f"{time.perf_counter() - started:.1f} s on {h.rt.engine.dialect.name}")

        rows: list[tuple[str, str]] = []
        start = time.perf_counter()
        buf = io.BytesIO()
        summary = await export.write_zip(h.rt, titular, buf)
        rows.append(("export (titular)", f"{(time.perf_counter() - start) * 1000:.0f} ms, "
                                         f"{summary['messages']} messages, {len(buf.getvalue()) // 1024} KiB"))

        with TimedWrites(h.rt) as timed:
            start = time.perf_counter()
            async with h.rt.read() as c:
                from atende.actions import erasure

                await erasure.plan(c, titular)
            plan_ms = (time.perf_counter() - start) * 1000
            start = time.perf_counter()
            result = await run_erasure(h.rt, titular, reason="bench", actor_id=None, ip=None, request_id=None)
            total_ms = (time.perf_counter() - start) * 1000
        rows.append(("erasure: read step (scans)", f"{plan_ms:.0f} ms"))
        rows.append(("erasure: write transaction (lock held)", f"{max(timed.durations):.0f} ms "
                                                               f"for {result.messages} messages"))
        rows.append(("erasure: whole call", f"{total_ms:.0f} ms"))

        r = await h.client.put("/api/v1/retention", json={"messages_days": 365}, headers=h.auth())
        assert r.status_code == 200, r.text
        with TimedWrites(h.rt) as timed:
            start = time.perf_counter()
            report = await retention.run(h.rt)
            elapsed = time.perf_counter() - start
        rows.append(("retention: messages expired", f"{report.messages} in {elapsed:.1f} s "
                                                    f"({report.messages / max(elapsed, 1e-9):.0f}/s)"))
        spans = timed.durations or [0.0]
        rows.append(("retention: longest write transaction",
                     f"{max(spans):.0f} ms (p50 {statistics.median(spans):.0f} ms, "
                     f"{len(timed.durations)} transactions)"))

        other = conv - 1
        first, repeat = [], []
        for _ in range(args.opens):
            async with h.rt.write() as tx:
                await tx.conn.execute(t.access_marks.delete())
            start = time.perf_counter()
            await h.get(f"/api/v1/conversations/{other}", who="ana")
            first.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            await h.get(f"/api/v1/conversations/{other}", who="ana")
            repeat.append((time.perf_counter() - start) * 1000)
        rows.append(("GET conversation, first open of the hour", f"p50 {statistics.median(first):.1f} ms"))
        rows.append(("GET conversation, opened again", f"p50 {statistics.median(repeat):.1f} ms"))

        print("\n| measure | result |\n|---|---|")
        for label, value in rows:
            print(f"| {label} | {value} |")
    finally:
        await close_harness(h)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--per-customer", type=int, default=50)
    parser.add_argument("--titular", type=int, default=2000)
    parser.add_argument("--opens", type=int, default=30)
    parser.add_argument("--database", default=None, help="a PostgreSQL URL (default: a temporary SQLite file)")
    asyncio.run(main(parser.parse_args()))
