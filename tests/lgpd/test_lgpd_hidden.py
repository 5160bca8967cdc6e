"""Hiding a sensitive message: agents no longer read it (API, pages, files), supervisors do; audited."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import select

from atende.db.tables import audit_log
from tests.support.harness import Harness
from tests.web.pagekit import PageClient, sms_conversation

Pages = Callable[[str], Awaitable[PageClient]]
SECRET = "minha senha do banco é 9988"


async def test_agents_hide_and_supervisors_still_read(harness: Harness, pages: Pages) -> None:
    h = harness
    one = await sms_conversation(h, reply=SECRET)
    cid = one["conversation"]["id"]
    thread = (await h.get(f"/api/v1/conversations/{cid}/messages")).json()["items"]
    msg_id = thread[-1]["id"]

    r = await h.post(f"/api/v1/messages/{msg_id}/hide", who="ana")
    assert r.status_code == 200, r.text
    assert r.json()["content_withheld"] is True and r.json()["text"] is None

    as_agent = (await h.get(f"/api/v1/conversations/{cid}/messages", who="bruno")).json()["items"][-1]
    assert as_agent["text"] is None and as_agent["content_withheld"] is True and as_agent["hidden_at"]
    as_supervisor = (await h.get(f"/api/v1/conversations/{cid}/messages", who="supervisor")).json()["items"][-1]
    assert as_supervisor["text"] == SECRET and "content_withheld" not in as_supervisor
    timeline = (await h.get(f"/api/v1/contacts/{one['conversation']['contact']['id']}/timeline", who="ana")).json()
    assert SECRET not in str(timeline)
    assert SECRET not in (await h.get(f"/api/v1/conversations/{cid}", who="ana")).text  # the preview too
    found = (await h.get("/api/v1/search", params={"q": "senha banco"}, who="ana")).json()["items"]
    assert [i for i in found if i["message_id"] == msg_id] == []  # nor search
    found = (await h.get("/api/v1/search", params={"q": "senha banco"}, who="supervisor")).json()["items"]
    assert [i["message_id"] for i in found if i["match"] == "message"] == [msg_id]

    ana = await pages("ana")
    page = (await ana.get(f"/conversations/{cid}")).text
    assert SECRET not in page and 'data-testid="withheld"' in page
    assert SECRET not in (await ana.get("/board")).text
    boss = await pages("supervisor")
    page = (await boss.get(f"/conversations/{cid}")).text
    assert SECRET in page and f'hx-post="/messages/{msg_id}/unhide"' in page

    assert (await h.post(f"/api/v1/messages/{msg_id}/unhide", who="ana")).status_code == 403
    r = await boss.post(f"/messages/{msg_id}/unhide")
    assert r.status_code == 200 and SECRET in r.text
    shown = (await h.get(f"/api/v1/conversations/{cid}/messages", who="bruno")).json()["items"][-1]
    assert shown["text"] == SECRET
    async with h.rt.read() as conn:
        entries = [(e.action, e.actor_id, e.target_id) for e in await conn.execute(
            select(audit_log).where(audit_log.c.action.in_(("message.hide", "message.unhide")))
            .order_by(audit_log.c.id))]
    assert entries == [("message.hide", h.user_ids["ana"], msg_id),
                       ("message.unhide", h.user_ids["supervisor"], msg_id)]


async def test_a_hidden_file_is_withheld_from_agents(harness: Harness) -> None:
    from tests.support.lgpd import build_world

    h = harness
    world = await build_world(h, opt_out=False)
    cid = world.titular.conversation_ids[0]
    r = await h.post(f"/api/v1/conversations/{cid}/assign", {"agent_id": h.user_ids["ana"]})  # Ana serves it
    assert r.status_code == 200, r.text
    thread = (await h.get(f"/api/v1/conversations/{cid}/messages")).json()["items"]
    image = next(m for m in thread if m["media_id"])
    assert (await h.get(f"/api/v1/media/{image['media_id']}", who="ana")).status_code == 200
    assert (await h.post(f"/api/v1/messages/{image['id']}/hide", who="ana")).status_code == 200
    assert (await h.get(f"/api/v1/media/{image['media_id']}", who="ana")).status_code == 404
    got = await h.get(f"/api/v1/media/{image['media_id']}", who="supervisor")
    assert got.status_code == 200 and got.content == world.titular.image
