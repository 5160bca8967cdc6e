"""The audit log: written by actions in their transaction, read by admins only."""

from __future__ import annotations

from atende.actions import audit
from atende.db.tables import audit_log
from tests.support.harness import Harness


async def _seed(h: Harness) -> None:
    async with h.rt.write() as tx:
        await tx.conn.execute(audit_log.delete())  # only these entries (the harness's setup is audited too)
        await audit.record(tx, "login.ok", actor_id=h.user_ids["ana"], target_type="user",
                           target_id=h.user_ids["ana"], ip="10.0.0.1")
        await audit.record(tx, "login.failed", actor_id=None, ip="10.0.0.2", detail={"reason": "password"})
        await audit.record(tx, "contact.view", actor_id=h.user_ids["bruno"], target_type="contact", target_id=7,
                           contact_id=7)
        await audit.record(tx, "conversation.take", actor_id=h.user_ids["ana"], target_type="conversation",
                           target_id=3, contact_id=7)


async def test_admin_reads_newest_first_with_filters(harness: Harness) -> None:
    await _seed(harness)
    r = await harness.get("/api/v1/audit")
    assert r.status_code == 200, r.text
    actions = [i["action"] for i in r.json()["items"]]
    assert actions == ["conversation.take", "contact.view", "login.failed", "login.ok"]
    item = r.json()["items"][-1]
    assert set(item) >= {"id", "at", "actor_id", "action", "target_type", "target_id", "ip", "detail"}
    assert item["ip"] == "10.0.0.1" and item["at"].endswith("Z")

    r = await harness.get("/api/v1/audit", params={"action": "login."})
    assert [i["action"] for i in r.json()["items"]] == ["login.failed", "login.ok"]
    r = await harness.get("/api/v1/audit", params={"contact_id": 7})
    assert [i["action"] for i in r.json()["items"]] == ["conversation.take", "contact.view"]
    r = await harness.get("/api/v1/audit", params={"actor": harness.user_ids["ana"]})
    assert [i["action"] for i in r.json()["items"]] == ["conversation.take", "login.ok"]
    r = await harness.get("/api/v1/audit", params={"from": "2000-01-01", "to": "2000-01-02"})
    assert r.json()["items"] == []


async def test_keyset_pages_cover_everything_once(harness: Harness) -> None:
    await _seed(harness)
    seen: list[int] = []
    cursor = None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        body = (await harness.get("/api/v1/audit", params=params)).json()
        seen += [i["id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 4
    assert seen == sorted(seen, reverse=True)


async def test_only_admins_read_the_audit_log(harness: Harness) -> None:
    for who in ("supervisor", "ana"):
        assert (await harness.get("/api/v1/audit", who=who)).status_code == 403
    assert (await harness.client.get("/api/v1/audit")).status_code == 401


async def test_bad_filters_are_4xx(harness: Harness) -> None:
    for params in ({"cursor": "!!"}, {"cursor": "OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk"}, {"from": "ontem"},
                   {"actor": "99999999999999999999"}, {"action": "DROP TABLE"}):
        r = await harness.get("/api/v1/audit", params=params)
        assert 400 <= r.status_code < 500, (params, r.status_code)
