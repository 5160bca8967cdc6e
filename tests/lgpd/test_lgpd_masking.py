"""Masking of CPF, CNPJ and card numbers on every preview surface: board, list, live fragments, the
API's conversations, the event stream (which notifications show); the chat itself shows the text."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

from starlette.requests import Request

from atende.realtime import events
from atende.realtime.sse import stream
from tests.support.harness import Harness
from tests.web.pagekit import PageClient, sms_conversation

Pages = Callable[[str], Awaitable[PageClient]]
SECRET = "CPF 529.982.247-25, cartão 4111 1111 1111 1111, CNPJ 11.222.333/0001-81"
MASKED = "CPF ***.982.247-**, cartão **** **** **** 1111, CNPJ **.222.333/****-**"
RAW_BITS = ("529.982.247-25", "4111 1111 1111 1111", "11.222.333/0001-81")


def _request() -> Request:
    async def receive() -> dict:
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    return Request({"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""}, receive)


async def _first_message_event(h: Harness, after: int) -> dict:
    gen = stream(h.rt, _request(), after=after)
    try:
        async with asyncio.timeout(5):
            async for chunk in gen:
                if chunk.startswith("id:") and "event: message.created" in chunk:
                    data = chunk.split("data: ", 1)[1].strip()
                    payload = json.loads(data)
                    if payload.get("direction") == "in":
                        return dict(payload)
    finally:
        await gen.aclose()
    raise AssertionError("no inbound message event")


def _clean(html: str) -> None:
    for bit in RAW_BITS:
        assert bit not in html, bit


async def test_every_preview_surface_is_masked_and_the_chat_is_not(harness: Harness, pages: Pages) -> None:
    h = harness
    async with h.rt.read() as conn:
        start = await events.last_id(conn)
    one = await sms_conversation(h, reply=SECRET)
    cid = one["conversation"]["id"]
    ana = await pages("ana")

    board = (await ana.get("/board")).text
    assert MASKED in board
    _clean(board)
    inbox = (await ana.get("/inbox")).text
    assert MASKED in inbox
    _clean(inbox)
    for view in ("card", "item"):
        fragment = (await ana.get(f"/fragments/conversation/{cid}", params={"view": view})).text
        assert MASKED in fragment, view
        _clean(fragment)
    listed = (await h.get("/api/v1/conversations")).json()["items"]
    assert [c["last_message_preview"] for c in listed if c["id"] == cid] == [MASKED]
    assert (await h.get(f"/api/v1/conversations/{cid}")).json()["last_message_preview"] == MASKED
    live = await _first_message_event(h, start)  # what the notification shows
    assert live["preview"] == MASKED

    chat = (await ana.get(f"/conversations/{cid}")).text  # whoever reads the conversation sees the text
    assert SECRET in chat
    thread = (await h.get(f"/api/v1/conversations/{cid}/messages")).json()["items"]
    assert thread[-1]["text"] == SECRET


async def test_masking_can_be_switched_off(harness: Harness, pages: Pages) -> None:
    h = harness
    one = await sms_conversation(h, reply=SECRET)
    assert (await h.get("/api/v1/privacy")).json() == {"mask_previews": True}
    r = await h.client.put("/api/v1/privacy", json={"mask_previews": False}, headers=h.auth())
    assert r.status_code == 200
    assert (await h.client.put("/api/v1/privacy", json={"mask_previews": False}, headers=h.auth("supervisor"))
            ).status_code == 403
    assert (await h.get(f"/api/v1/conversations/{one['conversation']['id']}")).json()["last_message_preview"] == SECRET
    ana = await pages("ana")
    assert SECRET in (await ana.get("/board")).text
