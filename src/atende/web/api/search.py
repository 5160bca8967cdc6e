"""GET /api/v1/search: messages, contacts' names and numbers, honouring what the caller may see."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, HTTPException, Query

from atende.db.queries import BadCursor
from atende.domain.ids import MAX_ID
from atende.search import queries as search_queries
from atende.web.auth import CurrentUser, Rt, User, Who

router = APIRouter(tags=["search"])
CHANNELS = ("whatsapp", "sms", "instagram", "messenger", "sandbox")


def parse_bound(value: str | None, user: CurrentUser, *, end: bool) -> datetime | None:
    """`YYYY-MM-DD` (a day in the user's time zone; `to` includes that whole day) or an ISO datetime
    (UTC when it has no offset)."""
    if not value:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            try:
                zone: Any = ZoneInfo(user.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                zone = UTC
            start = datetime.combine(day + timedelta(days=1) if end else day, time(), zone)
            return start.astimezone(UTC)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise HTTPException(422, f"data inválida: {value!r} (use AAAA-MM-DD ou data e hora ISO 8601)") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@router.get("/search")
async def search(
    rt: Rt, user: User, who: Who,
    q: str = Query(min_length=1, max_length=200, description="palavras (sem acento tanto faz) ou um número"),
    channel: str | None = Query(default=None, max_length=20),
    connector_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    from_: str | None = Query(default=None, alias="from", max_length=40),
    to: str | None = Query(default=None, max_length=40),
    limit: int = Query(default=20, ge=1, le=search_queries.MAX_LIMIT),
    cursor: str | None = Query(default=None, max_length=200),
) -> dict[str, Any]:
    """Contacts whose name or number matches (on the first page, `match: "contact"`, `message_id:
    null`), then messages newest first (`match: "message"`). `snippet` is HTML with the matches in
    `<mark>`; accents and case are ignored; a phone number matches with or without +55 and the 9th digit."""
    if channel is not None and channel not in CHANNELS:
        raise HTTPException(422, f"canal inválido: {channel}")
    if search_queries.Query.parse(q).empty:
        raise HTTPException(422, "informe ao menos uma palavra ou um número")
    since, until = parse_bound(from_, user, end=False), parse_bound(to, user, end=True)
    if since is not None and until is not None and since >= until:
        raise HTTPException(422, "o início do período deve ser antes do fim")
    visible = search_queries.visibility(who)
    try:
        async with rt.read() as conn:
            items, next_cursor = await search_queries.search(
                conn, q, channel=channel, connector_id=connector_id, since=since, until=until, limit=limit,
                cursor=cursor, visible=visible)
    except BadCursor as exc:
        raise HTTPException(400, str(exc)) from None
    return {"items": items, "next_cursor": next_cursor}
