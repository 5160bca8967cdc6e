"""Who sees what (issue 8), on every REST surface: lists, get, messages, counts, queue, contacts,
timeline, media. Every denial is a 404 (not yours to know about) or a 403 (yours to read, not to do)."""

from __future__ import annotations

from typing import Any

from tests.support.harness import Harness
from tests.teams.kit import conv, kolmeya, listed, make_team, sms_in

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


async def _two_teams(h: Harness) -> dict[str, Any]:
    """Team A (Ana, the supervisor) serves connector a; team B (Bruno) serves connector b."""
    a, b = await kolmeya(h, 1), await kolmeya(h, 2)
    team_a = await make_team(h, "Financeiro", ["ana", "supervisor"], [a])
    team_b = await make_team(h, "Suporte", ["bruno"], [b])
    x = await sms_in(h, a, "+5511911110001", "Quero a segunda via")
    y = await sms_in(h, b, "+5511922220002", "Meu CPF é 123")
    return {"a": a, "b": b, "team_a": team_a, "team_b": team_b, "x": x, "y": y}


async def test_agents_see_only_their_teams_queues_on_every_list(harness: Harness) -> None:
    h = harness
    s = await _two_teams(h)
    x, y = s["x"], s["y"]
    assert (await conv(h, x))["team_id"] == s["team_a"]["id"] and (await conv(h, y))["team_id"] == s["team_b"]["id"]
    assert listed(await h.get("/api/v1/conversations", who="ana")) == {x}
    assert listed(await h.get("/api/v1/conversations", who="bruno")) == {y}
    assert listed(await h.get("/api/v1/conversations", who="supervisor")) == {x}
    assert listed(await h.get("/api/v1/conversations", who="admin")) == {x, y}
    # Filters never widen the scope: a team id, a status, a search, the waiting order.
    assert listed(await h.get("/api/v1/conversations", params={"team_id": s["team_b"]["id"]}, who="ana")) == set()
    assert listed(await h.get("/api/v1/conversations", params={"status": "new", "order": "waiting"},
                              who="ana")) == {x}
    assert listed(await h.get("/api/v1/conversations", params={"q": "CPF"}, who="ana")) == set()
    assert listed(await h.get("/api/v1/conversations", params={"q": "CPF"}, who="bruno")) == {y}
    # The board's counters count the same.
    counts = (await h.get("/api/v1/conversations/counts", who="ana")).json()
    assert counts == {"new": 1, "open": 0, "done": 0}
    assert (await h.get("/api/v1/conversations/counts", who="admin")).json()["new"] == 2
    # The queue lists only the queues one serves.
    queues = (await h.get("/api/v1/queue", who="ana")).json()["queues"]
    assert [(q["team_id"], [i["id"] for i in q["items"]]) for q in queues] == [(None, []), (s["team_a"]["id"], [x])]
    assert (await h.get("/api/v1/queue", params={"team_id": s["team_b"]["id"]}, who="ana")).status_code == 404


async def test_one_conversation_contact_and_timeline_are_404_outside_the_scope(harness: Harness) -> None:
    h = harness
    s = await _two_teams(h)
    x, y = s["x"], s["y"]
    for path in (f"/api/v1/conversations/{y}", f"/api/v1/conversations/{y}/messages"):
        r = await h.get(path, who="ana")
        assert r.status_code == 404 and "CPF" not in r.text
        assert (await h.get(path, who="bruno")).status_code == 200
    y_contact = (await conv(h, y))["contact"]["id"]
    x_contact = (await conv(h, x))["contact"]["id"]
    assert (await h.get(f"/api/v1/contacts/{y_contact}", who="ana")).status_code == 404
    assert (await h.get(f"/api/v1/contacts/{y_contact}/timeline", who="ana")).status_code == 404
    assert (await h.get(f"/api/v1/contacts/{y_contact}", who="supervisor")).status_code == 404
    # Her own queue's contact: its card yes; its whole history (every channel) only while she serves it.
    assert (await h.get(f"/api/v1/contacts/{x_contact}", who="ana")).status_code == 200
    assert (await h.get(f"/api/v1/contacts/{x_contact}/timeline", who="ana")).status_code == 403
    assert (await h.post(f"/api/v1/conversations/{x}/assign", {"agent_id": h.user_ids["ana"]}, who="ana")).status_code \
        == 200
    timeline = await h.get(f"/api/v1/contacts/{x_contact}/timeline", who="ana")
    assert timeline.status_code == 200 and [m["text"] for m in timeline.json()["items"]] == ["Quero a segunda via"]
    # Writing is refused the same way: a reply, a note, a take, a close in team B's conversation.
    for path, body in ((f"/api/v1/conversations/{y}/messages", {"text": "oi"}),
                       (f"/api/v1/conversations/{y}/messages", {"kind": "note", "text": "psst"}),
                       (f"/api/v1/conversations/{y}/assign", {"agent_id": h.user_ids["ana"]}),
                       (f"/api/v1/conversations/{y}/close", None), (f"/api/v1/conversations/{y}/read", None)):
        r = await h.post(path, body, who="ana")
        assert r.status_code == 404, (path, r.text)
    assert (await h.client.patch(f"/api/v1/contacts/{y_contact}", json={"name": "X"}, headers=h.auth("ana"))
            ).status_code == 404


async def test_no_team_configured_is_todays_single_queue_made_safe(harness: Harness) -> None:
    h = harness
    c = await h.kolmeya_connector()
    waiting = await sms_in(h, c, "+5511933330003")
    anas = await sms_in(h, c, "+5511933330004")
    brunos = await sms_in(h, c, "+5511933330005")
    await h.post(f"/api/v1/conversations/{anas}/assign", {"agent_id": h.user_ids["ana"]}, who="ana")
    await h.post(f"/api/v1/conversations/{brunos}/assign", {"agent_id": h.user_ids["bruno"]}, who="bruno")
    await h.post(f"/api/v1/conversations/{brunos}/close", who="bruno")
    r = await h.post("/api/v1/messages", {"connector_id": c["id"], "to": "+5511933330006", "text": "Oferta"})
    outbound_only = r.json()["conversation_id"]
    # Ana: what she holds plus the unassigned queue; not Bruno's (even concluded), not the admin's send.
    assert listed(await h.get("/api/v1/conversations", who="ana")) == {waiting, anas}
    assert listed(await h.get("/api/v1/conversations", who="bruno")) == {waiting, brunos}
    assert (await h.get(f"/api/v1/conversations/{brunos}", who="ana")).status_code == 404
    assert (await h.get(f"/api/v1/conversations/{outbound_only}", who="ana")).status_code == 404
    # Supervisors (no team) see the whole default queue; so does the admin.
    assert listed(await h.get("/api/v1/conversations", who="supervisor")) == {waiting, anas, brunos, outbound_only}
    assert (await h.get("/api/v1/conversations/counts", who="ana")).json() == {"new": 1, "open": 1, "done": 0}


async def test_handled_before_stays_readable_and_read_only(harness: Harness) -> None:
    h = harness
    s = await _two_teams(h)
    x = s["x"]
    assert (await h.post(f"/api/v1/conversations/{x}/assign", {"agent_id": h.user_ids["ana"]}, who="ana")
            ).status_code == 200
    r = await h.post(f"/api/v1/conversations/{x}/transfer", {"team_id": s["team_b"]["id"], "note": "é suporte"},
                     who="ana")
    assert r.status_code == 200 and r.json()["team_id"] == s["team_b"]["id"] and r.json()["status"] == "new"
    # She handled it: she still reads it (not in her lists), and may no longer act on it.
    assert (await h.get(f"/api/v1/conversations/{x}", who="ana")).status_code == 200
    assert x not in listed(await h.get("/api/v1/conversations", who="ana"))
    r = await h.post(f"/api/v1/conversations/{x}/messages", {"text": "ainda estou aqui"}, who="ana")
    assert r.status_code == 403
    assert x in listed(await h.get("/api/v1/conversations", who="bruno"))
    notes = [m for m in (await h.get(f"/api/v1/conversations/{x}/messages", who="bruno")).json()["items"]
             if m["kind"] == "note"]
    assert [n["text"] for n in notes] == ["é suporte"]  # the transfer's note, kept as an internal note


async def test_closing_an_unassigned_conversation_keeps_it_readable_to_whoever_closed_it(harness: Harness) -> None:
    h = harness
    c = await kolmeya(h, 1)
    waiting = await sms_in(h, c, "+5511933330011")
    assert (await h.post(f"/api/v1/conversations/{waiting}/close", who="ana")).status_code == 200
    # Closing is handling: Ana keeps reading it (read-only history), Bruno, who never touched it, does not.
    assert (await h.get(f"/api/v1/conversations/{waiting}", who="ana")).status_code == 200
    assert (await h.get(f"/api/v1/conversations/{waiting}/messages", who="ana")).status_code == 200
    assert (await h.get(f"/api/v1/conversations/{waiting}", who="bruno")).status_code == 404


async def test_team_visibility_shows_the_whole_team(harness: Harness) -> None:
    h = harness
    await h.add_user("carla", "agent")
    a = await kolmeya(h, 1)
    await make_team(h, "Cobrança", ["ana", "carla"], [a], visibility="team")
    x = await sms_in(h, a, "+5511944440001")
    await h.post(f"/api/v1/conversations/{x}/assign", {"agent_id": h.user_ids["ana"]}, who="ana")
    # Carla reads her colleague's conversation and may leave a note, not answer, take or close it.
    assert listed(await h.get("/api/v1/conversations", who="carla")) == {x}
    assert (await h.post(f"/api/v1/conversations/{x}/messages", {"kind": "note", "text": "ok"}, who="carla")
            ).status_code == 202
    assert (await h.post(f"/api/v1/conversations/{x}/messages", {"text": "oi"}, who="carla")).status_code == 403
    assert (await h.post(f"/api/v1/conversations/{x}/close", who="carla")).status_code == 403
    r = await h.post(f"/api/v1/conversations/{x}/assign", {"agent_id": h.user_ids["carla"]}, who="carla")
    assert r.status_code == 409 and r.json()["detail"] == "já está em atendimento por Ana"
    assert listed(await h.get("/api/v1/conversations", who="bruno")) == set()


async def test_media_only_for_its_uploader_and_whoever_reads_its_conversation(harness: Harness) -> None:
    h = harness
    await h.add_user("carla", "agent")
    wa = await h.whatsapp_connector()
    await make_team(h, "WhatsApp", ["bruno", "carla"], [wa], visibility="team")
    from tests.support.whatsapp import inbound

    msg = await inbound(h, wa, "5511987654321", "Oi")
    cid = msg["conversation_id"]
    files = {"file": ("boleto.png", PNG, "image/png")}
    up = await h.client.post("/api/v1/media", files=files, headers=h.auth("bruno"))
    assert up.status_code == 201, up.text
    media_id = up.json()["id"]
    assert (await h.get(f"/api/v1/media/{media_id}", who="bruno")).status_code == 200  # the uploader
    assert (await h.get(f"/api/v1/media/{media_id}", who="carla")).status_code == 404  # not sent yet
    r = await h.post(f"/api/v1/conversations/{cid}/messages", {"kind": "image", "media_id": media_id}, who="bruno")
    assert r.status_code == 202, r.text
    assert (await h.get(f"/api/v1/media/{media_id}", who="carla")).status_code == 200  # her team's conversation
    assert (await h.get(f"/api/v1/media/{media_id}/info", who="carla")).status_code == 200
    for who in ("ana", "supervisor"):
        assert (await h.get(f"/api/v1/media/{media_id}", who=who)).status_code == 404
        assert (await h.get(f"/api/v1/media/{media_id}/info", who=who)).status_code == 404
    assert (await h.get(f"/api/v1/media/{media_id}", who="admin")).status_code == 200
