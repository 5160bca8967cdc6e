"""An httpx transport that routes by host name to in-process ASGI apps.

Tests and the demo wire the engine, the fake Kolmeya and the fake Graph API together with it,
so every HTTP call still goes through real request/response objects, without sockets.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx


class HostRouter(httpx.AsyncBaseTransport):
    def __init__(self, routes: Mapping[str, Any] | None = None) -> None:
        self._routes: dict[str, httpx.ASGITransport] = {}
        for host, app in (routes or {}).items():
            self.add(host, app)

    def add(self, host: str, app: Any) -> None:
        self._routes[host] = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        transport = self._routes.get(request.url.host)
        if transport is None:
            raise httpx.ConnectError(f"no route to host {request.url.host}", request=request)
        return await transport.handle_async_request(request)
