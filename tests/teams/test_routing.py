"""Teams and routing: the teams API, policies, capacity, presence, the queue in order, the waiting clock,
slots freeing up, transfers to a team."""

from __future__ import annotations

from typing import Any

from atende.actions.users import set_capacity
from tests.support.harness import Harness
from tests.teams.kit import conv, kolmeya, make_team, online, sms_in


async def _assignee(h: Harness, cid: int) -> str | None:
    c = await conv(h, cid)
    return c["assignee"]["name"] if c["assignee"] else None


async def _capacity(h: Harness, who: str, capacity: int) -> None:
    async with h.rt.write() as tx:
        await set_capacity(tx, h.user_ids[who], capacity)


async def test_teams_api(harness: Harness) -> None:
    h = harness
    a, b = await kolmeya(h, 1), await kolmeya(h, 2)
    hours = {"timezone": "America/Sao_Paulo", "weekly": {"mon": [["08:00", "18:00"]], "sat": [["09:00", "13:00"]]},
             "holidays": ["2026-12-25"]}
    team = await make_team(h, "Financeiro", ["ana", "supervisor"], [a], policy="round_robin", visibility="team",
                           business_hours=hours, out_of_hours_message="Voltamos às 8h.", release_after_s=600)
    assert team["policy"] == "round_robin" and team["visibility"] == "team" and team["connector_ids"] == [a["id"]]
    assert team["member_ids"] == sorted([h.user_ids["ana"], h.user_ids["supervisor"]])
    assert team["business_hours"]["weekly"]["mon"] == [["08:00", "18:00"]] and team["release_after_s"] == 600
    assert (await h.get("/api/v1/teams", who="ana")).json()["items"][0]["name"] == "Financeiro"
    # Only admins create; a connector is served by one team; bad input is a clear 422.
    body: dict[str, Any] = {"name": "Outra", "member_ids": [], "connector_ids": []}
    assert (await h.post("/api/v1/teams", body, who="supervisor")).status_code == 403
    r = await h.post("/api/v1/teams", {**body, "connector_ids": [a["id"]]})
    assert r.status_code == 409 and "Financeiro" in r.json()["detail"]
    for bad in ({"policy": "random"}, {"visibility": "all"}, {"member_ids": [999]},
                {"business_hours": {"weekly": {"mon": [["18:00", "08:00"]]}}},
                {"business_hours": {"weekly": {"funday": []}}}, {"business_hours": {"timezone": "Mars/Base"}},
                {"business_hours": {"holidays": ["25/12/2026"]}}, {"release_after_s": -1}, {"name": ""}):
        r = await h.post("/api/v1/teams", {**body, **bad})
        assert r.status_code == 422 and r.json()["detail"], (bad, r.text)
    assert (await h.post("/api/v1/teams", {**body, "name": "Financeiro"})).status_code == 409
    # Supervisors edit the members of their own teams, nothing else; agents nothing.
    patch = h.client.patch
    r = await patch(f"/api/v1/teams/{team['id']}", json={"member_ids": [h.user_ids["supervisor"],
                                                                         h.user_ids["bruno"]]},
                    headers=h.auth("supervisor"))
    assert r.status_code == 200 and h.user_ids["bruno"] in r.json()["member_ids"]
    r = await patch(f"/api/v1/teams/{team['id']}", json={"policy": "manual"}, headers=h.auth("supervisor"))
    assert r.status_code == 403
    assert (await patch(f"/api/v1/teams/{team['id']}", json={"member_ids": []}, headers=h.auth("ana"))
            ).status_code == 403
    other = await make_team(h, "Suporte", [], [b])
    assert (await patch(f"/api/v1/teams/{other['id']}", json={"member_ids": []}, headers=h.auth("supervisor"))
            ).status_code == 403
    r = await patch(f"/api/v1/teams/{team['id']}", json={"business_hours": None, "policy": "sticky"},
                    headers=h.auth())
    assert r.status_code == 200 and r.json()["business_hours"] is None and r.json()["policy"] == "sticky"
    # Deleting a team: its conversations (and their counters) join the default queue.
    x = await sms_in(h, b, "+5511922220002")
    assert (await conv(h, x))["team_id"] == other["id"]
    assert (await h.client.delete(f"/api/v1/teams/{other['id']}", headers=h.auth("supervisor"))).status_code == 403
    assert (await h.client.delete(f"/api/v1/teams/{other['id']}", headers=h.auth())).status_code == 204
    assert (await conv(h, x))["team_id"] is None
    assert (await h.get("/api/v1/conversations/counts", params={"team_id": 0})).json()["new"] == 1
    assert (await h.get(f"/api/v1/teams/{other['id']}")).status_code == 404


async def test_least_busy_round_robin_sticky_and_manual(harness: Harness) -> None:
    h = harness
    await h.add_user("carla", "agent")
    c1, c2, c3, c4 = [await kolmeya(h, i) for i in range(1, 5)]
    await make_team(h, "Menor carga", ["ana", "bruno"], [c1])
    await make_team(h, "Rodízio", ["ana", "bruno", "carla"], [c2], policy="round_robin")
    await make_team(h, "Fiel", ["ana", "bruno"], [c3], policy="sticky")
    await make_team(h, "Manual", ["ana", "bruno"], [c4], policy="manual")
    await online(h, "ana", "bruno", "carla")
    await h.drain()

    least = [await sms_in(h, c1, f"+551191000{i:04d}") for i in range(4)]
    await h.drain()
    assert [await _assignee(h, x) for x in least] == ["Ana", "Bruno", "Ana", "Bruno"]

    rr = [await sms_in(h, c2, f"+551192000{i:04d}") for i in range(4)]
    await h.drain()
    assert [await _assignee(h, x) for x in rr] == ["Ana", "Bruno", "Carla", "Ana"]

    # Sticky: Ana served this customer before (on another connector): she gets her again, though busier
    # (4 open against Bruno's 3: least busy would pick Bruno).
    again = await sms_in(h, c3, "+5511910000000")  # the customer of least[0]
    await h.drain()
    assert await _assignee(h, again) == "Ana"

    manual = await sms_in(h, c4, "+5511940000000")
    await h.drain()
    assert await _assignee(h, manual) is None and (await conv(h, manual))["status"] == "new"
    assert (await h.post(f"/api/v1/conversations/{manual}/assign", {"agent_id": h.user_ids["ana"]},
                         who="ana")).status_code == 200


async def test_capacity_presence_and_slots_freeing_up(harness: Harness) -> None:
    h = harness
    c = await kolmeya(h, 1)
    await make_team(h, "Financeiro", ["ana", "bruno"], [c])
    await _capacity(h, "ana", 1)
    await _capacity(h, "bruno", 1)
    convs = [await sms_in(h, c, f"+551191000{i:04d}", f"cliente {i}") for i in range(4)]
    await h.drain()
    assert [await _assignee(h, x) for x in convs] == [None] * 4  # nobody online: they wait
    await online(h, "ana")
    await h.drain()
    assert [await _assignee(h, x) for x in convs] == ["Ana", None, None, None]  # online: one slot
    await online(h, "bruno", presence="away")
    await h.drain()
    assert await _assignee(h, convs[1]) is None  # away receives nothing
    await online(h, "bruno")
    await h.drain()
    assert await _assignee(h, convs[1]) == "Bruno"  # the oldest waiting first
    # A close frees a slot: the next oldest goes at once.
    assert (await h.post(f"/api/v1/conversations/{convs[0]}/close", who="ana")).status_code == 200
    await h.drain()
    assert await _assignee(h, convs[2]) == "Ana" and await _assignee(h, convs[3]) is None
    # So does a capacity raise (PATCH /users/{id}; 0 = unlimited).
    r = await h.client.patch(f"/api/v1/users/{h.user_ids['bruno']}", json={"capacity": 0}, headers=h.auth())
    assert r.status_code == 200, r.text
    await h.drain()
    assert await _assignee(h, convs[3]) == "Bruno"
    # Nobody over capacity: taking by hand at capacity is refused too.
    extra = await sms_in(h, c, "+5511919999999")
    r = await h.post(f"/api/v1/conversations/{extra}/assign", {"agent_id": h.user_ids["ana"]}, who="ana")
    assert r.status_code == 409 and r.json()["code"] == "at_capacity"
    me = (await h.get("/api/v1/me", who="bruno")).json()
    assert me["capacity"] == 0


async def test_the_waiting_clock_and_the_queue(harness: Harness) -> None:
    h = harness
    c = await kolmeya(h, 1)
    team = await make_team(h, "Financeiro", ["ana"], [c])
    x = await sms_in(h, c, "+5511911110001", "oi")
    started = (await conv(h, x))["waiting_since"]
    assert started is not None
    await sms_in(h, c, "+5511911110001", "alô?")  # a follow-up does not reset the clock
    assert (await conv(h, x))["waiting_since"] == started
    y = await sms_in(h, c, "+5511911110002", "bom dia")
    queue = (await h.get("/api/v1/queue", params={"team_id": team["id"]}, who="ana")).json()
    (q,) = queue["queues"]
    assert q["name"] == "Financeiro" and q["waiting"] == 2 and [i["id"] for i in q["items"]] == [x, y]
    assert q["items"][0]["wait_s"] >= q["items"][1]["wait_s"] >= 0 and queue["longest_wait_s"] == q["longest_wait_s"]
    # Taken, the clock keeps running until the agent answers; an answer stops it.
    await h.post(f"/api/v1/conversations/{x}/assign", {"agent_id": h.user_ids["ana"]}, who="ana")
    assert (await conv(h, x))["waiting_since"] == started
    await h.post(f"/api/v1/conversations/{x}/messages", {"kind": "note", "text": "vendo"}, who="ana")
    assert (await conv(h, x))["waiting_since"] == started  # a note is no answer
    await h.post(f"/api/v1/conversations/{x}/messages", {"text": "Olá!"}, who="ana")
    assert (await conv(h, x))["waiting_since"] is None
    await sms_in(h, c, "+5511911110001", "obrigado")
    assert (await conv(h, x))["waiting_since"] is not None  # a new unanswered message starts it again


async def test_transfer_to_a_team_enters_its_queue_and_is_routed_by_its_policy(harness: Harness) -> None:
    h = harness
    a, b = await kolmeya(h, 1), await kolmeya(h, 2)
    await make_team(h, "Financeiro", ["ana"], [a])
    support = await make_team(h, "Suporte", ["bruno"], [b], policy="round_robin")
    await online(h, "bruno")
    x = await sms_in(h, a, "+5511911110001")
    await h.post(f"/api/v1/conversations/{x}/assign", {"agent_id": h.user_ids["ana"]}, who="ana")
    r = await h.post(f"/api/v1/conversations/{x}/transfer", {"team_id": support["id"], "note": "problema técnico"},
                     who="ana")
    assert r.status_code == 200 and r.json()["status"] == "new" and r.json()["assignee"] is None
    await h.drain()
    moved = await conv(h, x)
    assert moved["team_id"] == support["id"] and moved["assignee"]["name"] == "Bruno"
    # To an agent: held by them from now on; one of the two, never both or neither.
    for bad in ({}, {"agent_id": h.user_ids["ana"], "team_id": support["id"]}, {"team_id": 999}):
        r = await h.post(f"/api/v1/conversations/{x}/transfer", bad, who="bruno")
        assert r.status_code == 422, bad
    r = await h.post(f"/api/v1/conversations/{x}/transfer", {"agent_id": h.user_ids["ana"]}, who="bruno")
    assert r.status_code == 200 and r.json()["assignee"]["name"] == "Ana"


async def test_agents_without_a_live_connection_become_away(harness: Harness) -> None:
    from datetime import timedelta

    from atende.actions.users import touch_seen
    from tests.teams.kit import travel

    h = harness
    c = await kolmeya(h, 1)
    await make_team(h, "Financeiro", ["ana", "bruno"], [c])
    await online(h, "ana", "bruno")
    travel(timedelta(minutes=9))
    async with h.rt.write() as tx:
        await touch_seen(tx, h.user_ids["bruno"])  # Bruno's workspace is open (its stream says so)
    travel(timedelta(minutes=2))
    await h.drain()  # the periodic sweep
    presence = {u["name"]: u["presence"] for u in (await h.get("/api/v1/users")).json()["items"]}
    assert presence["Ana"] == "away" and presence["Bruno"] == "online"
    x = await sms_in(h, c, "+5511911110001")
    await h.drain()
    assert await _assignee(h, x) == "Bruno"  # away receives nothing
