"""Security §2: webhook URLs are secrets; provider base URLs are checked; connection tests say little."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from atende.auth.tokens import token_hash
from atende.db.tables import audit_log, connectors
from atende.runtime import Runtime
from tests.support.harness import KOLMEYA_BASE, KOLMEYA_TOKEN, Harness

REPLY = {"reply": {"id": "r-1", "reply": "oi", "received_at": "16/11/2025 14:30:00",
                   "message": {"id": None, "reference": None, "phone": "5511999999999", "content": "x"}}}


def _token(connector: dict) -> str:
    return str(connector["webhook_url"].rsplit("/", 1)[1])


async def test_only_admins_see_webhook_urls(harness: Harness) -> None:
    h = harness
    c = await h.kolmeya_connector()
    assert c["webhook_url"]
    for who in ("supervisor", "ana"):
        listed = (await h.get("/api/v1/connectors", who=who)).json()["items"]
        one = (await h.get(f"/api/v1/connectors/{c['id']}", who=who)).json()
        assert "webhook_url" not in listed[0] and "webhook_url" not in one, who
    assert (await h.get(f"/api/v1/connectors/{c['id']}")).json()["webhook_url"] == c["webhook_url"]


async def test_webhook_tokens_are_stored_hashed(harness: Harness) -> None:
    h = harness
    c = await h.kolmeya_connector()
    async with h.rt.read() as conn:
        row = (await conn.execute(select(connectors).where(connectors.c.id == c["id"]))).one()
    assert row.webhook_token_hash == token_hash(_token(c))
    assert _token(c) not in " ".join(str(v) for v in row)  # no column holds it in clear


async def test_rotate_webhook_gives_a_new_url_and_the_old_one_404s_at_once(harness: Harness) -> None:
    h = harness
    c = await h.kolmeya_connector()
    old = _token(c)
    assert (await h.client.post(f"/webhooks/{old}", json=REPLY)).status_code == 200  # warms the cache
    # Another process with a warm cache, on the same bus.
    other = Runtime.create(h.rt.settings, bus=h.rt.bus, http=h.rt.http)
    other.watch_connectors()
    await asyncio.sleep(0)
    assert await other.connector_by_token(old) is not None
    for who in ("supervisor", "ana"):
        assert (await h.post(f"/api/v1/connectors/{c['id']}/rotate-webhook", who=who)).status_code == 403
    r = await h.post(f"/api/v1/connectors/{c['id']}/rotate-webhook")
    assert r.status_code == 200, r.text
    new = _token(r.json())
    assert new != old and r.json()["id"] == c["id"]
    assert (await h.client.post(f"/webhooks/{old}", json=REPLY)).status_code == 404
    await asyncio.sleep(0.01)
    assert await other.connector_by_token(old) is None
    assert (await h.client.post(f"/webhooks/{new}", json=REPLY)).status_code == 200
    async with h.rt.read() as conn:
        actions = [r.action for r in await conn.execute(select(audit_log.c.action))]
    assert "connector.rotate_webhook" in actions and "connector.create" in actions
    other._watcher.cancel()  # type: ignore[union-attr]


async def test_changing_base_url_needs_the_secrets_again(harness: Harness) -> None:
    h = harness
    c = await h.kolmeya_connector()
    path = f"/api/v1/connectors/{c['id']}"
    r = await h.client.patch(path, json={"config": {"base_url": "https://elsewhere.example.com/api/v1"}},
                             headers=h.auth())
    assert r.status_code == 422 and "api_token" in r.json()["detail"]
    r = await h.client.patch(path, json={"config": {"base_url": "https://elsewhere.example.com/api/v1",
                                                    "api_token": "new-token"}}, headers=h.auth())
    assert r.status_code == 200, r.text
    # Other edits keep working without secrets.
    r = await h.client.patch(path, json={"config": {"poll_interval_s": 0}}, headers=h.auth())
    assert r.status_code == 200, r.text


async def test_unsafe_base_urls_are_refused(harness: Harness) -> None:
    h = harness
    for url in ("http://kolmeya.example.com/api/v1", "https://169.254.169.254/latest", "http://169.254.169.254/",
                "https://metadata.google.internal/x", "https://[fe80::1]/api", "ftp://kolmeya.com.br/"):
        body = {"name": "k", "provider": "kolmeya", "config": {"api_token": KOLMEYA_TOKEN, "base_url": url}}
        r = await h.post("/api/v1/connectors", body)
        assert r.status_code == 422, (url, r.status_code, r.text)


async def test_http_loopback_needs_the_setting(harness: Harness) -> None:
    h = harness
    h.rt.settings.allow_http_loopback_providers = False
    try:
        body = {"name": "k", "provider": "kolmeya", "config": {"api_token": KOLMEYA_TOKEN, "base_url": KOLMEYA_BASE}}
        r = await h.post("/api/v1/connectors", body)
        assert r.status_code == 422 and "ATENDE_ALLOW_HTTP_LOOPBACK_PROVIDERS" in r.json()["detail"]
        body["config"]["base_url"] = "https://kolmeya.com.br/api/v1"
        assert (await h.post("/api/v1/connectors", body)).status_code == 201
    finally:
        h.rt.settings.allow_http_loopback_providers = True


async def test_connection_test_never_shows_the_remote_body(harness: Harness) -> None:
    h = harness
    evil = FastAPI()

    @evil.api_route("/{path:path}", methods=["GET", "POST"])
    async def anything(path: str) -> HTMLResponse:
        return HTMLResponse("<html><script>alert(1)</script>SEGREDO-REMOTO token=abc</html>", status_code=403)

    h.router.add("evil.test", evil)
    c = await h.kolmeya_connector(base_url="http://evil.test/api/v1")
    r = await h.post(f"/api/v1/connectors/{c['id']}/test")
    assert r.status_code == 200
    detail = r.json()["detail"]
    assert r.json()["ok"] is False and "403" in detail
    assert "SEGREDO" not in detail and "<" not in detail and len(detail) <= 300
    async with h.rt.read() as conn:
        assert "connector.test" in [r.action for r in await conn.execute(select(audit_log.c.action))]
