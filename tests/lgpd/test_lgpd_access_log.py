"""The access log: who opened which customer, once per user, contact and hour, on every surface."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

from atende.actions import access_log
from atende.db.types import utcnow
from tests.support.harness import Harness
from tests.web.pagekit import PageClient, sms_conversation

Pages = Callable[[str], Awaitable[PageClient]]


async def _views(h: Harness, contact_id: int, who: str = "admin") -> list[dict]:
    r = await h.get("/api/v1/audit", who=who, params={"contact_id": contact_id, "action": "contact.view"})
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


async def test_opens_are_logged_once_per_user_contact_and_hour(harness: Harness, pages: Pages,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    h = harness
    one = await sms_conversation(h)
    conv = one["conversation"]
    contact_id = conv["contact"]["id"]
    setup = len(await _views(h, contact_id))  # the helper itself read the conversation (as admin)
    # Ana serves the customer (the whole timeline is for whoever serves the contact now, issue 8).
    r = await h.post(f"/api/v1/conversations/{conv['id']}/assign", {"agent_id": h.user_ids["ana"]})
    assert r.status_code == 200, r.text
    ana = await pages("ana")
    for path in (f"/conversations/{conv['id']}", f"/conversations/{conv['id']}/pane", f"/contacts/{contact_id}"):
        assert (await ana.get(path)).status_code == 200, path
    for path in (f"/api/v1/conversations/{conv['id']}", f"/api/v1/conversations/{conv['id']}/messages",
                 f"/api/v1/contacts/{contact_id}", f"/api/v1/contacts/{contact_id}/timeline"):
        assert (await h.get(path, who="ana")).status_code == 200, path
    views = (await _views(h, contact_id))[:-setup or None]
    assert [(v["actor_id"], v["target_id"]) for v in views] == [(h.user_ids["ana"], contact_id)]
    assert views[0]["detail"] == {"via": "conversation", "conversation_id": conv["id"]}

    supervisor = await pages("supervisor")
    assert (await supervisor.get(f"/contacts/{contact_id}")).status_code == 200
    assert (await supervisor.get(f"/contacts/{contact_id}")).status_code == 200
    views = (await _views(h, contact_id))[:-setup or None]
    assert [v["actor_id"] for v in views] == [h.user_ids["supervisor"], h.user_ids["ana"]]
    assert views[0]["detail"] == {"via": "contact"}

    # An hour later, the same user opening the same customer is a new entry.
    later = utcnow() + timedelta(hours=1)
    monkeypatch.setattr(access_log, "utcnow", lambda: later)
    await h.get(f"/api/v1/conversations/{conv['id']}", who="ana")
    await h.get(f"/api/v1/conversations/{conv['id']}", who="ana")
    views = (await _views(h, contact_id))[:-setup or None]
    assert [v["actor_id"] for v in views] == [h.user_ids["ana"], h.user_ids["supervisor"], h.user_ids["ana"]]
    assert all(set(v["detail"]) <= {"via", "conversation_id"} for v in views)  # ids only, never names or numbers


async def test_the_dpo_reads_who_looked_and_agents_do_not(harness: Harness, pages: Pages) -> None:
    h = harness
    await h.add_user("dora", "dpo")
    one = await sms_conversation(h)
    contact_id = one["conversation"]["contact"]["id"]
    await h.get(f"/api/v1/contacts/{contact_id}", who="ana")
    assert (await _views(h, contact_id, who="dora"))[0]["actor_id"] == h.user_ids["ana"]
    for who in ("ana", "supervisor"):
        r = await h.get("/api/v1/audit", who=who, params={"contact_id": contact_id})
        assert r.status_code == 403
    admin = await pages("admin")
    page = (await admin.get(f"/contacts/{contact_id}")).text
    assert 'data-testid="views"' in page and "Ana" in page  # who looked, on the contact page
