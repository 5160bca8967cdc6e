"""Login, logout, sessions, CSRF and the login rate limit."""

from __future__ import annotations

import httpx

from atende.web.auth import SESSION_COOKIE
from tests.support.harness import APP_HOST, Harness
from tests.web.pagekit import PageClient, login_csrf


def _client(h: Harness) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=h.app), base_url=f"http://{APP_HOST}")


async def test_login_sets_a_safe_session_cookie_and_opens_the_board(sqlite_harness: Harness) -> None:
    async with _client(sqlite_harness) as http:
        page = await http.get("/login")
        assert page.status_code == 200 and 'name="password"' in page.text
        r = await http.post("/login", data={"email": "ANA@example.com ", "password": "s3nha-forte",
                                             "csrf_token": login_csrf(page.text), "next": "/inbox"})
        assert r.status_code == 303 and r.headers["location"] == "/inbox"
        cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith(SESSION_COOKIE))
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
        board = await http.get("/board")
        assert board.status_code == 200
        assert "Contact Center · Todos os canais" in board.text and "Ana" in board.text


async def test_pages_redirect_to_login_and_next_is_kept_local(sqlite_harness: Harness) -> None:
    async with _client(sqlite_harness) as http:
        r = await http.get("/board?f=sms")
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/board")
        r = await http.get("/board", headers={"HX-Request": "true"})
        assert r.status_code == 204 and r.headers["HX-Redirect"].startswith("/login")
        page = await http.get("/login")
        r = await http.post("/login", data={"email": "ana@example.com", "password": "s3nha-forte",
                                             "csrf_token": login_csrf(page.text), "next": "//evil.example/x"})
        assert r.status_code == 303 and r.headers["location"] == "/board"


async def test_wrong_password_is_refused_without_a_session(sqlite_harness: Harness) -> None:
    async with _client(sqlite_harness) as http:
        page = await http.get("/login")
        r = await http.post("/login", data={"email": "ana@example.com", "password": "errada-123",
                                             "csrf_token": login_csrf(page.text)})
        assert r.status_code == 401
        assert "E-mail ou senha incorretos" in r.text
        assert SESSION_COOKIE not in http.cookies
        assert (await http.get("/board")).status_code == 303


async def test_login_attempts_are_rate_limited_per_ip_and_email(sqlite_harness: Harness) -> None:
    sqlite_harness.rt.settings.login_attempts_per_minute = 3
    async with _client(sqlite_harness) as http:
        token = login_csrf((await http.get("/login")).text)
        codes = []
        for _ in range(4):
            r = await http.post("/login", data={"email": "ana@example.com", "password": "errada-123",
                                                 "csrf_token": token})
            codes.append(r.status_code)
        assert codes == [401, 401, 401, 429]
        assert "Muitas tentativas" in r.text and int(r.headers["Retry-After"]) >= 1
        # Even the right password waits now; another e-mail from the same IP does not.
        r = await http.post("/login", data={"email": "ana@example.com", "password": "s3nha-forte",
                                             "csrf_token": token})
        assert r.status_code == 429
        r = await http.post("/login", data={"email": "bruno@example.com", "password": "s3nha-forte",
                                             "csrf_token": token})
        assert r.status_code == 303


async def test_login_form_without_its_csrf_token_is_refused(sqlite_harness: Harness) -> None:
    async with _client(sqlite_harness) as http:
        await http.get("/login")
        r = await http.post("/login", data={"email": "ana@example.com", "password": "s3nha-forte",
                                             "csrf_token": "forjado"})
        assert r.status_code == 403
        assert SESSION_COOKIE not in http.cookies


async def test_csrf_missing_is_403_on_pages_and_api(sqlite_harness: Harness) -> None:
    client = PageClient(sqlite_harness)
    assert (await client.login("admin")).status_code == 303
    try:
        r = await client.post("/settings/quick-replies", {"shortcut": "ola", "text": "Olá!"}, csrf=False)
        assert r.status_code == 403 and "CSRF" in r.text
        r = await client.post("/presence", {"presence": "online"}, csrf=False)
        assert r.status_code == 403
        r = await client.http.post("/api/v1/me/presence", json={"presence": "online"})
        assert r.status_code == 403
        # The form field works as well as the header.
        r = await client.post("/settings/quick-replies", {"shortcut": "ola", "text": "Olá!",
                                                          "csrf_token": client.csrf}, csrf=False)
        assert r.status_code in (204, 303)
        r = await client.post("/presence", {"presence": "away"})
        assert r.status_code == 200 and 'value="away" selected' in r.text
    finally:
        await client.aclose()


async def test_logout_ends_the_session(sqlite_harness: Harness) -> None:
    client = PageClient(sqlite_harness)
    await client.login("ana")
    try:
        r = await client.post("/logout", htmx=False)
        assert r.status_code == 303 and r.headers["location"] == "/login"
        assert (await client.get("/board")).status_code == 303
    finally:
        await client.aclose()
