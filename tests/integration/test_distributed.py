"""Distributed mode for real: two web processes and a worker process on PostgreSQL + Redis.

A webhook taken by one web process is visible from the other, an agent's message sent through
one is carried out by the worker process against the fake Kolmeya (over TCP), and an SSE stream
on the other web process hears it through Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
from collections.abc import AsyncIterator

import httpx
import pytest

from atende.testing.fake_kolmeya import create_fake_kolmeya, serve_fake_kolmeya

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _cli(env: dict[str, str], *args: str) -> str:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", "from atende.cli import main; main()", *args,
                                                env=env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    return out.decode().strip()


@contextlib.asynccontextmanager
async def _serve(env: dict[str, str], *args: str) -> AsyncIterator[asyncio.subprocess.Process]:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", "from atende.cli import main; main()",
                                                "serve", *args, env=env, stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.DEVNULL)
    try:
        yield proc
    finally:
        proc.terminate()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), 10)
        if proc.returncode is None:
            proc.kill()


async def _until(check, limit_s: float = 15.0):  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + limit_s
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)


async def test_two_web_processes_and_a_worker(postgres_url: str, redis_url: str) -> None:
    fake = create_fake_kolmeya(["dist-token"])
    async with serve_fake_kolmeya(fake) as kolmeya_url:
        p1, p2 = _free_port(), _free_port()
        env = {**os.environ, "ATENDE_DATABASE_URL": postgres_url, "ATENDE_REDIS_URL": redis_url,
               "ATENDE_SECRET_KEY": "dist-secret", "ATENDE_PUBLIC_URL": f"http://127.0.0.1:{p1}",
               "ATENDE_AUTO_ASSIGN": "false", "ATENDE_JOB_POLL_S": "0.2",
               "ATENDE_ALLOW_HTTP_LOOPBACK_PROVIDERS": "true"}
        await _cli(env, "migrate")
        await _cli(env, "users", "create", "--email", "sup@example.com", "--password", "s3nha-forte",
                   "--name", "Sup", "--role", "admin")
        token = (await _cli(env, "tokens", "create", "--email", "sup@example.com")).splitlines()[-1]
        auth = {"Authorization": f"Bearer {token}"}
        async with _serve(env, "--role", "web", "--port", str(p1)), _serve(env, "--role", "web", "--port", str(p2)), \
                _serve(env, "--role", "worker"), \
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{p1}", headers=auth, timeout=10) as web1, \
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{p2}", headers=auth, timeout=10) as web2:

            async def up(client: httpx.AsyncClient) -> bool:
                with contextlib.suppress(httpx.TransportError):
                    return (await client.get("/healthz")).status_code == 200
                return False

            await _until(lambda: up(web1))
            await _until(lambda: up(web2))
            r = await web1.post("/api/v1/connectors", json={"name": "SMS", "provider": "kolmeya", "config": {
                "api_token": "dist-token", "base_url": kolmeya_url, "poll_interval_s": 0}})
            assert r.status_code == 201, r.text
            hook = r.json()["webhook_url"].replace(f"127.0.0.1:{p1}", f"127.0.0.1:{p2}")

            # SSE on web2, before anything happens.
            events: list[dict] = []

            async def listen() -> None:
                async with web2.stream("GET", "/api/v1/events", timeout=None) as stream:
                    async for line in stream.aiter_lines():
                        if line.startswith("data: "):
                            events.append(json.loads(line[6:]))

            listener = asyncio.create_task(listen())
            await asyncio.sleep(0.5)

            # A customer's SMS arrives at web2; web1 lists it.
            body = {"reply": {"id": "d1", "reply": "Oi, tudo bem?", "received_at": "16/11/2025 14:30:00",
                              "message": {"id": "x", "reference": None, "phone": "5511977776666", "content": "-"}}}
            assert (await httpx.AsyncClient().post(hook, json=body)).status_code == 200

            async def listed() -> list:
                return list((await web1.get("/api/v1/conversations")).json()["items"])

            conv = (await _until(listed))[0]
            # The agent answers through web1; the worker process sends it; web2's SSE hears every step.
            r = await web1.post(f"/api/v1/conversations/{conv['id']}/messages", json={"text": "Tudo ótimo!"})
            assert r.status_code == 202
            message_id = r.json()["id"]

            async def sent() -> bool:
                items = (await web2.get(f"/api/v1/conversations/{conv['id']}/messages")).json()["items"]
                return any(m["id"] == message_id and m["status"] == "sent" for m in items)

            await _until(sent)
            assert [m.text for m in fake.state.sent] == ["Tudo ótimo!"]

            async def heard() -> bool:
                kinds = {(e["type"], e.get("status")) for e in events}
                return ("message.created", "queued") in kinds and ("message.updated", "sent") in kinds

            await _until(heard)
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
