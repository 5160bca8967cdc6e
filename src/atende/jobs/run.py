"""A worker-only process (`atende serve --role worker`)."""

from __future__ import annotations

import asyncio
import signal

from atende.db.migrate import upgrade
from atende.jobs.handlers import DEAD_HOOKS, HANDLERS, ensure_periodic
from atende.jobs.worker import Worker
from atende.runtime import Runtime
from atende.settings import Settings


async def run_worker(settings: Settings) -> None:
    from atende.logs import configure_logging

    configure_logging(settings.log_level, settings.log_format)
    rt = Runtime.create(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        if settings.run_migrations_on_start:
            await upgrade(rt.engine, secret_key=settings.resolved_secret_key())
        await rt.bus.start()
        rt.watch_connectors()
        await ensure_periodic(rt)
        await Worker(rt, HANDLERS, dead_hooks=DEAD_HOOKS).run_forever(stop)
    finally:
        await rt.close()
