"""PostgreSQL restarted under load: 503 + Retry-After while it is down, recovery without restarting
atende, and every acknowledged webhook stored. Bounded: a few seconds of in-process requests."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from atende.db.tables import messages
from atende.realtime.sse import stream
from tests.support.harness import Harness, close_harness, make_harness
from tests.support.services import PostgresServer, require, start_postgres


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster of this test's own, to stop and start."""
    server = require(start_postgres)
    yield server
    server.stop()


async def post_reply(h: Harness, path: str, ref: str) -> tuple[int, str | None]:
    body = {"reply": {"id": ref, "reply": f"mensagem {ref}", "received_at": "16/11/2025 14:30:00",
                      "message": {"id": f"m-{ref}", "reference": None, "phone": "5511987654321", "content": "x"}}}
    r = await h.client.post(path, content=json.dumps(body), headers={"Content-Type": "application/json"})
    return r.status_code, r.headers.get("retry-after")


@pytest.mark.postgres
async def test_postgres_restart_under_load(own_postgres: PostgresServer) -> None:
    h = await make_harness(own_postgres.fresh_database("restart"))
    try:
        c = await h.kolmeya_connector()
        path = c["webhook_url"].removeprefix("http://atende.test")
        acked: list[str] = []
        outcomes: Counter[int] = Counter()
        down_answers: list[tuple[int, str | None]] = []
        phase = {"name": "up"}
        stop = asyncio.Event()

        async def load(worker: int) -> None:
            n = 0
            while not stop.is_set():
                ref = f"w{worker}-{n}"
                n += 1
                try:
                    status, retry_after = await post_reply(h, path, ref)
                except Exception as exc:  # an exception here is a 500 the client would see
                    pytest.fail(f"request raised {exc!r}")
                outcomes[status] += 1
                if status == 200:
                    acked.append(ref)
                elif phase["name"] == "down":
                    down_answers.append((status, retry_after))
                await asyncio.sleep(0.01)

        # The same process keeps its worker and its live-update stream across the outage.
        worker_stop = asyncio.Event()
        worker = asyncio.create_task(h.worker.run_forever(worker_stop))
        live = stream(h.rt, None, None)
        assert (await anext(live)).startswith("retry:")
        loaders = [asyncio.create_task(load(i)) for i in range(4)]
        await asyncio.sleep(1.0)
        before = len(acked)
        phase["name"] = "down"
        await asyncio.to_thread(own_postgres.halt)
        await asyncio.sleep(2.0)
        health = await h.client.get("/healthz")
        await asyncio.to_thread(own_postgres.resume)
        phase["name"] = "recovering"
        recovered_at = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # no restart of atende: the pool reconnects by itself
            mark = len(acked)
            await asyncio.sleep(0.5)
            if len(acked) > mark:
                recovered_at = time.monotonic()
                break
        await asyncio.sleep(1.0)
        stop.set()
        await asyncio.gather(*loaders)

        assert before > 0 and recovered_at is not None, outcomes
        assert health.status_code == 503
        assert down_answers, "no request was answered while the database was down"
        assert set(outcomes) <= {200, 503}, outcomes  # never a 500
        assert all(status == 503 and retry_after for status, retry_after in down_answers), down_answers[:5]
        async with h.rt.read() as conn:
            # Kolmeya reply ids are stored with a prefix ("reply:<id>" or the like): compare the ends.
            stored = {str(v).rsplit(":", 1)[-1]
                      for v in (await conn.execute(select(messages.c.provider_message_id))).scalars()}
        missing = [ref for ref in acked if ref not in stored]
        assert not missing, f"{len(missing)} acknowledged webhooks lost, e.g. {missing[:5]}"

        # After the outage, without restarting anything: a send goes out, and live events flow.
        r = await h.post("/api/v1/messages", {"connector_id": c["id"], "to": "+5511987654321", "text": "voltamos"})
        assert r.status_code == 202, r.text
        async with asyncio.timeout(20):
            while True:
                if any(m.text == "voltamos" for m in h.kolmeya.state.sent):
                    break
                await asyncio.sleep(0.05)  # the worker polls on its own schedule
            async for chunk in live:
                if '"text":"voltamos"' in chunk or ("message.created" in chunk and str(r.json()["id"]) in chunk):
                    break
        await live.aclose()
        worker_stop.set()
        await worker
    finally:
        await close_harness(h)
