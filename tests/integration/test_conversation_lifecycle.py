"""new → open → done, reopen on inbound, transfer, routing, counters and attendances."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from atende.actions.routing import auto_close_idle, auto_release_unanswered
from atende.db.tables import attendances, conversations
from atende.db.types import utcnow
from tests.support.harness import Harness


async def _inbound(h: Harness, c: dict, phone: str, text: str, rid: str) -> dict:
    body = {"reply": {"id": rid, "reply": text, "received_at": "16/11/2025 14:30:00",
                      "message": {"id": f"m-{rid}", "reference": None, "phone": phone, "content": "x"}}}
    r = await h.client.post("/webhooks/" + c["webhook_url"].rsplit("/", 1)[1], json=body)
    assert r.status_code == 200, r.text
    items = (await h.get("/api/v1/conversations")).json()["items"]
    return next(i for i in items if i["contact"]["address"].endswith(phone[-8:]))


async def _counts(h: Harness, **params: str) -> dict:
    return dict((await h.get("/api/v1/conversations/counts", params=params)).json())


async def test_lifecycle_and_board_counts(harness: Harness) -> None:
    h = harness
    c = await h.kolmeya_connector()
    conv = await _inbound(h, c, "5511999990001", "Olá", "1")
    assert conv["status"] == "new" and conv["assignee"] is None
    assert await _counts(h) == {"new": 1, "open": 0, "done": 0}

    ana = h.user_ids["ana"]
    r = await h.post(f"/api/v1/conversations/{conv['id']}/assign", {"agent_id": ana}, who="ana")
    assert r.status_code == 200 and r.json()["status"] == "open" and r.json()["assignee"]["name"] == "Ana"
    assert await _counts(h) == {"new": 0, "open": 1, "done": 0}
    assert await _counts(h, assignee="me") == {"new": 0, "open": 0, "done": 0}  # admin has none
    # Bruno (agent) may not take Ana's conversation (a compare-and-set: 409); a supervisor may transfer it.
    r = await h.post(f"/api/v1/conversations/{conv['id']}/assign", {"agent_id": h.user_ids["bruno"]}, who="bruno")
    assert r.status_code == 409 and r.json()["detail"] == "já está em atendimento por Ana"
    r = await h.post(f"/api/v1/conversations/{conv['id']}/assign", {"agent_id": h.user_ids["bruno"]},
                     who="supervisor")
    assert r.status_code == 200 and r.json()["assignee"]["id"] == h.user_ids["bruno"]

    r = await h.post(f"/api/v1/conversations/{conv['id']}/close", who="bruno")
    assert r.json()["status"] == "done"
    assert await _counts(h) == {"new": 0, "open": 0, "done": 1}
    # Ana handled it before: she still reads it, but it is Bruno's to reopen (read-only for her).
    r = await h.post(f"/api/v1/conversations/{conv['id']}/reopen", who="ana")
    assert r.status_code == 403 and (await h.get(f"/api/v1/conversations/{conv['id']}", who="ana")).status_code == 200
    assert (await h.post(f"/api/v1/conversations/{conv['id']}/reopen", who="bruno")).json()["status"] == "new"
    await h.post(f"/api/v1/conversations/{conv['id']}/close", who="supervisor")

    # An inbound message on a done conversation reopens it as new, unassigned, with a fresh attendance.
    conv2 = await _inbound(h, c, "5511999990001", "Voltei", "2")
    assert conv2["id"] == conv["id"] and conv2["status"] == "new" and conv2["assignee"] is None
    async with h.rt.read() as conn:
        n = len(list(await conn.execute(select(attendances).where(attendances.c.conversation_id == conv["id"]))))
    assert n == 3  # first contact, agent reopen, customer reopen
    assert await _counts(h) == {"new": 1, "open": 0, "done": 0}


async def test_agent_reply_takes_conversation_and_sets_first_response(harness: Harness) -> None:
    h = harness
    c = await h.kolmeya_connector()
    conv = await _inbound(h, c, "5511999990002", "Bom dia", "3")
    r = await h.post(f"/api/v1/conversations/{conv['id']}/messages", {"text": "Bom dia! Como posso ajudar?"},
                     who="ana")
    assert r.status_code == 202 and r.json()["status"] == "queued"
    conv = (await h.get(f"/api/v1/conversations/{conv['id']}")).json()
    assert conv["status"] == "open" and conv["assignee"]["id"] == h.user_ids["ana"]
    async with h.rt.read() as conn:
        att = (await conn.execute(select(attendances).where(attendances.c.conversation_id == conv["id"]))).one()
    assert att.first_response_at is not None and att.assigned_at is not None


async def test_auto_assignment_picks_least_loaded_online_agent(harness: Harness) -> None:
    h = harness
    c = await h.kolmeya_connector()
    conv = await _inbound(h, c, "5511999990003", "Oi", "4")
    await h.drain()
    assert (await h.get(f"/api/v1/conversations/{conv['id']}")).json()["assignee"] is None  # nobody online
    for who in ("ana", "bruno"):
        assert (await h.post("/api/v1/me/presence", {"presence": "online"}, who=who)).status_code == 200
    await h.drain()  # going online routes the waiting queue
    first = (await h.get(f"/api/v1/conversations/{conv['id']}")).json()
    assert first["status"] == "open" and first["assignee"]["id"] == h.user_ids["ana"]
    conv2 = await _inbound(h, c, "5511999990004", "Oi de novo", "5")
    await h.drain()
    second = (await h.get(f"/api/v1/conversations/{conv2['id']}")).json()
    assert second["assignee"]["id"] == h.user_ids["bruno"]  # Ana already has one


async def test_auto_release_and_auto_close(harness: Harness) -> None:
    h = harness
    c = await h.kolmeya_connector()
    conv = await _inbound(h, c, "5511999990005", "Alguém?", "6")
    await h.post(f"/api/v1/conversations/{conv['id']}/assign", {"agent_id": h.user_ids["ana"]}, who="ana")
    long_ago = utcnow() - timedelta(hours=30)
    async with h.rt.write() as tx:
        await tx.conn.execute(update(attendances).where(attendances.c.conversation_id == conv["id"])
                              .values(assigned_at=long_ago))
        assert await auto_release_unanswered(tx, timedelta(minutes=15)) == 1
    assert (await h.get(f"/api/v1/conversations/{conv['id']}")).json()["status"] == "new"

    await h.post(f"/api/v1/conversations/{conv['id']}/messages", {"text": "Estou aqui"}, who="ana")
    async with h.rt.write() as tx:
        await tx.conn.execute(update(conversations).where(conversations.c.id == conv["id"])
                              .values(last_activity_at=long_ago))
        assert await auto_release_unanswered(tx, timedelta(minutes=15)) == 0  # answered: not released
        assert await auto_close_idle(tx, timedelta(hours=24)) == 1
    assert (await h.get(f"/api/v1/conversations/{conv['id']}")).json()["status"] == "done"


async def test_one_history_per_contact_across_connectors(harness: Harness) -> None:
    h = harness
    c1 = await h.kolmeya_connector()
    c2 = await h.kolmeya_connector(tenant_segment_id=109)
    a = await _inbound(h, c1, "5511999990006", "pelo primeiro", "7")
    body = {"reply": {"id": "8", "reply": "pelo segundo", "received_at": "16/11/2025 14:35:00",
                      "message": {"id": "m-8", "reference": None, "phone": "551199990006", "content": "x"}}}
    assert (await h.client.post("/webhooks/" + c2["webhook_url"].rsplit("/", 1)[1], json=body)).status_code == 200
    convs = (await h.get("/api/v1/conversations")).json()["items"]
    assert len(convs) == 2 and {x["contact"]["id"] for x in convs} == {a["contact"]["id"]}  # 12-digit form too
    timeline = (await h.get(f"/api/v1/contacts/{a['contact']['id']}/timeline")).json()["items"]
    assert [t["text"] for t in timeline] == ["pelo primeiro", "pelo segundo"]


async def test_no_routing_work_while_nobody_can_take_it(harness: Harness) -> None:
    """Inbound messages with no agent online queue no routing jobs; going online routes the backlog."""
    h = harness
    c = await h.kolmeya_connector()
    for i in range(3):
        await _inbound(h, c, f"55119999901{i:02d}", "Olá", f"q{i}")
    pending = (await h.get("/api/v1/jobs", params={"status": "pending"}, who="supervisor")).json()["items"]
    assert not [j for j in pending if j["kind"] == "route"]
    assert (await h.post("/api/v1/me/presence", {"presence": "online"}, who="ana")).status_code == 200
    await h.drain()
    assert (await _counts(h, assignee="me")) == {"new": 0, "open": 0, "done": 0}  # admin took none
    convs = (await h.get("/api/v1/conversations", params={"assignee": str(h.user_ids["ana"])})).json()["items"]
    assert len(convs) == 3 and {x["status"] for x in convs} == {"open"}
