"""Fault injection for in-process provider fakes: slow, failing (5xx) or unreachable, switchable live."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class Faulty:
    """An ASGI wrapper: `delay_s` before every answer; `mode` "ok", "error" (503) or "refuse" (the
    client sees a connection error, as with a provider that is down)."""

    app: Any
    mode: str = "ok"
    delay_s: float = 0.0
    calls: int = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.calls += 1
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.mode == "refuse":
            raise httpx.ConnectError("connection refused (fault injected)")
        if self.mode == "error":
            body = b'{"errors": ["Service Unavailable"]}'
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 503, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
