"""Security §6: send quotas, webhook item caps and provider clocks from the future."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from atende.db.tables import jobs, messages
from tests.support.harness import Harness


def _path(connector: dict) -> str:
    return "/webhooks/" + connector["webhook_url"].rsplit("/", 1)[1]


async def test_per_user_send_quota(harness: Harness) -> None:
    h = harness
    h.rt.settings.send_quota_per_hour, h.rt.settings.send_quota_per_day = 3, 5
    c = await h.kolmeya_connector()
    for i in range(3):
        r = await h.post("/api/v1/messages", {"connector_id": c["id"], "to": f"+551199999000{i}", "text": "oi"},
                         who="ana")
        assert r.status_code == 202, r.text
    r = await h.post("/api/v1/messages", {"connector_id": c["id"], "to": "+5511999990009", "text": "oi"}, who="ana")
    assert r.status_code == 429 and r.json()["code"] == "send_quota"
    async with h.rt.read() as conn:  # the refused send left nothing behind
        assert await conn.scalar(select(func.count()).select_from(messages)) == 3
    # Another user has a quota of their own.
    r = await h.post("/api/v1/messages", {"connector_id": c["id"], "to": "+5511999990009", "text": "oi"}, who="bruno")
    assert r.status_code == 202


async def test_daily_quota(harness: Harness) -> None:
    h = harness
    h.rt.settings.send_quota_per_hour, h.rt.settings.send_quota_per_day = 0, 2
    c = await h.kolmeya_connector()
    codes = [(await h.post("/api/v1/messages", {"connector_id": c["id"], "to": "+5511999990001", "text": "oi"},
                           who="ana")).status_code for _ in range(3)]
    assert codes == [202, 202, 429]


async def test_webhook_item_cap_per_request(harness: Harness) -> None:
    h = harness
    h.rt.settings.webhook_max_items = 50
    c = await h.kolmeya_connector()
    body = {"id": "req-big", "reference": None, "messages": [
        {"id": f"m-{i}", "reference": None, "status_code": 3, "status": "entregue"} for i in range(51)]}
    r = await h.client.post(_path(c), json=body)
    assert r.status_code == 413 and r.json()["detail"]
    async with h.rt.read() as conn:
        assert await conn.scalar(select(func.count()).select_from(jobs).where(jobs.c.kind == "apply_status_later")) == 0
    body["messages"] = body["messages"][:50]
    assert (await h.client.post(_path(c), json=body)).status_code == 200


async def test_timestamps_from_the_future_are_clamped_and_kept(harness: Harness) -> None:
    h = harness
    c = await h.kolmeya_connector()
    future = datetime.now(UTC) + timedelta(days=30)
    stamp = future.astimezone(ZoneInfo("America/Sao_Paulo")).strftime("%d/%m/%Y %H:%M:%S")
    body = {"reply": {"id": "future-1", "reply": "do futuro", "received_at": stamp,
                      "message": {"id": None, "reference": None, "phone": "5511999999999", "content": "x"}}}
    before = datetime.now(UTC)
    assert (await h.client.post(_path(c), json=body)).status_code == 200
    conv = (await h.get("/api/v1/conversations")).json()["items"][0]
    msg = (await h.get(f"/api/v1/conversations/{conv['id']}/messages")).json()["items"][0]
    created = datetime.fromisoformat(msg["created_at"].replace("Z", "+00:00"))
    assert before - timedelta(seconds=2) <= created <= datetime.now(UTC) + timedelta(seconds=2)
    assert msg["attributes"]["provider_timestamp"].startswith(future.strftime("%Y-%m-%d"))
    async with h.rt.read() as conn:
        raw = await conn.scalar(select(messages.c.raw).where(messages.c.id == msg["id"]))
    assert stamp in str(raw)
    # A few minutes of clock skew are trusted as they are.
    near = (datetime.now(UTC) + timedelta(minutes=2)).astimezone(ZoneInfo("America/Sao_Paulo"))
    body["reply"].update(id="near-1", received_at=near.strftime("%d/%m/%Y %H:%M:%S"))
    assert (await h.client.post(_path(c), json=body)).status_code == 200
    items = (await h.get(f"/api/v1/conversations/{conv['id']}/messages")).json()["items"]
    assert "provider_timestamp" not in items[-1]["attributes"]
