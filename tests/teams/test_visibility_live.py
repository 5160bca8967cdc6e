"""The live stream (SSE) shows each viewer only their events, replayed and live; the filter is a pure
predicate over what each event carries (no query per event)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request

from atende.auth.policy import ConvFacts, Viewer, can_read, event_filter
from atende.realtime import events
from atende.realtime.sse import stream
from tests.support.harness import Harness
from tests.teams.kit import kolmeya, make_team, sms_in


def _request() -> Request:
    async def receive() -> dict:
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    return Request({"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""}, receive)


async def _collect(gen: Any, limit_s: float = 1.5) -> list[dict[str, Any]]:
    """What a stream sends within `limit_s` (it never ends by itself)."""
    out: list[dict[str, Any]] = []

    async def read() -> None:
        async for chunk in gen:  # a chunk may carry several events (the hub hands over whole batches)
            for message in chunk.split("\n\n"):
                if message.startswith("id:"):
                    lines = dict(line.split(": ", 1) for line in message.strip().split("\n"))
                    out.append({**json.loads(lines["data"]), "event_id": int(lines["id"])})

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(read(), limit_s)
    return out


def _convs(items: list[dict[str, Any]]) -> set[int]:
    return {int(e.get("conversation_id") or e["id"]) for e in items if e["type"].startswith(("conversation.",
                                                                                           "message."))}


async def _viewer(h: Harness, who: str) -> Viewer:
    from atende.auth.policy import viewer_by_id

    async with h.rt.read() as conn:
        viewer = await viewer_by_id(conn, h.user_ids[who])
    assert viewer is not None
    return viewer


async def test_replay_and_live_show_each_agent_only_their_teams(harness: Harness) -> None:
    h = harness
    async with h.rt.read() as conn:
        start = await events.last_id(conn)
    a, b = await kolmeya(h, 1), await kolmeya(h, 2)
    team_a = await make_team(h, "Financeiro", ["ana"], [a])
    team_b = await make_team(h, "Suporte", ["bruno"], [b])
    x = await sms_in(h, a, "+5511911110001", "segunda via")
    y = await sms_in(h, b, "+5511922220002", "meu CPF")

    # Replay (Last-Event-ID): Ana gets team A's events and none of team B's, nor their texts.
    ana = await _collect(stream(h.rt, _request(), start, viewer=await _viewer(h, "ana")))
    assert _convs(ana) == {x} and not any("CPF" in json.dumps(e) for e in ana)
    bruno = await _collect(stream(h.rt, _request(), start, viewer=await _viewer(h, "bruno")))
    assert _convs(bruno) == {y}
    admin = await _collect(stream(h.rt, _request(), start, viewer=await _viewer(h, "admin")))
    assert _convs(admin) == {x, y}
    assert {e["type"] for e in ana} >= {"conversation.created", "message.created"}
    assert not [e for e in ana if e["type"] == "connector.created"]  # staff only

    # Live: a stream opened now sees what happens next, filtered the same way.
    async with h.rt.read() as conn:
        now = await events.last_id(conn)
    live_ana = stream(h.rt, _request(), now, viewer=await _viewer(h, "ana"))
    live_bruno = stream(h.rt, _request(), now, viewer=await _viewer(h, "bruno"))
    got_ana = asyncio.create_task(_collect(live_ana, 3.0))
    got_bruno = asyncio.create_task(_collect(live_bruno, 3.0))
    await asyncio.sleep(0.3)
    await sms_in(h, b, "+5511922220002", "meu CPF de novo")
    await sms_in(h, a, "+5511911110001", "alô?")
    # A move out of team A: Ana hears that it left (the previous team is hers), then nothing more.
    r = await h.post(f"/api/v1/conversations/{x}/transfer", {"team_id": team_b["id"]})
    assert r.status_code == 200
    await sms_in(h, a, "+5511911110001", "depois da transferência")
    ana_live, bruno_live = await got_ana, await got_bruno
    assert [e["type"] for e in ana_live] == ["message.created", "conversation.transferred"]
    assert ana_live[-1]["previous_team_id"] == team_a["id"] and ana_live[-1]["team_id"] == team_b["id"]
    assert all("CPF" not in json.dumps(e) for e in ana_live)
    bruno_types = [(e["type"], _convs([e])) for e in bruno_live]
    assert ("message.created", {y}) in bruno_types and ("conversation.transferred", {x}) in bruno_types
    assert bruno_types[-1] == ("message.created", {x})  # now his team's


async def test_a_stream_learns_a_new_membership_without_reconnecting(harness: Harness) -> None:
    h = harness
    a = await kolmeya(h, 1)
    team = await make_team(h, "Financeiro", ["ana"], [a])
    async with h.rt.read() as conn:
        now = await events.last_id(conn)
    got = asyncio.create_task(_collect(stream(h.rt, _request(), now, viewer=await _viewer(h, "bruno")), 3.0))
    await asyncio.sleep(0.3)
    first = await sms_in(h, a, "+5511911110001", "antes")
    r = await h.client.patch(f"/api/v1/teams/{team['id']}", json={"member_ids": [h.user_ids["ana"],
                                                                               h.user_ids["bruno"]]},
                             headers=h.auth())
    assert r.status_code == 200, r.text
    second = await sms_in(h, a, "+5511911110002", "depois")
    seen = await got
    assert first not in _convs(seen) and second in _convs(seen)


async def test_a_stream_loses_sight_at_once_when_removed_from_a_team(harness: Harness) -> None:
    """Removed from the team, the stream holds back what follows the change until it has asked again:
    the next customer message of that team never reaches her, even in the same batch."""
    h = harness
    a = await kolmeya(h, 1)
    team = await make_team(h, "Financeiro", ["ana"], [a])
    async with h.rt.read() as conn:
        now = await events.last_id(conn)
    got = asyncio.create_task(_collect(stream(h.rt, _request(), now, viewer=await _viewer(h, "ana")), 3.0))
    await asyncio.sleep(0.3)
    first = await sms_in(h, a, "+5511911110001", "antes")
    r = await h.client.patch(f"/api/v1/teams/{team['id']}", json={"member_ids": [h.user_ids["bruno"]]},
                             headers=h.auth())
    assert r.status_code == 200, r.text
    second = await sms_in(h, a, "+5511911110002", "depois")
    seen = await got
    assert first in _convs(seen) and second not in _convs(seen)
    assert "team.updated" in {e["type"] for e in seen}
    assert len({e["event_id"] for e in seen}) == len(seen)  # nothing twice


ids = st.one_of(st.none(), st.integers(1, 4))


@given(role=st.sampled_from(["agent", "supervisor", "admin"]), teams=st.frozensets(st.integers(1, 4)),
       wide=st.frozensets(st.integers(1, 4)), team=ids, assignee=ids, status=st.sampled_from(["new", "open", "done"]),
       prev_team=ids, prev_assignee=ids, prev_status=st.sampled_from(["new", "open", "done"]), moved=st.booleans())
def test_the_event_filter_is_the_read_rule(role: str, teams: frozenset[int], wide: frozenset[int], team: int | None,
                                           assignee: int | None, status: str, prev_team: int | None,
                                           prev_assignee: int | None, prev_status: str, moved: bool) -> None:
    """For any viewer and event: visible iff the viewer may read the conversation now, or (on a move)
    could read it before. The same rule, in memory, both as a row and as the flat payload a stream sends."""
    viewer = Viewer(1, role, teams, wide & teams)
    payload: dict[str, Any] = {"id": 7, "conversation_id": 7, "team_id": team, "assignee_id": assignee,
                               "conversation_status": status}
    if moved:
        payload.update(previous_team_id=prev_team, previous_assignee_id=prev_assignee, previous_status=prev_status)
    expected = can_read(viewer, ConvFacts(7, team, assignee, status)) or (
        moved and can_read(viewer, ConvFacts(7, prev_team, prev_assignee, prev_status)))
    visible = event_filter(viewer)
    assert visible({"type": "conversation.transferred", "conversation_id": 7, "payload": payload}) == expected
    assert visible({"type": "conversation.transferred", **payload}) == expected


def test_events_without_a_scope_are_staff_only_and_contacts_follow_their_conversations() -> None:
    agent, sup = Viewer(1, "agent", frozenset({2})), Viewer(5, "supervisor", frozenset({2}))
    unscoped = {"type": "message.created", "conversation_id": 9, "payload": {"id": 1, "preview": "segredo"}}
    assert not event_filter(agent)(unscoped) and not event_filter(sup)(unscoped)
    assert event_filter(Viewer(9, "admin"))(unscoped)
    connector = {"type": "connector.created", "payload": {"id": 3}}
    assert not event_filter(agent)(connector) and event_filter(sup)(connector)
    presence = {"type": "agent.presence", "payload": {"id": 3, "presence": "online"}}
    assert event_filter(agent)(presence)
    contact = {"type": "contact.updated", "payload": {"id": 4, "name": "Maria", "contact_conversations": [
        {"id": 1, "team_id": 3, "assignee_id": 8, "status": "open"}]}}
    assert not event_filter(agent)(contact)
    contact["payload"]["contact_conversations"].append({"id": 2, "team_id": 2, "assignee_id": None, "status": "new"})
    assert event_filter(agent)(contact)
