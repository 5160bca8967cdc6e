"""GET /api/v1/audit: who did what, when and from where (admin, dpo)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query

from atende.auth import policy
from atende.db import queries
from atende.db.audit_queries import audit_page
from atende.web.auth import CurrentUser, Rt, User

router = APIRouter(tags=["audit"])

Id = Annotated[int | None, Query(ge=1, le=2**63 - 1)]


def _moment(value: str | None, *, end: bool) -> datetime | None:
    """A date (whole day, UTC) or an ISO datetime; `end` makes a date exclusive of the next day."""
    if not value:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day + timedelta(days=1 if end else 0), time(), UTC)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        raise HTTPException(422, f"data inválida: {value!r} (use AAAA-MM-DD ou ISO 8601)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def _auditor(user: User) -> CurrentUser:
    if not policy.may_read_audit(user):
        raise HTTPException(403, "permissão insuficiente")
    return user


@router.get("/audit", dependencies=[Depends(_auditor)])
async def list_audit(
    rt: Rt,
    actor: Id = None,
    action: Annotated[str | None, Query(max_length=60, pattern=r"^[a-z_.]+$")] = None,
    target_type: Annotated[str | None, Query(max_length=40, pattern=r"^[a-z_]+$")] = None,
    target_id: Id = None,
    contact_id: Id = None,
    from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    to: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    try:
        async with rt.read() as conn:
            items, next_cursor = await audit_page(
                conn, actor_id=actor, action=action, target_type=target_type, target_id=target_id,
                contact_id=contact_id, since=_moment(from_, end=False), until=_moment(to, end=True),
                limit=limit, cursor=cursor)
    except queries.BadCursor as exc:
        raise HTTPException(400, str(exc)) from None
    return {"items": items, "next_cursor": next_cursor}
