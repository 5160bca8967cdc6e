"""Helpers of the WhatsApp integration tests (engine + fake Graph API, through HTTP)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx
from sqlalchemy import func, select, update

from atende.db.tables import jobs, messages
from atende.db.types import utcnow
from atende.testing.fake_graph import encode
from tests.support.harness import APP_HOST, Harness

WA = "5511987654321"  # a Brazilian customer, 13 digits (with the 9th digit)
WA_12 = "551187654321"  # the same subscriber as a pre-9th-digit WhatsApp account
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
PDF = b"%PDF-1.4\n% comprovante\n" + b"0" * 2048
# Jobs the tests wait for (route / apply_status_later have their own timing).
WORK = ("send_message", "fetch_media", "mark_read", "provider_event")


def webhook_path(connector: Mapping[str, Any]) -> str:
    return str(connector["webhook_url"]).removeprefix(f"http://{APP_HOST}")


async def post_webhook(h: Harness, connector: Mapping[str, Any], payload: Mapping[str, Any] | bytes,
                       headers: Mapping[str, str] | None = None, *, signed: bool = True) -> httpx.Response:
    """POST a webhook the way Meta does (escaped-unicode bytes, signed over exactly those bytes)."""
    raw = payload if isinstance(payload, bytes) else encode(payload)
    sent = dict(h.graph.signed_headers(raw)) if signed else {"Content-Type": "application/json"}
    sent.update(headers or {})
    return await h.client.post(webhook_path(connector), content=raw, headers=sent)


async def inbound(h: Harness, connector: Mapping[str, Any], from_: str = WA, body: str = "Oi, tudo bem?",
                  **kwargs: Any) -> dict[str, Any]:
    """A customer's text arrives; returns the stored message (from the API)."""
    payload = h.graph.inbound_text(from_, body, **kwargs)
    wamid = payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    r = await post_webhook(h, connector, payload)
    assert r.status_code == 200, r.text
    return await message_by_wamid(h, wamid)


async def message_by_wamid(h: Harness, wamid: str) -> dict[str, Any]:
    async with h.rt.read() as conn:
        message_id = await conn.scalar(select(messages.c.id).where(messages.c.provider_message_id == wamid))
    assert message_id is not None, f"{wamid} not stored"
    return await message(h, int(message_id))


async def message(h: Harness, message_id: int) -> dict[str, Any]:
    async with h.rt.read() as conn:
        conv_id = await conn.scalar(select(messages.c.conversation_id).where(messages.c.id == message_id))
    items = await thread(h, int(conv_id))
    return next(m for m in items if m["id"] == message_id)


async def thread(h: Harness, conversation_id: int) -> list[dict[str, Any]]:
    r = await h.get(f"/api/v1/conversations/{conversation_id}/messages", params={"limit": 200})
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


async def conversation(h: Harness, conversation_id: int) -> dict[str, Any]:
    r = await h.get(f"/api/v1/conversations/{conversation_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


async def reply(h: Harness, conversation_id: int, text: str, who: str = "admin", **extra: Any) -> dict[str, Any]:
    r = await h.post(f"/api/v1/conversations/{conversation_id}/messages", {"text": text, **extra}, who=who)
    assert r.status_code == 202, r.text
    return dict(r.json())


async def pending_work(h: Harness) -> int:
    async with h.rt.read() as conn:
        n = await conn.scalar(select(func.count()).select_from(jobs).where(
            jobs.c.kind.in_(WORK), jobs.c.status.in_(("pending", "running"))))
    return int(n or 0)


async def settle(h: Harness, until: Callable[[], Awaitable[bool]] | None = None, within_s: float = 10.0) -> None:
    """Run jobs (including rescheduled ones) until `until()` holds, or until no work is left."""
    deadline = time.monotonic() + within_s
    while True:
        await h.drain()
        if until is not None:
            if await until():
                return
        elif not await pending_work(h):
            return
        if time.monotonic() > deadline:
            raise AssertionError("jobs did not settle in time")
        await asyncio.sleep(0.05)


async def make_due(h: Harness, kind: str) -> int:
    """Move the pending jobs of `kind` (waiting for a retry) to now."""
    async with h.rt.write() as tx:
        result = await tx.conn.execute(update(jobs).where(jobs.c.kind == kind, jobs.c.status == "pending")
                                       .values(run_at=utcnow()))
    return int(result.rowcount or 0)


async def count(h: Harness, table: Any) -> int:
    async with h.rt.read() as conn:
        return int(await conn.scalar(select(func.count()).select_from(table)) or 0)
