"""Login, logout, language, time zone and presence."""

from __future__ import annotations

import asyncio
import hmac
from typing import Annotated
from zoneinfo import available_timezones

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from atende.actions import preferences
from atende.actions import users as user_actions
from atende.auth.passwords import verify_password
from atende.db.tables import users
from atende.web.auth import SESSION_COOKIE, optional_user
from atende.web.pages import i18n
from atende.web.pages.core import (
    LANG_COOKIE,
    LOGIN_CSRF_COOKIE,
    LoginLimiter,
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


def _limiter(request: Request) -> LoginLimiter:
    limiter: LoginLimiter | None = getattr(request.app.state, "login_limiter", None)
    if limiter is None:
        limiter = LoginLimiter(rt_of(request).settings.login_attempts_per_minute)
        request.app.state.login_limiter = limiter
    return limiter


def _login_page(request: Request, *, error: str = "", email: str = "", next_url: str = "/board",
                status_code: int = 200, token: str | None = None) -> Response:
    token = token or request.cookies.get(LOGIN_CSRF_COOKIE) or new_login_csrf()
    response = render(request, "login.html", {"error": error, "email": email, "next": next_url,
                                              "login_csrf": token}, ui=make_ui(request, None),
                      status_code=status_code)
    settings = rt_of(request).settings
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="lax", secure=settings.cookie_secure,
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
    email_key = email.strip().lower()
    ip = request.client.host if request.client else "?"
    limiter = _limiter(request)
    wait = limiter.blocked(ip, email_key)
    if wait:
        response = _login_page(request, error=_("Muitas tentativas. Aguarde um minuto e tente de novo."),
                               email=email, next_url=safe_next(next), status_code=429)
        response.headers["Retry-After"] = str(int(wait))
        return response
    limiter.hit(ip, email_key)
    async with rt.read() as conn:
        row = (await conn.execute(select(users.c.id, users.c.password_hash, users.c.language)
                                  .where(users.c.email == email_key, users.c.active.is_(True)))).first()
    ok = row is not None and await asyncio.to_thread(verify_password, password, row.password_hash)
    if not ok or row is None:
        return _login_page(request, error=_("E-mail ou senha incorretos."), email=email,
                           next_url=safe_next(next), status_code=401)
    limiter.clear(ip, email_key)
    async with rt.write() as tx:
        token, _csrf = await user_actions.create_session(tx, int(row.id), rt.settings.session_max_age_s)
    response = redirect(safe_next(next))
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=rt.settings.cookie_secure,
                        max_age=rt.settings.session_max_age_s, path="/")
    response.set_cookie(LANG_COOKIE, row.language, samesite="lax", max_age=3600 * 24 * 365, path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request, user: PageUser) -> Response:
    rt = rt_of(request)
    async with rt.write() as tx:
        if token := request.cookies.get(SESSION_COOKIE):
            await user_actions.end_session(tx, token)
        await user_actions.set_presence(tx, user.id, "offline")
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
