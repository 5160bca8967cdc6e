"""Benchmark: the ChatRoom history import against the fake Odoo (issue 10).

Generates a ChatRoom installation in the fake (default 5,000 conversations and 250,000 messages over
10 connectors, every ttype, an attachment every ~9 messages), imports it into a fresh SQLite database
through the real JSON-RPC client (in-process transport), then runs it again (must add nothing) and
verifies the counts. Prints a table: time, throughput, RSS. Goal: the import under 3 minutes.

    .venv/bin/python bench/chatroom_import.py
    .venv/bin/python bench/chatroom_import.py --conversations 500 --messages 25000
    .venv/bin/python bench/chatroom_import.py --database-url postgresql+asyncpg://…   # an empty database
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import httpx  # noqa: E402

from atende.db.migrate import upgrade  # noqa: E402
from atende.integrations.odoo import chatroom_import as importer  # noqa: E402
from atende.integrations.odoo.client import OdooClient  # noqa: E402
from atende.realtime.bus import MemoryBus  # noqa: E402
from atende.runtime import Runtime  # noqa: E402
from atende.settings import Settings  # noqa: E402
from atende.testing.fake_odoo import create_fake_odoo, populate_chatroom  # noqa: E402
from atende.testing.transport import HostRouter  # noqa: E402


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def main(args: argparse.Namespace) -> int:
    work = Path(tempfile.mkdtemp(prefix="atende-bench-chatroom-"))
    url = args.database_url or f"sqlite+aiosqlite:///{work / 'atende.db'}"
    rows: list[tuple[str, str]] = []
    try:
        t0 = time.perf_counter()
        fake = create_fake_odoo(["odoo"])
        data = populate_chatroom(fake, conversations=args.conversations, messages=args.messages,
                                 attachment_size=args.attachment_size)
        populate_s = time.perf_counter() - t0
        rss_fake = rss_mb()
        router = HostRouter({"odoo.test": fake.app})
        settings = Settings(database_url=url, secret_key="bench", media_dir=work / "media",
                            run_migrations_on_start=False)
        rt = Runtime.create(settings, bus=MemoryBus(), http=httpx.AsyncClient(transport=router, timeout=120))
        try:
            await upgrade(rt.engine)
            client = OdooClient(rt.http, "http://odoo.test", "odoo", "admin@empresa.com.br", data.api_key,
                                timeout=120)
            t1 = time.perf_counter()
            from atende.integrations.odoo.chatroom_cli import PlainProgress

            progress = PlainProgress(sys.stderr, every_s=10) if args.progress else None
            report = await importer.Importer(rt, client, progress=progress).run()
            import_s = time.perf_counter() - t1
            rss_import = rss_mb()
            t2 = time.perf_counter()
            again = await importer.Importer(rt, client).run()
            rerun_s = time.perf_counter() - t2
            t3 = time.perf_counter()
            counts = await importer.verify(rt, client)
            verify_s = time.perf_counter() - t3
        finally:
            await rt.close()
        different = [c for c in counts if c.differences]
        rows += [
            ("database", url.split(":", 1)[0]),
            ("ChatRoom generated", f"{len(data.conversations):,} conversations, {len(data.messages):,} messages, "
                                   f"{len(data.attachments):,} attachments, {len(data.connectors)} connectors"),
            ("generate (fake)", f"{populate_s:.1f} s"),
            ("import", f"{import_s:.1f} s"),
            ("  throughput", f"{report.messages / import_s:,.0f} messages/s overall (conversations, attachments "
                             "and agents included)"),
            ("  imported", f"{report.conversations:,} conv · {report.messages:,} msg · {report.attachments:,} att "
                           f"({report.attachment_bytes / 1_048_576:.1f} MiB) · {report.partners_linked:,} partners"),
            ("  warnings", ", ".join(f"{k}: {v}" for k, v in sorted(report.warnings.items())) or "none"),
            ("second run (adds nothing)", f"{rerun_s:.1f} s, +{again.conversations} conv, +{again.messages} msg"),
            ("verify", f"{verify_s:.1f} s, {'all counts equal' if not different else f'{len(different)} differ'}"),
            ("max RSS after generating", f"{rss_fake:,.0f} MB"),
            ("max RSS after import", f"{rss_import:,.0f} MB"),
            ("goal: import < 180 s", "met" if import_s < 180 else "MISSED"),
        ]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    width = max(len(k) for k, _ in rows)
    print(f"{'ChatRoom import benchmark'.ljust(width)}  result")
    print(f"{'-' * width}  {'-' * 40}")
    for key, value in rows:
        print(f"{key.ljust(width)}  {value}")
    return 0 if not different else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=5000)
    parser.add_argument("--messages", type=int, default=250_000)
    parser.add_argument("--attachment-size", type=int, default=2048)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--progress", action="store_true", help="print progress lines on stderr")
    sys.exit(asyncio.run(main(parser.parse_args())))
