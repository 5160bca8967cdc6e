"""Settings (admin / supervisor): connectors, users and roles, quick replies."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from atende.actions import bot as bot_actions
from atende.actions import connectors as connector_actions
from atende.actions import quick_replies as qr_actions
from atende.actions import users as user_actions
from atende.actions.errors import ActionError
from atende.channels.base import ConfigField
from atende.channels.registry import UnknownProvider, provider_names, provider_type
from atende.db import queries
from atende.db.tables import connectors
from atende.domain.ids import is_ascii_int
from atende.web.auth import CurrentUser, client_ip
from atende.web.pages.core import Admin, PageError, Supervisor, full_ui, redirect, render, rt_of
from atende.web.pages.i18n import _
from atende.web.params import RowId

router = APIRouter(include_in_schema=False)


def provider_fields() -> dict[str, list[ConfigField]]:
    """The connector form of each provider, declared by its package (labels translated here)."""
    return {name: [replace(f, label=_(f.label), help=_(f.help) if f.help else "")
                   for f in provider_type(name).form_fields] for name in provider_names()}


def provider_labels() -> dict[str, str]:
    return {name: _(provider_type(name).label) for name in provider_names()}


def uses_templates(provider: str) -> bool:
    """Providers with approved message templates (WhatsApp Cloud): their page lists and syncs them."""
    try:
        return bool(provider_type(provider).capabilities.templates)
    except UnknownProvider:
        return False


def template_labels() -> dict[str, dict[str, str]]:
    return {
        "status": {"APPROVED": _("Aprovado"), "PENDING": _("Em análise"), "REJECTED": _("Rejeitado"),
                   "PAUSED": _("Pausado"), "DISABLED": _("Desativado")},
        "category": {"MARKETING": _("Marketing"), "UTILITY": _("Utilidade"), "AUTHENTICATION": _("Autenticação")},
    }


def secret_fields(provider: str) -> frozenset[str]:
    try:
        declared = frozenset(getattr(provider_type(provider), "secret_fields", frozenset()))
    except UnknownProvider:
        declared = frozenset()
    return declared | {f.name for f in provider_fields().get(provider, []) if f.kind == "password"}


def config_from_form(provider: str, form: Any, *, creating: bool) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for field in provider_fields().get(provider, []):
        raw = form.get(f"cfg_{field.name}")
        value = raw.strip() if isinstance(raw, str) else ""
        if not value:
            if creating and field.required:
                raise PageError(422, _("Preencha o campo: %(field)s") % {"field": field.label})
            continue
        if field.kind == "number":
            if not is_ascii_int(value, signed=True) or len(value) > 18:
                raise PageError(422, _("Use um número inteiro em: %(field)s") % {"field": field.label})
            config[field.name] = int(value)
        else:
            config[field.name] = value
    return config


# ---- connectors -------------------------------------------------------------------------------

async def _connectors_page(request: Request, user: CurrentUser, *, error: str = "", status_code: int = 200,
                           form: dict[str, Any] | None = None) -> Response:
    rt = rt_of(request)
    async with rt.read() as conn:
        rows = list(await conn.execute(select(connectors).order_by(connectors.c.id)))
    admin = user.at_least("admin")
    items = [{**queries.connector_dict(r, rt.webhook_url_of(r) if admin else None),
              "stats": queries.connector_stats(r)} for r in rows]
    ui = await full_ui(request, user)
    return render(request, "settings/connectors.html",
                  {"items": items, "fields": provider_fields(), "providers": provider_labels(),
                   "available": [p for p in provider_names() if provider_type(p).form_fields], "error": error,
                   "form": form or {}, "page": "settings", "tab": "connectors"},
                  ui=ui, status_code=status_code)


@router.get("/settings")
async def settings_home(request: Request, user: Supervisor) -> Response:
    return redirect("/settings/connectors")


@router.get("/settings/connectors")
async def connectors_page(request: Request, user: Supervisor) -> Response:
    return await _connectors_page(request, user)


@router.post("/settings/connectors")
async def create_connector(request: Request, user: Admin, name: Annotated[str, Form(max_length=200)] = "",
                           provider: Annotated[str, Form(max_length=40)] = "") -> Response:
    rt = rt_of(request)
    form = await request.form()
    try:
        config = config_from_form(provider, form, creating=True)
        async with rt.write() as tx:
            connector_id = await connector_actions.create_connector(
                tx, rt.secrets, name=name, provider=provider, config=config,
                allow_http_loopback=rt.settings.allow_http_loopback_providers, actor_id=user.id,
                ip=client_ip(request))
    except (PageError, ActionError) as exc:
        message = exc.message if isinstance(exc, PageError) else exc.detail
        keep = {"name": name, "provider": provider,
                **{k: v for k, v in form.items() if k.startswith("cfg_") and k[4:] not in secret_fields(provider)}}
        return await _connectors_page(request, user, error=message, status_code=422, form=keep)
    from atende.jobs.handlers import ensure_periodic

    await ensure_periodic(rt)
    return redirect(f"/settings/connectors/{connector_id}?created=1", request)


async def _connector_edit(request: Request, user: CurrentUser, connector_id: RowId, *, error: str = "",
                          status_code: int = 200) -> Response:
    rt = rt_of(request)
    async with rt.read() as conn:
        row = await queries.connector_row(conn, connector_id)
    if row is None:
        raise PageError(404, _("Conector não encontrado."))
    secrets_ = secret_fields(row.provider)
    stored = rt.secrets.decrypt_json(row.config_encrypted)
    values = {k: ("" if v is None else str(v)) for k, v in stored.items() if k not in secrets_}
    item = {**queries.connector_dict(row, rt.webhook_url_of(row) if user.at_least("admin") else None),
            "stats": queries.connector_stats(row)}
    templates: list[dict[str, Any]] | None = None
    if uses_templates(row.provider):
        async with rt.read() as conn:
            templates = await queries.connector_templates(conn, connector_id)
    async with rt.read() as conn:
        bot = await bot_context(conn, connector_id)
    ui = await full_ui(request, user)
    return render(request, "settings/connector_edit.html",
                  {"item": item, "fields": provider_fields().get(row.provider, []), "values": values,
                   "templates": templates, "template_labels": template_labels(),
                   "secrets": secrets_, "providers": provider_labels(), "error": error,
                   "created": request.query_params.get("created"), "saved": request.query_params.get("saved"),
                   "rotated": request.query_params.get("rotated"),
                   "page": "settings", "tab": "connectors", **bot}, ui=ui, status_code=status_code)


@router.get("/settings/connectors/{connector_id}")
async def connector_page(request: Request, connector_id: RowId, user: Supervisor) -> Response:
    return await _connector_edit(request, user, connector_id)


@router.post("/settings/connectors/{connector_id}")
async def update_connector(request: Request, connector_id: RowId, user: Admin,
                           name: Annotated[str, Form(max_length=200)] = "",
                           active: Annotated[str, Form(max_length=5)] = "") -> Response:
    rt = rt_of(request)
    async with rt.read() as conn:
        row = await queries.connector_row(conn, connector_id)
    if row is None:
        raise PageError(404, _("Conector não encontrado."))
    form = await request.form()
    try:
        config = config_from_form(row.provider, form, creating=False)
        async with rt.write() as tx:
            await connector_actions.update_connector(
                tx, rt.secrets, connector_id, name=name, config=config, active=active in ("1", "on", "true"),
                allow_http_loopback=rt.settings.allow_http_loopback_providers, actor_id=user.id,
                ip=client_ip(request))
    except (PageError, ActionError) as exc:
        message = exc.message if isinstance(exc, PageError) else exc.detail
        return await _connector_edit(request, user, connector_id, error=message, status_code=422)
    await rt.connector_changed(connector_id)
    from atende.jobs.handlers import ensure_periodic

    await ensure_periodic(rt)
    return redirect(f"/settings/connectors/{connector_id}?saved=1", request)


@router.post("/settings/connectors/{connector_id}/rotate-webhook")
async def rotate_webhook(request: Request, connector_id: RowId, user: Admin) -> Response:
    """"Gerar novo endereço": the old webhook URL stops working at once."""
    rt = rt_of(request)
    try:
        async with rt.write() as tx:
            await connector_actions.rotate_webhook(tx, rt.secrets, connector_id, actor_id=user.id,
                                                   ip=client_ip(request))
    except ActionError as exc:
        raise PageError(exc.status_code, exc.detail) from None
    await rt.connector_changed(connector_id)
    return redirect(f"/settings/connectors/{connector_id}?rotated=1", request)


# ---- users ------------------------------------------------------------------------------------

async def _users_page(request: Request, user: CurrentUser, *, error: str = "", status_code: int = 200,
                      form: dict[str, str] | None = None, created: str = "") -> Response:
    async with rt_of(request).read() as conn:
        items = await queries.agents(conn)
    ui = await full_ui(request, user)
    return render(request, "settings/users.html", {"items": items, "error": error, "form": form or {},
                                                   "created": created, "roles": role_labels(),
                                                   "page": "settings", "tab": "users"},
                  ui=ui, status_code=status_code)


def role_labels() -> dict[str, str]:
    return {"agent": _("Agente"), "supervisor": _("Supervisor"), "admin": _("Administrador")}


@router.get("/settings/users")
async def users_page(request: Request, user: Supervisor) -> Response:
    return await _users_page(request, user)


@router.post("/settings/users")
async def create_user(request: Request, user: Admin, name: Annotated[str, Form(max_length=200)] = "",
                      email: Annotated[str, Form(max_length=254)] = "",
                      password: Annotated[str, Form(max_length=200)] = "",
                      role: Annotated[str, Form(max_length=20)] = "agent") -> Response:
    try:
        async with rt_of(request).write() as tx:
            await user_actions.create_user(tx, email=email, password=password, name=name, role=role)
    except ActionError as exc:
        return await _users_page(request, user, error=exc.detail, status_code=422,
                                 form={"name": name, "email": email, "role": role})
    return await _users_page(request, user, created=email.strip().lower())


# ---- quick replies ----------------------------------------------------------------------------

async def _quick_page(request: Request, user: CurrentUser, *, error: str = "", status_code: int = 200,
                      form: dict[str, str] | None = None) -> Response:
    async with rt_of(request).read() as conn:
        items = await queries.quick_reply_list(conn)
    ui = await full_ui(request, user)
    return render(request, "settings/quick_replies.html", {"items": items, "error": error, "form": form or {},
                                                           "page": "settings", "tab": "quick"},
                  ui=ui, status_code=status_code)


@router.get("/settings/quick-replies")
async def quick_replies_page(request: Request, user: Supervisor) -> Response:
    return await _quick_page(request, user)


@router.post("/settings/quick-replies")
async def create_quick_reply(request: Request, user: Supervisor, shortcut: Annotated[str, Form(max_length=80)] = "",
                             text: Annotated[str, Form(max_length=5000)] = "") -> Response:
    try:
        async with rt_of(request).write() as tx:
            await qr_actions.create_quick_reply(tx, shortcut=shortcut, text=text, created_by=user.id)
    except ActionError as exc:
        return await _quick_page(request, user, error=exc.detail, status_code=422,
                                 form={"shortcut": shortcut, "text": text})
    return redirect("/settings/quick-replies", request)


@router.post("/settings/quick-replies/{quick_reply_id}")
async def update_quick_reply(request: Request, quick_reply_id: RowId, user: Supervisor,
                             shortcut: Annotated[str, Form(max_length=80)] = "",
                             text: Annotated[str, Form(max_length=5000)] = "") -> Response:
    try:
        async with rt_of(request).write() as tx:
            await qr_actions.update_quick_reply(tx, quick_reply_id, shortcut=shortcut, text=text)
    except ActionError as exc:
        return await _quick_page(request, user, error=exc.detail, status_code=exc.status_code)
    return redirect("/settings/quick-replies", request)


@router.post("/settings/quick-replies/{quick_reply_id}/delete")
async def delete_quick_reply(request: Request, quick_reply_id: RowId, user: Supervisor) -> Response:
    try:
        async with rt_of(request).write() as tx:
            await qr_actions.delete_quick_reply(tx, quick_reply_id)
    except ActionError as exc:
        return await _quick_page(request, user, error=exc.detail, status_code=exc.status_code)
    return redirect("/settings/quick-replies", request)


BOT_ROWS = bot_actions.MAX_OPTIONS


# ---- the connector's menu bot -------------------------------------------------------------------

async def bot_context(conn: Any, connector_id: int) -> dict[str, Any]:
    """What the bot editor on a connector's page shows: the bot, and room for every option."""
    cfg = await bot_actions.config(conn, connector_id) or {"enabled": False, "greeting": "", "options": [],
                                                           "invalid_reply": "", "timeout_s": 300}
    rows = list(cfg["options"]) + [{} for _ in range(BOT_ROWS - len(cfg["options"]))]
    return {"bot": cfg, "bot_rows": rows, "bot_teams": await queries.team_list(conn)}


@router.post("/settings/connectors/{connector_id}/bot")
async def save_bot(request: Request, connector_id: RowId, user: Supervisor) -> Response:
    if not user.at_least("admin"):
        raise PageError(403, _("Só administradores alteram o bot."))
    form = await request.form()
    options = []
    for i in range(BOT_ROWS):
        label = str(form.get(f"opt_label_{i}") or "").strip()
        if not label:
            continue
        target = str(form.get(f"opt_team_{i}") or "")
        reply = str(form.get(f"opt_reply_{i}") or "").strip()
        option: dict[str, Any] = {"key": str(form.get(f"opt_key_{i}") or i + 1).strip(), "label": label,
                                  "tag": str(form.get(f"opt_tag_{i}") or "").strip() or None}
        if target.isascii() and target.isdigit() and len(target) < 19:
            option["team_id"] = int(target)
        else:
            option["reply"] = reply or None
        options.append(option)
    timeout = str(form.get("timeout_min") or "5").strip()
    body = {"enabled": form.get("enabled") in ("1", "on"), "greeting": str(form.get("greeting") or ""),
            "invalid_reply": str(form.get("invalid_reply") or ""), "options": options,
            "timeout_s": int(timeout) * 60 if timeout.isascii() and timeout.isdigit() and len(timeout) < 6 else -1}
    try:
        async with rt_of(request).write() as tx:
            await bot_actions.save(tx, connector_id, body, actor_id=user.id)
    except ActionError as exc:
        return await _connector_edit(request, user, connector_id, error=exc.detail, status_code=exc.status_code)
    return redirect(f"/settings/connectors/{connector_id}?saved=bot#bot", request)
