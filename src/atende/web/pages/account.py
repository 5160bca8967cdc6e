"""Login, logout, language, time zone and presence."""

from __future__ import annotations

import asyncio
import hmac
from typing import Annotated
from zoneinfo import available_timezones

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from atende.actions import audit, preferences
from atende.actions import login_throttle as throttle
from atende.actions import users as user_actions
from atende.auth.passwords import verify_login
from atende.db.tables import users
from atende.db.tx import Tx
from atende.web.auth import SESSION_COOKIE, client_ip, optional_user
from atende.web.pages import i18n
from atende.web.pages.core import (
    LANG_COOKIE,
    LOGIN_CSRF_COOKIE,
    PageError,
    PageUser,
    full_ui,
    make_ui,
    new_login_csrf,
    redirect,
    render,
    rt_of,
    safe_next,
)
from atende.web.pages.i18n import _

router = APIRouter(include_in_schema=False)


def _login_page(request: Request, *, error: str = "", email: str = "", next_url: str = "/board",
                status_code: int = 200, token: str | None = None) -> Response:
    token = token or request.cookies.get(LOGIN_CSRF_COOKIE) or new_login_csrf()
    response = render(request, "login.html", {"error": error, "email": email, "next": next_url,
                                              "login_csrf": token}, ui=make_ui(request, None),
                      status_code=status_code)
    settings = rt_of(request).settings
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="lax", secure=settings.secure_cookies,
                        max_age=3600, path="/login")
    return response


@router.get("/login")
async def login_form(request: Request, next: str = "/board") -> Response:
    if await optional_user(request, rt_of(request)) is not None:
        return redirect(safe_next(next))
    return _login_page(request, next_url=safe_next(next))


@router.post("/login")
async def login(
    request: Request,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=500)] = "/board",
) -> Response:
    make_ui(request, None)
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, csrf_token):
        return _login_page(request, error=_("Sessão expirada: tente entrar de novo."), email=email,
                           next_url=safe_next(next), status_code=403, token=new_login_csrf())
    rt = rt_of(request)
    settings = rt.settings
    email_key = email.strip().lower()
    ip = client_ip(request) or "?"
    account = throttle.account_key(email_key, settings.login_attempts_per_minute)
    keys = [account, throttle.ip_key(ip, settings.login_attempts_per_ip_per_minute)]
    async with rt.read() as conn:
        wait = await throttle.blocked_for(Tx(conn), keys)
        row = (await conn.execute(select(users.c.id, users.c.password_hash, users.c.language, users.c.active)
                                  .where(users.c.email == email_key))).first()
    if wait:
        async with rt.write() as tx:
            await audit.record(tx, "login.throttled", actor_id=None, target_type="user",
                               target_id=int(row.id) if row is not None else None, ip=ip)
        response = _login_page(request, error=_("Muitas tentativas. Aguarde um minuto e tente de novo."),
                               email=email, next_url=safe_next(next), status_code=429)
        response.headers["Retry-After"] = str(max(1, int(wait + 0.999)))
        return response
    # The same argon2 work whether or not the e-mail exists (a dummy hash stands in).
    valid = await asyncio.to_thread(verify_login, password, row.password_hash if row is not None else None)
    if not valid or row is None or not row.active:
        reason = "unknown_user" if row is None else "inactive" if valid else "bad_password"
        async with rt.write() as tx:
            await throttle.record_failure(tx, keys, max_block_s=settings.login_backoff_max_s)
            await audit.record(tx, "login.failed", actor_id=None, target_type="user",
                               target_id=int(row.id) if row is not None else None, ip=ip,
                               detail={"reason": reason})
        return _login_page(request, error=_("E-mail ou senha incorretos."), email=email,
                           next_url=safe_next(next), status_code=401)
    async with rt.write() as tx:
        await throttle.clear(tx, account)
        token, _csrf = await user_actions.create_session(tx, int(row.id), rt.settings.session_max_age_s)
        await audit.record(tx, "login.ok", actor_id=int(row.id), target_type="user", target_id=int(row.id), ip=ip)
    response = redirect(safe_next(next))
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=rt.settings.secure_cookies,
                        max_age=rt.settings.session_max_age_s, path="/")
    response.set_cookie(LANG_COOKIE, row.language, samesite="lax", max_age=3600 * 24 * 365, path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request, user: PageUser) -> Response:
    rt = rt_of(request)
    async with rt.write() as tx:
        if token := request.cookies.get(SESSION_COOKIE):
            await user_actions.end_session(tx, token)  # its live streams close too (bus "sessions")
        await user_actions.set_presence(tx, user.id, "offline")
        await audit.record(tx, "logout", actor_id=user.id, target_type="user", target_id=user.id,
                           ip=client_ip(request))
    response = redirect("/login", request)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/preferences/language")
async def set_language(request: Request, user: PageUser,
                       language: Annotated[str, Form(max_length=10)] = "pt_BR",
                       next: Annotated[str, Form(max_length=500)] = "/board") -> Response:
    lang = i18n.normalize_language(language)
    async with rt_of(request).write() as tx:
        await preferences.set_language(tx, user.id, lang)
    response = redirect(safe_next(next), request)
    response.set_cookie(LANG_COOKIE, lang, samesite="lax", max_age=3600 * 24 * 365, path="/")
    return response


@router.post("/login/language")
async def anonymous_language(request: Request, language: Annotated[str, Form(max_length=10)] = "pt_BR") -> Response:
    """The login page's own switch: a cookie, nothing stored."""
    response = redirect("/login")
    response.set_cookie(LANG_COOKIE, i18n.normalize_language(language), samesite="lax",
                        max_age=3600 * 24 * 365, path="/")
    return response


@router.get("/preferences")
async def preferences_page(request: Request, user: PageUser) -> Response:
    ui = await full_ui(request, user)
    zones = sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))
    return render(request, "preferences.html", {"zones": zones, "saved": request.query_params.get("saved")},
                  ui=ui)


@router.post("/preferences")
async def save_preferences(request: Request, user: PageUser,
                           language: Annotated[str, Form(max_length=10)] = "pt_BR",
                           timezone: Annotated[str, Form(max_length=64)] = i18n.DEFAULT_TIMEZONE) -> Response:
    lang = i18n.normalize_language(language)
    async with rt_of(request).write() as tx:
        await preferences.set_language(tx, user.id, lang)
        await preferences.set_timezone(tx, user.id, timezone)
    response = redirect("/preferences?saved=1", request)
    response.set_cookie(LANG_COOKIE, lang, samesite="lax", max_age=3600 * 24 * 365, path="/")
    return response


@router.get("/presence")
async def presence_fragment(request: Request, user: PageUser) -> Response:
    """The header's presence switch and its reminder, refreshed live while the agent is not online."""
    return render(request, "_presence.html", ui=await full_ui(request, user))


@router.post("/presence")
async def set_presence(request: Request, user: PageUser,
                       presence: Annotated[str, Form(max_length=10)] = "online") -> Response:
    if presence not in user_actions.PRESENCES:
        raise PageError(422, _("Presença inválida."))
    async with rt_of(request).write() as tx:
        await user_actions.set_presence(tx, user.id, presence)
    ui = await full_ui(request, user)
    return render(request, "_presence.html", ui=ui)
