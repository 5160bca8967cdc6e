"""Privacy pages (LGPD): the data-subject requests page, erasure from the contact page, legal hold,
hiding messages, and the retention and masking settings."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from atende.actions import app_settings as settings_actions
from atende.actions import data_requests, hidden_messages, legal_hold
from atende.actions.errors import ActionError
from atende.auth import policy
from atende.db import app_settings, privacy_queries, queries
from atende.db.tables import connectors, users
from atende.domain import retention
from atende.web.auth import CurrentUser, client_ip, viewer_of
from atende.web.pages.contact_privacy import kind_labels, requester_labels, status_labels
from atende.web.pages.core import PageError, PageUser, full_ui, redirect, render, rt_of
from atende.web.pages.i18n import _
from atende.web.params import RowId

router = APIRouter(include_in_schema=False)


def _require(check: Any, user: CurrentUser) -> None:
    try:
        check(user)
    except ActionError as exc:
        raise PageError(403, exc.detail) from None


async def _checked(action: Awaitable[Any]) -> Any:
    """An action's refusal (403/404 from the policy, 409, 422) as the page's error."""
    try:
        return await action
    except ActionError as exc:
        raise PageError(exc.status_code, exc.detail) from None


@router.post("/contacts/{contact_id}/erase")
async def erase_page(request: Request, contact_id: RowId, user: PageUser,
                     reason: Annotated[str, Form(max_length=500)] = "",
                     confirm: Annotated[str, Form(max_length=40)] = "",
                     request_id: Annotated[int | None, Form(ge=1)] = None) -> Response:
    """"Apagar dados do titular": irreversible, so the word must be typed."""
    _require(policy.require_data_requests, user)
    if confirm.strip().upper() != _("APAGAR"):
        raise PageError(422, _("Digite %(word)s para confirmar a remoção.") % {"word": _("APAGAR")})
    if not reason.strip():
        raise PageError(422, _("Informe o motivo da remoção."))
    from atende.web.api.privacy import run_erasure

    try:
        await run_erasure(rt_of(request), contact_id, reason=reason, actor_id=user.id, ip=client_ip(request),
                          request_id=request_id)
    except ActionError as exc:
        raise PageError(exc.status_code, exc.detail) from None
    return redirect(f"/contacts/{contact_id}?erased=1", request)


# ---- hidden messages ------------------------------------------------------------------------------

@router.post("/messages/{message_id}/hide")
async def hide(request: Request, message_id: RowId, user: PageUser) -> Response:
    who = await viewer_of(request, user)
    async with rt_of(request).write() as tx:
        await _checked(hidden_messages.hide(tx, message_id, by=who))
    from atende.web.pages.chat import bubble

    return await bubble(request, message_id, user)


@router.post("/messages/{message_id}/unhide")
async def unhide(request: Request, message_id: RowId, user: PageUser) -> Response:
    who = await viewer_of(request, user)
    async with rt_of(request).write() as tx:
        await _checked(hidden_messages.unhide(tx, message_id, by=who))
    from atende.web.pages.chat import bubble

    return await bubble(request, message_id, user)


# ---- legal hold ---------------------------------------------------------------------------------

@router.post("/conversations/{conversation_id}/legal-hold")
async def set_hold(request: Request, conversation_id: RowId, user: PageUser,
                   reason: Annotated[str, Form(max_length=500)] = "",
                   release: Annotated[str, Form(max_length=5)] = "") -> Response:
    who = await viewer_of(request, user)
    async with rt_of(request).write() as tx:
        if release:
            await _checked(legal_hold.release_hold(tx, conversation_id, by=who))
        else:
            await _checked(legal_hold.set_hold(tx, conversation_id, reason, by=who))
    async with rt_of(request).read() as conn:
        conv = await queries.conversation(conn, conversation_id)
    assert conv is not None
    from atende.web.pages.contacts import render_panel

    return await render_panel(request, user, conv["contact"]["id"], conversation_id, saved="hold")


# ---- the requests page --------------------------------------------------------------------------

async def _requests_page(request: Request, user: CurrentUser, *, status: str | None, cursor: str | None,
                         error: str = "", status_code: int = 200, form: dict[str, Any] | None = None) -> Response:
    rt = rt_of(request)
    try:
        async with rt.read() as conn:
            items, next_cursor = await privacy_queries.requests_page(conn, status=status, cursor=cursor, limit=50)
            names = {int(r.id): r.name for r in await conn.execute(select(users.c.id, users.c.name))}
    except queries.BadCursor:
        raise PageError(400, _("Página inválida.")) from None
    ui = await full_ui(request, user)
    next_url = ui.url("/privacy/requests", status=status, cursor=next_cursor) if next_cursor else None
    return render(request, "privacy/requests.html", {
        "items": items, "names": names, "next_url": next_url, "status": status or "", "error": error,
        "form": form or {}, "requesters": requester_labels(), "kinds": kind_labels(), "statuses": status_labels(),
        "page": "privacy", "tab": "requests"}, ui=ui, status_code=status_code)


@router.get("/privacy/requests")
async def requests_page(request: Request, user: PageUser,
                        status: Annotated[str | None, Query(pattern="^(open|done|refused)?$", max_length=10)] = None,
                        cursor: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    _require(policy.require_data_requests, user)
    return await _requests_page(request, user, status=status or None, cursor=cursor)


@router.post("/privacy/requests")
async def open_request(request: Request, user: PageUser, contact_id: Annotated[int, Form(ge=1, le=2**63 - 1)],
                       kind: Annotated[str, Form(max_length=10)] = "export",
                       requester: Annotated[str, Form(max_length=20)] = "titular",
                       reference: Annotated[str, Form(max_length=100)] = "",
                       requested_on: Annotated[date | None, Form()] = None) -> Response:
    _require(policy.require_data_requests, user)
    at = datetime.combine(requested_on, time(12), UTC) if requested_on else None
    try:
        async with rt_of(request).write() as tx:
            await data_requests.open_request(tx, contact_id, kind, requester=requester, reference=reference,
                                             requested_at=at, actor_id=user.id, ip=client_ip(request))
    except ActionError as exc:
        return await _requests_page(request, user, status=None, cursor=None, error=exc.detail,
                                    status_code=exc.status_code,
                                    form={"contact_id": contact_id, "kind": kind, "requester": requester,
                                          "reference": reference})
    return redirect("/privacy/requests?status=open", request)


@router.post("/privacy/requests/{request_id}/refuse")
async def refuse_request(request: Request, request_id: RowId, user: PageUser,
                         reason: Annotated[str, Form(max_length=500)] = "") -> Response:
    _require(policy.require_data_requests, user)
    try:
        async with rt_of(request).write() as tx:
            await data_requests.refuse(tx, request_id, handler_id=user.id, reason=reason, ip=client_ip(request))
    except ActionError as exc:
        raise PageError(exc.status_code, exc.detail) from None
    return redirect("/privacy/requests", request)


# ---- retention and masking ----------------------------------------------------------------------

def _days(value: str, label: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= retention.MAX_DAYS:
        raise PageError(422, _("%(field)s: informe um número de dias entre 1 e %(max)s, ou deixe em branco para "
                               "guardar sempre.") % {"field": label, "max": retention.MAX_DAYS})
    return int(value)


async def _settings_page(request: Request, user: CurrentUser, *, saved: bool = False) -> Response:
    rt = rt_of(request)
    async with rt.read() as conn:
        policy_doc = await app_settings.retention_policy(conn)
        privacy = await app_settings.get(conn, app_settings.PRIVACY)
        connector_rows = await conn.execute(select(connectors.c.id, connectors.c.name)
                                            .order_by(connectors.c.name))
        connector_list = [dict(r._mapping) for r in connector_rows]
    ui = await full_ui(request, user)
    return render(request, "privacy/settings.html", {
        "policy": policy_doc, "privacy": privacy, "connectors": connector_list, "saved": saved,
        "page": "privacy", "tab": "settings"}, ui=ui)


@router.get("/privacy/settings")
async def settings_page(request: Request, user: PageUser, saved: Annotated[int, Query(ge=0, le=1)] = 0) -> Response:
    _require(policy.require_privacy_settings, user)
    return await _settings_page(request, user, saved=bool(saved))


@router.post("/privacy/settings")
async def save_settings(request: Request, user: PageUser) -> Response:
    _require(policy.require_privacy_settings, user)
    form = await request.form()

    def field(name: str) -> str:
        value = form.get(name)
        return value if isinstance(value, str) else ""

    per_connector: dict[int, dict[str, int | None]] = {}
    rt = rt_of(request)
    async with rt.read() as conn:
        ids = [int(r.id) for r in await conn.execute(select(connectors.c.id))]
    for cid in ids:
        override: dict[str, int | None] = {}
        for what in ("messages_days", "media_days"):
            raw = field(f"c{cid}_{what}").strip()
            if not raw:  # blank: the installation's value
                continue
            override[what] = None if raw == "0" else _days(raw, what)  # 0: keep for this connector
        if override:
            per_connector[cid] = override
    doc = {"messages_days": _days(field("messages_days"), _("Mensagens")),
           "media_days": _days(field("media_days"), _("Mídia")),
           "events_days": _days(field("events_days"), _("Eventos")),
           "jobs_days": _days(field("jobs_days"), _("Tarefas concluídas")),
           "per_connector": per_connector}
    try:
        checked = retention.RetentionPolicy.model_validate(doc)
    except ValueError:
        raise PageError(422, _("Política de retenção inválida.")) from None
    async with rt.write() as tx:
        await settings_actions.put(tx, app_settings.RETENTION, checked.to_json(), actor_id=user.id,
                                   ip=client_ip(request))
        await settings_actions.put(tx, app_settings.PRIVACY, {"mask_previews": field("mask_previews") == "1"},
                                   actor_id=user.id, ip=client_ip(request))
    rt.app_settings.forget()
    return redirect("/privacy/settings?saved=1", request)
