"""What every page route shares: templates, the signed-in user, CSRF, errors, rendering."""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select

from atende.db.tables import users
from atende.realtime import events
from atende.runtime import Runtime
from atende.web.auth import CSRF_HEADER, CurrentUser, optional_user
from atende.web.pages import i18n
from atende.web.pages.i18n import _

TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "templates"
LOGIN_CSRF_COOKIE = "atende_login_csrf"
LANG_COOKIE = "atende_lang"

CHANNELS: dict[str, dict[str, str]] = {
    "sms": {"icon": "📱", "label": "SMS"},
    "whatsapp": {"icon": "🟢", "label": "WhatsApp"},
    "instagram": {"icon": "📸", "label": "Instagram"},
    "messenger": {"icon": "💬", "label": "Messenger"},
    "sandbox": {"icon": "🧪", "label": "Sandbox"},
}


def build_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals["CHANNELS"] = CHANNELS
    env.globals["LANGUAGES"] = i18n.LANGUAGES
    env.filters["tojson_attr"] = lambda value: json.dumps(value, ensure_ascii=False, default=str)
    return env


# ---------------------------------------------------------------------------------------------
# Errors a page route raises: rendered as a page, or as a short text for htmx/fetch callers.


class PageError(Exception):
    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


class LoginRequired(Exception):
    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def wants_fragment(request: Request) -> bool:
    return is_htmx(request) or request.headers.get("x-requested-with") == "fetch"


# ---------------------------------------------------------------------------------------------
# Who is asking.


def rt_of(request: Request) -> Runtime:
    rt: Runtime = request.app.state.rt
    return rt


async def page_user(request: Request, user: Annotated[CurrentUser | None, Depends(optional_user)]) -> CurrentUser:
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    i18n.activate(user.language)
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        await check_page_csrf(request, user)
    return user


async def check_page_csrf(request: Request, user: CurrentUser) -> None:
    if user.via != "session":
        return
    sent = request.headers.get(CSRF_HEADER) or ""
    if not sent and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else ""
    if not user.csrf or not hmac.compare_digest(sent, user.csrf):
        raise PageError(403, _("Sessão expirada ou token CSRF ausente. Recarregue a página."))


PageUser = Annotated[CurrentUser, Depends(page_user)]


def role_at_least(role: str) -> Any:
    async def dep(user: PageUser) -> CurrentUser:
        if not user.at_least(role):
            raise PageError(403, _("Você não tem permissão para acessar esta página."))
        return user

    return Depends(dep)


Supervisor = Annotated[CurrentUser, role_at_least("supervisor")]
Admin = Annotated[CurrentUser, role_at_least("admin")]


# ---------------------------------------------------------------------------------------------
# Rendering.


@dataclass
class Ui:
    """Per-request view helpers handed to every template as `ui`."""

    request: Request
    user: CurrentUser | None
    fmt: i18n.Formatter
    presence: str = "offline"
    waiting: int = 0  # conversations waiting in the viewer's queues (the presence reminder)
    last_event_id: int = 0
    vendor_missing: list[str] = field(default_factory=list)

    @property
    def csrf(self) -> str:
        return (self.user.csrf if self.user else None) or ""

    @property
    def lang(self) -> str:
        return self.fmt.language

    def is_staff(self) -> bool:
        return bool(self.user and self.user.at_least("supervisor"))

    def url(self, path: str, **params: Any) -> str:
        query = "&".join(f"{k}={quote(str(v))}" for k, v in params.items() if v not in (None, ""))
        return f"{path}?{query}" if query else path


def make_ui(request: Request, user: CurrentUser | None, language: str | None = None) -> Ui:
    lang = user.language if user else (language or request.cookies.get(LANG_COOKIE))
    lang = i18n.normalize_language(lang)
    i18n.activate(lang)
    fmt = i18n.Formatter(lang, user.timezone if user else i18n.DEFAULT_TIMEZONE)
    return Ui(request=request, user=user, fmt=fmt, vendor_missing=request.app.state.vendor_missing)


def render(request: Request, template: str, context: Mapping[str, Any] | None = None, *,
           user: CurrentUser | None = None, ui: Ui | None = None, status_code: int = 200,
           headers: Mapping[str, str] | None = None) -> HTMLResponse:
    env: Environment = request.app.state.templates
    if ui is None:
        ui = make_ui(request, user)
    i18n.activate(ui.lang)
    html = env.get_template(template).render({"ui": ui, "fmt": ui.fmt, **(context or {})})
    return HTMLResponse(html, status_code=status_code, headers=dict(headers or {}))


async def full_ui(request: Request, user: CurrentUser) -> Ui:
    """The ui of a whole page: also reads the user's presence for the header toggle, and what waits in
    their queues (a reminder when they are not online)."""
    from atende.auth.policy import conversation_scope
    from atende.db.queries import board_counts
    from atende.web.auth import viewer_of

    ui = make_ui(request, user)
    who = await viewer_of(request, user)
    async with rt_of(request).read() as conn:
        ui.presence = await conn.scalar(select(users.c.presence).where(users.c.id == user.id)) or "offline"
        if ui.presence != "online":
            ui.waiting = (await board_counts(conn, scope=conversation_scope(who), unassigned=True))["new"]
        # The live stream replays from what this page shows, so nothing between render and connect is lost.
        ui.last_event_id = await events.last_id(conn)
    return ui


def redirect(url: str, request: Request | None = None) -> Response:
    if request is not None and is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def safe_next(url: str | None) -> str:
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return "/board"
    return url


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)
