"""Helpers of the page tests: a signed-in httpx client and ready-made conversations."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.support.harness import APP_HOST, Harness

PASSWORD = "s3nha-forte"
PHONE = "+5548991910234"


class PageClient:
    """A signed-in browser session: cookies, and the CSRF token read from the page's meta tag."""

    def __init__(self, h: Harness) -> None:
        self.h = h
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=h.app), base_url=f"http://{APP_HOST}")
        self.csrf = ""

    async def login(self, who: str, password: str = PASSWORD) -> httpx.Response:
        page = await self.http.get("/login")
        token = login_csrf(page.text)
        response = await self.http.post("/login", data={"email": f"{who}@example.com", "password": password,
                                                        "csrf_token": token, "next": "/board"})
        if response.status_code == 303:
            board = await self.http.get("/board")
            self.csrf = meta_csrf(board.text)
        return response

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        return await self.http.get(path, **kw)

    async def post(self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True,
                   htmx: bool = True, **kw: Any) -> httpx.Response:
        headers = dict(kw.pop("headers", {}))
        if csrf:
            headers["X-CSRF-Token"] = self.csrf
        if htmx:
            headers["HX-Request"] = "true"
        return await self.http.post(path, data=data, headers=headers, **kw)

    async def aclose(self) -> None:
        await self.http.aclose()


def login_csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "login form without a CSRF field"
    return match.group(1)


def meta_csrf(html: str) -> str:
    match = re.search(r'<meta name="csrf-token" content="([^"]*)"', html)
    assert match, "page without the csrf-token meta tag"
    return match.group(1)


async def sms_conversation(h: Harness, text: str = "Olá! Sua fatura vence amanhã.", *, to: str = PHONE,
                           reply: str | None = "Já paguei, obrigado", connector: dict[str, Any] | None = None,
                           ) -> dict[str, Any]:
    """An SMS sent through the fake Kolmeya (and answered): a conversation in Novo."""
    c = connector or await h.kolmeya_connector()
    r = await h.post("/api/v1/messages", {"connector_id": c["id"], "to": to, "text": text})
    assert r.status_code == 202, r.text
    msg = r.json()
    await h.drain()
    if reply is not None:
        kid = h.kolmeya.state.messages_to(to.lstrip("+"))[-1].id
        # Kolmeya dates have whole seconds: a reply "in the same second" as our send would look older.
        await h.kolmeya.send_reply(kid, reply, received_at=datetime.now(UTC) + timedelta(seconds=1))
    conv = (await h.get(f"/api/v1/conversations/{msg['conversation_id']}")).json()
    return {"connector": c, "message": msg, "conversation": conv}
