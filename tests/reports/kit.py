"""Fixture days for the reports: a scene plays customers, agents, the bot and the providers at chosen
moments (the clock is moved for each step), through the same webhooks, API calls and jobs as in
production."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select

from atende.actions import outbound
from atende.db.tables import conversations, messages
from atende.db.types import set_clock
from atende.jobs.handlers import sendable
from atende.testing.fake_graph import encode
from atende.testing.fake_kolmeya import br_datetime
from tests.support.harness import APP_HOST, Harness

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
_REPLY_IDS = itertools.count(9001)  # Kolmeya reply ids: unique, or ingest takes a reply for a duplicate


def local(text: str, tz: ZoneInfo = SAO_PAULO) -> datetime:
    """'2025-03-10 09:00:00' on the wall clock of `tz` → an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=tz)


def rows(body: str) -> list[dict[str, str]]:
    assert body.startswith("\ufeff"), "CSV starts with a byte order mark"
    return list(csv.DictReader(io.StringIO(body.removeprefix("\ufeff"))))


class Scene:
    def __init__(self, h: Harness, sms: dict[str, Any], wa: dict[str, Any] | None = None) -> None:
        self.h = h
        self.sms = sms
        self.wa = wa

    def at(self, when: datetime) -> None:
        set_clock(lambda: when)

    async def _conversation(self, connector_id: int, address_key: str) -> int:
        async with self.h.rt.read() as conn:
            found = await conn.scalar(select(conversations.c.id).where(
                conversations.c.connector_id == connector_id, conversations.c.address_key == address_key))
        assert found is not None, f"no conversation with {address_key}"
        return int(found)

    async def sms_in(self, phone: str, text: str, when: datetime) -> int:
        """A customer's SMS (Kolmeya's reply webhook); returns its conversation."""
        self.at(when)
        payload = {"reply": {"id": next(_REPLY_IDS), "reply": text, "received_at": br_datetime(when),
                             "message": {"phone": phone.lstrip("+")}}}
        path = str(self.sms["webhook_url"]).removeprefix(f"http://{APP_HOST}")
        r = await self.h.client.post(path, json=payload)
        assert r.status_code == 200, r.text
        await self.h.drain()
        return await self._conversation(self.sms["id"], phone)

    async def wa_in(self, wa_id: str, text: str, when: datetime) -> int:
        """A customer's WhatsApp text (signed Cloud API webhook); returns its conversation."""
        assert self.wa is not None
        self.at(when)
        payload = self.h.graph.inbound_text(wa_id, text, timestamp=int(when.timestamp()))
        raw = encode(payload)
        path = str(self.wa["webhook_url"]).removeprefix(f"http://{APP_HOST}")
        r = await self.h.client.post(path, content=raw, headers=dict(self.h.graph.signed_headers(raw)))
        assert r.status_code == 200, r.text
        await self.h.drain()
        return await self._conversation(self.wa["id"], "+" + wa_id)

    async def reply(self, conversation_id: int, who: str, text: str, when: datetime) -> int:
        """An agent answers from the workspace API (taking the conversation); the job sends it."""
        self.at(when)
        r = await self.h.post(f"/api/v1/conversations/{conversation_id}/messages", {"text": text}, who=who)
        assert r.status_code == 202, r.text
        await self.h.drain()
        return int(r.json()["id"])

    async def send_new(self, who: str, phone: str, text: str, when: datetime) -> int:
        """An agent starts an SMS to a number (POST /api/v1/messages)."""
        self.at(when)
        r = await self.h.post("/api/v1/messages", {"connector_id": self.sms["id"], "to": phone, "text": text},
                              who=who)
        assert r.status_code == 202, r.text
        await self.h.drain()
        return int(r.json()["id"])

    async def bot(self, conversation_id: int, text: str, when: datetime, connector: dict[str, Any] | None = None
                  ) -> int:
        """The system speaks (the bot's and auto-replies' path: no author)."""
        self.at(when)
        loaded = await self.h.rt.connector(int((connector or self.sms)["id"]))
        assert loaded is not None
        async with self.h.rt.write() as tx:
            message_id = await outbound.queue_message(tx, sendable(loaded), conversation_id, text=text,
                                                      author_id=None, take=False)
        await self.h.drain()
        return message_id

    async def close(self, conversation_id: int, who: str, when: datetime) -> None:
        self.at(when)
        r = await self.h.post(f"/api/v1/conversations/{conversation_id}/close", who=who)
        assert r.status_code == 200, r.text

    async def deliver(self, message_id: int) -> None:
        """Kolmeya reports an SMS delivered (status webhook)."""
        async with self.h.rt.read() as conn:
            provider_id = await conn.scalar(select(messages.c.provider_message_id).where(messages.c.id == message_id))
        assert provider_id, "the message was not accepted"
        r = await self.h.kolmeya.deliver_status(str(provider_id), 3)
        assert r.status_code == 200, r.text

    async def get(self, path: str, who: str = "supervisor", **params: Any) -> httpx.Response:
        return await self.h.get(path, who=who, params=params)
