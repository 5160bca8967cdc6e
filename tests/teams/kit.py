"""Helpers of the teams/routing/visibility tests: customers writing in, teams, agents online."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from atende.db.tables import conversations
from atende.db.types import clock, utcnow
from tests.support.harness import Harness

_ids = itertools.count(1)
SP = ZoneInfo("America/Sao_Paulo")


def webhook(connector: dict[str, Any]) -> str:
    return "/webhooks/" + str(connector["webhook_url"]).rsplit("/", 1)[1]


async def sms_in(h: Harness, connector: dict[str, Any], phone: str, text: str = "Olá") -> int:
    """A customer's SMS reply arrives through Kolmeya's webhook; returns its conversation's id."""
    rid = f"r{next(_ids)}"
    # Kolmeya dates are São Paulo wall-clock times; the customer writes "now" on the application's clock.
    when = utcnow().astimezone(SP).strftime("%d/%m/%Y %H:%M:%S")
    body = {"reply": {"id": rid, "reply": text, "received_at": when,
                      "message": {"id": f"m-{rid}", "reference": None, "phone": phone.lstrip("+"), "content": "x"}}}
    r = await h.client.post(webhook(connector), json=body)
    assert r.status_code == 200, r.text
    async with h.rt.read() as conn:
        cid = await conn.scalar(select(conversations.c.id).where(
            conversations.c.connector_id == connector["id"], conversations.c.address_key.like(f"%{phone[-8:]}")))
    assert cid is not None
    return int(cid)


async def kolmeya(h: Harness, segment: int) -> dict[str, Any]:
    """Another Kolmeya connector (a different cost centre): one per team in these tests."""
    if segment not in {s["id"] for s in h.kolmeya.state.segments}:
        h.kolmeya.state.segments.append({"id": segment, "name": f"CENTRO {segment}"})
    return await h.kolmeya_connector(tenant_segment_id=segment)


def no_auto_away(h: Harness) -> None:
    """Travelling in time leaves agents without a live connection: keep them online anyway."""
    h.rt.settings.auto_away_after_s = 0


async def make_team(h: Harness, name: str, members: list[str], connectors: list[dict[str, Any]],
                    **extra: Any) -> dict[str, Any]:
    r = await h.post("/api/v1/teams", {"name": name, "member_ids": [h.user_ids[m] for m in members],
                                       "connector_ids": [c["id"] for c in connectors], **extra})
    assert r.status_code == 201, r.text
    return dict(r.json())


async def online(h: Harness, *who: str, presence: str = "online") -> None:
    for name in who:
        r = await h.post("/api/v1/me/presence", {"presence": presence}, who=name)
        assert r.status_code == 200, r.text


async def conv(h: Harness, conversation_id: int, who: str = "admin") -> dict[str, Any]:
    r = await h.get(f"/api/v1/conversations/{conversation_id}", who=who)
    assert r.status_code == 200, r.text
    return dict(r.json())


def listed(response: Any) -> set[int]:
    assert response.status_code == 200, response.text
    return {int(c["id"]) for c in response.json()["items"]}


def travel(to: datetime | timedelta) -> None:
    """Move the application's clock: to a moment, or by a delta."""
    if isinstance(to, timedelta):
        clock.offset += to
    else:
        clock.offset = to - datetime.now(UTC)
