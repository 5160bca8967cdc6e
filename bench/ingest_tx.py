"""Benchmark: the ingest transaction alone (no HTTP), CPU per message on SQLite's group-commit path.

Parses unique Kolmeya reply webhooks (or signed WhatsApp ones) up front, then runs them through the
group committer's writer-thread path in batches, single-threaded, so the figure is the CPU one message
costs the database layer and the actions. `--profile` prints the top cProfile entries.

    .venv/bin/python bench/ingest_tx.py --messages 20000 --batch 64 [--provider whatsapp_cloud] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _webhooks import create_connector_token
from whatsapp_ingest import APP_SECRET, PHONE_NUMBER_ID

CONFIGS: dict[str, dict[str, Any]] = {
    "kolmeya": {"api_token": "t", "base_url": "http://127.0.0.1:9/api/v1", "poll_interval_s": 0},
    "whatsapp_cloud": {"access_token": "t", "phone_number_id": PHONE_NUMBER_ID, "app_secret": APP_SECRET,
                       "verify_token": "v", "base_url": "http://127.0.0.1:9"},
}


def body(provider: str, i: int, phones: int) -> tuple[bytes, dict[str, str]]:
    if provider == "kolmeya":
        return json.dumps({"reply": {"id": f"bench-{i}", "reply": f"mensagem {i} do cliente",
                                     "received_at": "16/11/2025 14:30:00",
                                     "message": {"id": f"m-{i}", "reference": None,
                                                 "phone": str(5511900000000 + i % phones), "content": "x"}}}
                          ).encode(), {"content-type": "application/json"}
    from atende.channels.meta.signature import sign
    from atende.testing.fake_graph import build_message_webhook, contact_entry, encode, text_message

    wa_id = str(5511900000000 + (i % phones))
    raw = encode(build_message_webhook(
        [text_message(wa_id, f"Olá, mensagem {i} do cliente — está disponível?", wamid=f"wamid.bench-{i}")],
        [contact_entry(wa_id, f"Cliente {i % phones}")], phone_number_id=PHONE_NUMBER_ID))
    return raw, {"content-type": "application/json", "x-hub-signature-256": sign(raw, APP_SECRET)}


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--provider", choices=tuple(CONFIGS), default="kolmeya")
    ap.add_argument("--messages", type=int, default=20000)
    ap.add_argument("--phones", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=64, help="webhooks per group commit")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from atende.actions.ingest import ingest_batch
    from atende.channels.base import WebhookRequest
    from atende.jobs.common import connector_info
    from atende.realtime.bus import MemoryBus
    from atende.runtime import Runtime
    from atende.settings import Settings

    tmp = Path(tempfile.mkdtemp(prefix="atende-bench-tx-"))
    url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    token = await create_connector_token(url, args.provider, CONFIGS[args.provider])
    rt = Runtime.create(Settings(database_url=url, secret_key="bench", auto_assign=False), bus=MemoryBus())
    loaded = await rt.connector_by_token(token)
    assert loaded is not None
    info = connector_info(loaded, auto_assign=False)

    def batches(start: int, count: int) -> list[list[Any]]:
        parsed = []
        for i in range(start, start + count):
            raw, headers = body(args.provider, i, args.phones)
            parsed.append(loaded.provider.parse_webhook(WebhookRequest("POST", raw, headers, {})))
        return [parsed[j:j + args.batch] for j in range(0, len(parsed), args.batch)]

    def work_of(batch: Any) -> Any:
        async def work(tx: Any) -> int:
            return len((await ingest_batch(tx, info, batch)).stored)
        return work

    committer = rt.committer
    # Warm-up: every customer's conversation exists, as in a steady state (the HTTP benchmarks mix in
    # new conversations from their own warm-up).
    for group in batches(0, args.phones):
        committer._run_batch_sync([work_of(b) for b in group])
    groups = batches(args.phones, args.messages)
    profiler = cProfile.Profile() if args.profile else None
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    stored = 0
    for group in groups:
        results, _ = committer._run_batch_sync([work_of(b) for b in group])
        stored += sum(results)
    if profiler:
        profiler.disable()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    await rt.close()
    shutil.rmtree(tmp, ignore_errors=True)
    row = {"provider": args.provider, "messages": args.messages, "stored": stored, "batch": args.batch,
           "cpu_us_per_msg": cpu / args.messages * 1e6, "msg_per_s": args.messages / wall}
    if args.json:
        print(json.dumps(row))
    else:
        print(f"\nIngest transaction alone ({args.provider}, SQLite group-commit path, batches of {args.batch}, "
              f"existing conversations): {stored}/{args.messages} stored, {row['cpu_us_per_msg']:.0f} µs CPU per "
              f"message, {row['msg_per_s']:.0f} msg/s on one thread")
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    asyncio.run(main())
