"""Crashes: a worker killed mid-send sends once per reference; an acknowledged webhook survives kill -9."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from atende.actions import outbound
from atende.db.tables import jobs
from atende.db.types import utcnow
from atende.jobs import handlers
from atende.jobs.worker import Worker
from atende.secrets import SecretBox
from tests.support.harness import Harness


class _Killed(BaseException):
    """Stands for the process dying: nothing after it runs, no except clause catches it."""


async def _claim_send(h: Harness) -> object:
    claimed = await Worker(h.rt, handlers.HANDLERS, name="dying").claim(50)
    return next(j for j in claimed if j.kind == "send_message")


async def _crash_during(h: Harness, monkeypatch: pytest.MonkeyPatch, target: str) -> int:
    c = await h.kolmeya_connector()
    body = {"connector_id": c["id"], "to": "+5548991910234", "text": "Seu pedido saiu"}
    r = await h.post("/api/v1/messages", body)
    message_id = r.json()["id"]
    job = await _claim_send(h)

    async def killed(*args: object, **kwargs: object) -> None:
        raise _Killed

    with monkeypatch.context() as m:
        m.setattr(target, killed)
        with pytest.raises(_Killed):
            await handlers.send_message(h.rt, job)
    async with h.rt.write() as tx:  # the dead worker's lease runs out
        await tx.conn.execute(update(jobs).values(lease_until=utcnow() - timedelta(seconds=1)))
    survivor = Worker(h.rt, handlers.HANDLERS, name="survivor")
    assert await survivor.drain() >= 1
    return int(message_id)


async def test_killed_after_provider_accepted_is_not_sent_twice(
    harness: Harness, monkeypatch: pytest.MonkeyPatch,
) -> None:
    message_id = await _crash_during(harness, monkeypatch, "atende.actions.outbound.record_send_result")
    sent = harness.kolmeya.state.sent
    async with harness.rt.read() as conn:
        from sqlalchemy import select

        from atende.db.tables import messages

        reference = await conn.scalar(select(messages.c.reference).where(messages.c.id == message_id))
    assert len(sent) == 1 and sent[0].reference == reference  # find_sent asked by the same opaque reference
    conv_id = (await harness.get("/api/v1/conversations")).json()["items"][0]["id"]
    m = (await harness.get(f"/api/v1/conversations/{conv_id}/messages")).json()["items"][0]
    assert m["status"] == "sent" and m["provider_message_id"] == sent[0].id


async def test_killed_before_provider_call_still_sends_once(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    h = harness
    original = outbound.mark_sending

    async def mark_then_die(tx, message_id):  # type: ignore[no-untyped-def]
        await original(tx, message_id)
        raise _Killed

    c = await h.kolmeya_connector()
    await h.post("/api/v1/messages", {"connector_id": c["id"], "to": "+5548991910234", "text": "Oi"})
    job = await _claim_send(h)
    with monkeypatch.context() as m:
        m.setattr(outbound, "mark_sending", mark_then_die)
        with pytest.raises(_Killed):
            await handlers.send_message(h.rt, job)
    async with h.rt.write() as tx:
        await tx.conn.execute(update(jobs).values(lease_until=utcnow() - timedelta(seconds=1)))
    await Worker(h.rt, handlers.HANDLERS, name="survivor").drain()
    assert len(h.kolmeya.state.sent) == 1
    await Worker(h.rt, handlers.HANDLERS, name="again").drain()  # nothing left to send
    assert len(h.kolmeya.state.sent) == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_acknowledged_webhooks_survive_kill_9(tmp_path: Path) -> None:
    """Run the real server, acknowledge webhooks, SIGKILL it mid-stream: every 200 is on disk."""
    db = tmp_path / "crash.db"
    url = f"sqlite+aiosqlite:///{db}"
    env = {**os.environ, "ATENDE_DATABASE_URL": url, "ATENDE_SECRET_KEY": "crash-test",
           "ATENDE_AUTO_ASSIGN": "false", "ATENDE_ALLOW_HTTP_LOOPBACK_PROVIDERS": "true"}
    setup = ("import asyncio\nfrom atende.cli import _with_runtime\n"
             "from atende.actions.connectors import create_connector\n"
             "async def mk(rt):\n    async with rt.write() as tx:\n"
             "        await create_connector(tx, rt.secrets, name='k', provider='kolmeya', config={'api_token': 't', "
             "'base_url': 'http://127.0.0.1:9/api/v1', 'poll_interval_s': 0})\n"
             "asyncio.run(_with_runtime(mk))\n")
    await asyncio.to_thread(subprocess.run, [sys.executable, "-c", setup], env=env, check=True, timeout=60)
    sealed = sqlite3.connect(db).execute("SELECT webhook_token_encrypted FROM connectors").fetchone()[0]
    token = SecretBox("crash-test").decrypt_text(sealed)
    port = _free_port()
    command = [sys.executable, "-c", "from atende.cli import main; main()", "serve", "--port", str(port)]
    # Started, never waited on from the event loop.
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: ASYNC220
    acked: list[str] = []
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            for _ in range(100):
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)

            async def post(i: int) -> None:
                body = {"reply": {"id": f"c{i}", "reply": f"msg {i}", "received_at": "16/11/2025 14:30:00",
                                  "message": {"id": f"m{i}", "reference": None, "phone": f"55119{i:08d}",
                                              "content": "x"}}}
                try:
                    r = await client.post(f"/webhooks/{token}", content=json.dumps(body))
                except httpx.TransportError:
                    return
                if r.status_code == 200:
                    acked.append(f"reply:c{i}")

            tasks = [asyncio.create_task(post(i)) for i in range(400)]
            while len(acked) < 150:  # noqa: ASYNC110 - polling a plain list the posts fill
                await asyncio.sleep(0.005)
            os.kill(server.pid, signal.SIGKILL)
            await asyncio.gather(*tasks)
    finally:
        server.kill()
        server.wait(10)
    stored = {r[0] for r in sqlite3.connect(db).execute("SELECT provider_message_id FROM messages")}
    assert len(acked) >= 150
    assert set(acked) <= stored, f"{len(set(acked) - stored)} acknowledged messages lost"
