"""GET /api/v1/events: Server-Sent Events fed by the process's hub, with Last-Event-ID replay.

A stream opened without an id starts at the newest event. With an id (the `Last-Event-ID` header
a reconnecting EventSource sends, or `?last_event_id=`), it first replays what it missed from the
events table, then goes live.

What a stream shows is decided by the authorization layer: `auth.policy.event_filter(viewer)`, a pure
predicate the hub applies in memory to every event (no query per event). A team change, or a change
of the stream's own user, makes the stream ask again who its viewer is (one query per stream, at that
event) and read what followed from the table through the new answer, so nobody gains or keeps sight
of a conversation a moment too long. An open stream is the agent's live connection: it keeps an
online agent from turning "away" (routing.auto_away).

Streams end when their session does: the hub closes them on the bus topic "sessions", and each
stream re-checks its session now and then in case that message was lost.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from atende.auth.policy import Viewer, event_filter, viewer_by_id
from atende.auth.tokens import token_hash
from atende.domain.ids import MAX_ID, parse_int
from atende.realtime import events
from atende.realtime.hub import Closed, CutOff, EventFilter, accept_all, format_event
from atende.web.auth import SESSION_COOKIE, Rt, User, optional_user, viewer_of

router = APIRouter(tags=["events"])
REPLAY_LIMIT = 1000
REPLAY_DEDUP_WINDOW = 1000  # ids below the hub's position that can still arrive late (see hub.py)
SESSION_RECHECK_S = 60.0  # at a keepalive, at most this often: one query per stream per minute
SEEN_EVERY_S = 60.0  # how often an open stream tells presence its agent is still there
# Events after which a stream asks again who its viewer is (team membership and visibility).
VIEWER_EVENTS = frozenset({"team.created", "team.updated", "team.deleted"})

__all__ = ["ViewerFilter", "event_filter_for", "format_event", "router", "stream"]


def event_filter_for(viewer: Viewer) -> EventFilter:
    """The one seam to the authorization layer: what a stream of `viewer` may carry."""
    return event_filter(viewer)


def concerns_viewer(row: Mapping[str, Any], user_id: int) -> bool:
    """A team change, or a change of this user (their role): who they are must be asked again."""
    payload = row.get("payload") or {}
    return row.get("type") in VIEWER_EVENTS or (row.get("type") == "user.updated" and payload.get("id") == user_id)


class ViewerFilter:
    """A stream's filter for one viewer. From an event that concerns the viewer on, it lets nothing
    through (and wakes its stream), until the stream has asked again and read the rest from the table."""

    __slots__ = ("accept", "on_stale", "stale_after", "viewer")

    def __init__(self, viewer: Viewer) -> None:
        self.viewer = viewer
        self.accept: EventFilter = event_filter_for(viewer)
        self.stale_after: int | None = None  # the events after this id wait for the new answer
        self.on_stale: Callable[[], None] = lambda: None

    def __call__(self, row: dict[str, Any]) -> bool:
        if self.stale_after is not None:
            return False
        if concerns_viewer(row, self.viewer.id):
            self.stale_after = int(row["id"]) - 1
            self.on_stale()
            return False
        return self.accept(row)

    async def refresh(self, rt: Any) -> bool:
        """Ask the database again who the viewer is; False when the user is gone (or deactivated)."""
        async with rt.read() as conn:
            fresh = await viewer_by_id(conn, self.viewer.id, ip=self.viewer.ip)
        if fresh is None:
            return False
        self.viewer, self.accept = fresh, event_filter_for(fresh)
        return True


async def _from_table(rt: Any, accept: EventFilter, after: int, upto: int | None) -> AsyncIterator[dict[str, Any]]:
    """The events in (after, upto] (`None`: to the newest) that `accept` lets through, oldest first. A
    viewer's filter asks again who the viewer is at each event that concerns them; the stream ends
    (Closed) when the user is gone."""
    viewer = accept if isinstance(accept, ViewerFilter) else None
    while True:
        async with rt.read() as conn:
            rows = await events.since(conn, after, REPLAY_LIMIT)
        for row in rows:
            event_id = int(row["id"])
            if upto is not None and event_id > upto:
                return
            after = event_id
            if viewer is None:
                if accept(row):
                    yield row
                continue
            if concerns_viewer(row, viewer.viewer.id) and not await viewer.refresh(rt):
                raise Closed
            if viewer.accept(row):
                yield row
        if len(rows) < REPLAY_LIMIT:
            return


async def _session_ended(rt: Any, request: Request | None, checked: list[float]) -> bool:
    """A lost "sessions" bus message must not keep a dead session streaming: re-check now and then."""
    if request is None or time.monotonic() - checked[0] < SESSION_RECHECK_S:
        return False
    checked[0] = time.monotonic()
    request.state.user = None
    return await optional_user(request, rt) is None


async def _touch(rt: Any, user_id: int) -> None:
    from atende.actions.users import touch_seen

    try:
        async with rt.write() as tx:
            await touch_seen(tx, user_id)
    except Exception:  # a busy database costs the agent nothing but a late "seen"
        return


async def stream(rt: Any, request: Request | None, after: int | None, *, accept: EventFilter = accept_all,
                 user_id: int | None = None, session_hash: str | None = None,
                 viewer: Viewer | None = None) -> AsyncIterator[str]:
    """One client's stream. With `viewer`, its filter is the authorization layer's for that viewer."""
    vf: ViewerFilter | None = None
    if viewer is not None:
        vf = ViewerFilter(viewer)
        accept, user_id = vf, viewer.id
    hub = rt.hub
    await hub.start()
    sub = hub.subscribe(accept, user_id=user_id, session_hash=session_hash)
    if vf is not None:
        vf.on_stale = sub.ready.set
    live_from = hub.position  # the hub delivers what it reads after this
    last = live_from if after is None else after
    checked = [time.monotonic()]
    # The first "still here" falls anywhere in the first minute: a thousand streams opened together
    # (a restart, a deploy) must not write a thousand presence rows at their first event.
    seen_at = time.monotonic() - random.uniform(0, SEEN_EVERY_S)
    replayed: set[int] = set()  # ids sent from the table that the hub may deliver too

    def note(row: dict[str, Any]) -> str:
        nonlocal last
        event_id = int(row["id"])
        if event_id > live_from - REPLAY_DEDUP_WINDOW:
            replayed.add(event_id)
        last = max(last, event_id)
        return format_event(row, rt.app_settings.peek_mask_previews())

    try:
        yield "retry: 2000\n\n"
        if after is not None and after < live_from:
            async for row in _from_table(rt, accept, after, None):
                yield note(row)
        skip_upto = after if after is not None and after > live_from else 0
        while True:
            try:
                items = await sub.take()
            except CutOff:
                data = json.dumps({"type": "stream.cut", "resume_after": last})
                yield f"id: {last}\nevent: stream.cut\ndata: {data}\n\n"
                return
            except Closed:
                return
            chunk = []
            for event_id, text in items:
                if event_id in replayed or event_id <= skip_upto:
                    continue
                last = max(last, event_id)
                chunk.append(text)
            if vf is not None and vf.stale_after is not None:
                # Held back since an event that concerns the viewer: ask again, then read the rest.
                start = vf.stale_after
                if not await vf.refresh(rt):
                    return  # the user is gone: the stream ends
                vf.stale_after = None  # from here on the hub filters with the new answer
                upto = hub.position
                try:
                    chunk.extend([note(row) async for row in _from_table(rt, vf.accept, start, upto)
                                  if int(row["id"]) not in replayed])
                except Closed:
                    return
            if chunk:
                yield "".join(chunk)
            elif not items:
                if await _session_ended(rt, request, checked):
                    return
                yield ": keepalive\n\n"
            if vf is not None and time.monotonic() - seen_at > SEEN_EVERY_S:
                seen_at = time.monotonic()
                await _touch(rt, vf.viewer.id)
    finally:
        hub.unsubscribe(sub)


@router.get("/events")
async def sse(request: Request, rt: Rt, user: User,
              last_event_id: int | None = Query(default=None, ge=0, le=MAX_ID)) -> Any:
    header = parse_int(request.headers.get("last-event-id", ""), low=0, high=MAX_ID)
    after = header if header is not None else last_event_id
    cookie = request.cookies.get(SESSION_COOKIE) if user.via == "session" else None
    body = stream(rt, request, after, viewer=await viewer_of(request, user),
                  session_hash=token_hash(cookie) if cookie else None)
    return StreamingResponse(body, media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
