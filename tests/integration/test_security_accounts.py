"""Security §4: API tokens, user changes, sessions and live streams, login throttling and audit."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from atende import cli
from atende.actions import users as user_actions
from atende.app import create_app
from atende.auth import passwords
from atende.db.tables import api_tokens, audit_log, login_throttle
from atende.realtime.sse import stream
from atende.runtime import Runtime
from tests.support.harness import APP_HOST, Harness
from tests.web.pagekit import PageClient


async def _audit(h: Harness) -> list[str]:
    async with h.rt.read() as conn:
        return [r.action for r in await conn.execute(select(audit_log.c.action).order_by(audit_log.c.id))]


async def test_tokens_create_list_revoke(harness: Harness) -> None:
    h = harness
    r = await h.post("/api/v1/tokens", {"name": "integração Odoo"}, who="ana")
    assert r.status_code == 201, r.text
    created = r.json()
    assert set(created) >= {"id", "name", "token", "created_at", "expires_at"} and created["expires_at"] is None
    bearer = {"Authorization": f"Bearer {created['token']}"}
    assert (await h.client.get("/api/v1/me", headers=bearer)).json()["email"] == "ana@example.com"

    mine = (await h.get("/api/v1/tokens", who="ana")).json()["items"]
    assert [t["id"] for t in mine if t["user_id"] == h.user_ids["ana"]] and \
        all(t["user_id"] == h.user_ids["ana"] for t in mine)
    listed = next(t for t in mine if t["id"] == created["id"])
    assert "token" not in listed and "token_hash" not in listed and listed["last_used_at"] is not None
    everyone = (await h.get("/api/v1/tokens")).json()["items"]
    assert {t["user_id"] for t in everyone} >= {h.user_ids["ana"], h.user_ids["bruno"], h.user_ids["admin"]}

    # Someone else's token is not found; the owner (or an admin) revokes and it is a 401 at once.
    assert (await h.client.delete(f"/api/v1/tokens/{created['id']}", headers=h.auth("bruno"))).status_code == 404
    assert (await h.client.delete(f"/api/v1/tokens/{created['id']}", headers=h.auth("ana"))).status_code == 204
    assert (await h.client.get("/api/v1/me", headers=bearer)).status_code == 401
    assert {"token.create", "token.revoke"} <= set(await _audit(h))


async def test_expired_tokens_are_refused(harness: Harness) -> None:
    h = harness
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    assert (await h.post("/api/v1/tokens", {"name": "x", "expires_at": past})).status_code == 422
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    r = await h.post("/api/v1/tokens", {"name": "x", "expires_at": soon})
    assert r.status_code == 201 and r.json()["expires_at"]
    bearer = {"Authorization": f"Bearer {r.json()['token']}"}
    assert (await h.client.get("/api/v1/me", headers=bearer)).status_code == 200
    async with h.rt.write() as tx:
        await tx.conn.execute(update(api_tokens).where(api_tokens.c.id == r.json()["id"])
                              .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert (await h.client.get("/api/v1/me", headers=bearer)).status_code == 401


async def test_last_used_is_written_at_most_once_a_minute(harness: Harness) -> None:
    h = harness
    r = await h.post("/api/v1/tokens", {"name": "x"})
    bearer = {"Authorization": f"Bearer {r.json()['token']}"}
    await h.client.get("/api/v1/me", headers=bearer)
    async with h.rt.read() as conn:
        first = await conn.scalar(select(api_tokens.c.last_used_at).where(api_tokens.c.id == r.json()["id"]))
    await h.client.get("/api/v1/me", headers=bearer)
    async with h.rt.read() as conn:
        second = await conn.scalar(select(api_tokens.c.last_used_at).where(api_tokens.c.id == r.json()["id"]))
    assert first is not None and first == second


async def test_patch_user_is_admin_only_and_validated(harness: Harness) -> None:
    h = harness
    ana = h.user_ids["ana"]
    for who in ("supervisor", "ana"):
        r = await h.client.patch(f"/api/v1/users/{ana}", json={"name": "X"}, headers=h.auth(who))
        assert r.status_code == 403
    r = await h.client.patch(f"/api/v1/users/{ana}", json={"name": "Ana Paula", "role": "supervisor", "capacity": 0},
                             headers=h.auth())
    assert r.status_code == 200 and (r.json()["name"], r.json()["role"], r.json()["capacity"]) == \
        ("Ana Paula", "supervisor", 0)
    for bad in ({"capacity": -1}, {"role": "root"}, {"password": "curta"}, {"name": ""}):
        r = await h.client.patch(f"/api/v1/users/{ana}", json=bad, headers=h.auth())
        assert r.status_code == 422, bad
    r = await h.client.patch(f"/api/v1/users/{h.user_ids['admin']}", json={"active": False}, headers=h.auth())
    assert r.status_code == 403  # nobody locks themselves out
    assert (await h.client.patch("/api/v1/users/999999", json={"name": "x"}, headers=h.auth())).status_code == 404
    assert "user.update" in await _audit(h)


async def _sse_chunks(h: Harness, page: PageClient) -> asyncio.Task[list[str]]:
    """Open /api/v1/events on the page's session and collect until the server ends the stream."""
    async def run() -> list[str]:
        chunks: list[str] = []
        async with page.http.stream("GET", "/api/v1/events") as response:
            assert response.status_code == 200
            async for chunk in response.aiter_text():
                chunks.append(chunk)
        return chunks

    task = asyncio.create_task(run())
    await asyncio.sleep(0.2)
    return task


async def test_deactivation_ends_sessions_tokens_and_streams_at_once(harness: Harness) -> None:
    h = harness
    page = PageClient(h)
    assert (await page.login("ana")).status_code == 303
    live = await _sse_chunks(h, page)
    assert not live.done()
    r = await h.client.patch(f"/api/v1/users/{h.user_ids['ana']}", json={"active": False}, headers=h.auth())
    assert r.status_code == 200 and r.json()["active"] is False
    async with asyncio.timeout(5):
        await live  # the stream ended by itself
    assert (await page.get("/api/v1/me")).status_code == 401
    assert (await h.get("/api/v1/me", who="ana")).status_code == 401
    assert (await page.login("ana")).status_code == 401
    await page.aclose()


async def test_logout_closes_that_sessions_streams_only(harness: Harness) -> None:
    h = harness
    first, second = PageClient(h), PageClient(h)
    assert (await first.login("ana")).status_code == 303 and (await second.login("ana")).status_code == 303
    live_first = await _sse_chunks(h, first)
    live_second = await _sse_chunks(h, second)
    assert (await first.post("/logout", htmx=False)).status_code == 303
    async with asyncio.timeout(5):
        await live_first
    await asyncio.sleep(0.2)
    assert not live_second.done()
    live_second.cancel()
    await first.aclose()
    await second.aclose()


async def test_stream_rechecks_auth_when_it_wakes(harness: Harness) -> None:
    """Without the bus message (another process, a lost publish), the stream still notices."""
    h = harness
    page = PageClient(h)
    assert (await page.login("ana")).status_code == 303

    from starlette.requests import Request

    cookie = page.http.cookies.get("atende_session")
    scope = {"type": "http", "method": "GET", "path": "/", "query_string": b"", "app": h.app,
             "headers": [(b"cookie", f"atende_session={cookie}".encode())]}

    async def receive() -> dict:
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    request = Request(scope, receive)
    import atende.realtime.sse as sse_module

    # The hub wakes every stream at each keepalive; a stream re-checks its session then (at most
    # every SESSION_RECHECK_S): make both quick.
    original = sse_module.SESSION_RECHECK_S
    sse_module.SESSION_RECHECK_S = 0
    h.rt.hub.keepalive_s = 0.1
    try:
        gen = stream(h.rt, request, after=0, user_id=h.user_ids["ana"], session_hash=None)
        assert (await gen.__anext__()).startswith("retry")
        async with h.rt.write() as tx:  # the session disappears behind the stream's back
            from sqlalchemy import delete

            from atende.db.tables import sessions

            await tx.conn.execute(delete(sessions))
        async with asyncio.timeout(5):
            rest = [chunk async for chunk in gen]
        assert not any("keepalive" in c for c in rest[-1:])
    finally:
        sse_module.SESSION_RECHECK_S = original
        await page.aclose()


async def test_login_unknown_email_does_the_same_work(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    h = harness
    calls: list[str] = []
    real = passwords.verify_password

    def counting(password: str, password_hash: str) -> bool:
        calls.append(password_hash[:10])
        return real(password, password_hash)

    monkeypatch.setattr(passwords, "verify_password", counting)
    page = PageClient(h)
    assert (await page.login("ninguem", "qualquer-senha")).status_code == 401
    assert (await page.login("ana", "senha-errada")).status_code == 401
    assert len(calls) == 2 and all(c.startswith("$argon2") for c in calls)  # one argon2 check each
    await page.aclose()


async def test_login_is_throttled_per_account_across_processes_with_audit(harness: Harness) -> None:
    h = harness
    limit = h.rt.settings.login_attempts_per_minute
    page = PageClient(h)
    for _ in range(limit):
        assert (await page.login("ana", "senha-errada")).status_code == 401
    blocked = await page.login("ana", "s3nha-forte")  # even the right password waits
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1
    # Another process (its own runtime and app, the same database) refuses too.
    rt2 = Runtime.create(h.rt.settings)
    app2 = create_app(rt=rt2, run_worker=False)
    app2.state.rt = rt2
    import httpx

    from atende.web.pages import install as install_pages  # noqa: F401 (the app installs them)
    other = PageClient(h)
    other.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app2), base_url=f"http://{APP_HOST}")
    assert (await other.login("ana")).status_code == 429
    # Other accounts from elsewhere are not blocked by ana's failures.
    assert (await other.login("bruno")).status_code == 303
    actions = await _audit(h)
    assert actions.count("login.failed") == limit and "login.throttled" in actions and "login.ok" in actions
    async with h.rt.read() as conn:
        keys = [r.key for r in await conn.execute(select(login_throttle.c.key))]
    assert keys and not any("ana" in k for k in keys)  # hashed: no e-mail addresses stored
    await page.aclose()
    await other.aclose()
    await rt2.close()


async def test_backoff_doubles(harness: Harness) -> None:
    from atende.actions import login_throttle as throttle

    key = throttle.account_key("x@example.com", 2)
    now = datetime.now(UTC)
    async with harness.rt.write() as tx:
        for _ in range(2):
            await throttle.record_failure(tx, [key], max_block_s=900, now=now)
        first = await throttle.blocked_for(tx, [key], now)
        later = now + timedelta(seconds=61)
        for _ in range(2):
            await throttle.record_failure(tx, [key], max_block_s=900, now=later)
        second = await throttle.blocked_for(tx, [key], later)
    assert 55 <= first <= 60 and 115 <= second <= 120


@pytest.mark.parametrize(("public_url", "force", "secure"), [
    ("http://atende.test", False, False), ("https://atende.example.com", False, True),
    ("http://atende.test", True, True)])
async def test_session_cookie_secure_flag(harness: Harness, public_url: str, force: bool, secure: bool) -> None:
    h = harness
    h.rt.settings.public_url, h.rt.settings.cookie_secure = public_url, force
    page = PageClient(h)
    page.http.base_url = f"https://{APP_HOST}"  # so the client returns Secure cookies
    response = await page.login("ana")
    cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and "atende_session=" in v)
    assert ("secure" in cookie.lower()) is secure
    await page.aclose()


async def test_cli_lists_and_revokes_tokens(harness: Harness, capsys: pytest.CaptureFixture[str]) -> None:
    h = harness
    r = await h.post("/api/v1/tokens", {"name": "script"})
    await cli._list_tokens(h.rt, argparse.Namespace(email="admin@example.com"))
    out = capsys.readouterr().out
    assert "script" in out and r.json()["token"] not in out and "ativo" in out
    await cli._revoke_token(h.rt, argparse.Namespace(id=r.json()["id"]))
    assert (await h.client.get("/api/v1/me", headers={"Authorization": f"Bearer {r.json()['token']}"})).status_code \
        == 401
    await cli._list_tokens(h.rt, argparse.Namespace(email="admin@example.com"))
    assert "revogado" in capsys.readouterr().out


async def test_sessions_message_shape(harness: Harness) -> None:
    """The teams branch's SSE hub listens to these: {"user_id": N} and {"session_hash": "..."}."""
    h = harness
    got: list[str] = []

    async def listen() -> None:
        async for payload in h.rt.bus.subscribe(user_actions.SESSIONS_TOPIC):
            got.append(payload)

    task = asyncio.create_task(listen())
    await asyncio.sleep(0)
    await h.client.patch(f"/api/v1/users/{h.user_ids['bruno']}", json={"active": False}, headers=h.auth())
    await asyncio.sleep(0.05)
    task.cancel()
    assert json.loads(got[0]) == {"user_id": h.user_ids["bruno"]}
