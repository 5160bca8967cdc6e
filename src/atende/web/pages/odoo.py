"""Odoo in the workspace: the settings page (admin) and the contact panel's partner block (agents)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from atende.actions import odoo as odoo_actions
from atende.actions.errors import ActionError
from atende.domain.ids import MAX_ID
from atende.integrations.odoo import partners
from atende.integrations.odoo.bridge import bridge
from atende.integrations.odoo.client import OdooError
from atende.web.api import integrations as api
from atende.web.auth import client_ip, viewer_of
from atende.web.pages.core import Admin, PageError, PageUser, full_ui, make_ui, render, rt_of
from atende.web.pages.i18n import _
from atende.web.params import RowId

router = APIRouter(include_in_schema=False)


async def _settings_page(request: Request, user: Admin, *, result: dict[str, Any] | None = None,
                         error: str = "", status_code: int = 200, form: dict[str, Any] | None = None) -> Response:
    rt = rt_of(request)
    current = await api.settings_view(rt)
    ui = await full_ui(request, user)
    return render(request, "settings/odoo.html", {
        "settings": {**current, **(form or {})}, "result": result, "error": error, "page": "settings", "tab": "odoo",
    }, ui=ui, status_code=status_code)


@router.get("/settings/odoo")
async def odoo_settings_page(request: Request, user: Admin) -> Response:
    return await _settings_page(request, user)


@router.post("/settings/odoo")
async def save_odoo_settings(
    request: Request, user: Admin, url: Annotated[str, Form(max_length=500)] = "",
    db: Annotated[str, Form(max_length=100)] = "", login: Annotated[str, Form(max_length=254)] = "",
    api_key: Annotated[str, Form(max_length=500)] = "", link_partners: Annotated[str, Form(max_length=5)] = "",
    post_transcripts: Annotated[str, Form(max_length=5)] = "", create_partners: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    flags = {name: value in ("1", "on", "true") for name, value in (
        ("link_partners", link_partners), ("post_transcripts", post_transcripts), ("create_partners", create_partners))}
    form = {"url": url, "db": db, "login": login, **flags}
    try:
        body = api.OdooSettingsIn(url=url or "-", db=db or "-", login=login or "-", api_key=api_key or None, **flags)
        if not (url.strip() and db.strip() and login.strip()):
            raise PageError(422, _("Preencha o endereço, o banco de dados e o login do Odoo."))
        result = await api.save_and_test(rt_of(request), body, user.id, client_ip(request))
    except ValidationError:
        return await _settings_page(request, user, error=_("Dados inválidos."), status_code=422, form=form)
    except PageError as exc:
        return await _settings_page(request, user, error=exc.message, status_code=exc.status_code, form=form)
    except ActionError as exc:
        return await _settings_page(request, user, error=exc.detail, status_code=exc.status_code, form=form)
    return await _settings_page(request, user, result=result)


# ---- the contact panel's partner block ------------------------------------------------------------

async def _block(request: Request, user: PageUser, contact_id: int, *, message: str = "") -> Response:
    try:
        data = await api.contact_partner(rt_of(request), contact_id, await viewer_of(request, user))
    except HTTPException as exc:
        raise PageError(exc.status_code, str(exc.detail)) from None
    return render(request, "_odoo_partner.html", {**data, "message": message}, ui=make_ui(request, user))


@router.get("/contacts/{contact_id}/odoo")
async def partner_block(request: Request, contact_id: RowId, user: PageUser) -> Response:
    return await _block(request, user, contact_id)


@router.get("/contacts/{contact_id}/odoo/search")
async def partner_search(request: Request, contact_id: RowId, user: PageUser,
                         q: Annotated[str, Query(max_length=100)] = "") -> Response:
    found: list[dict[str, Any]] = []
    error = ""
    if len(q.strip()) < 2:
        error = _("Digite pelo menos 2 caracteres.")
    else:
        try:
            client = await bridge(rt_of(request)).client()
            found = [api.partner_view(p, client.url) for p in await partners.search(client, q)]
        except OdooError as exc:
            error = exc.detail
    return render(request, "_odoo_results.html", {"contact_id": contact_id, "items": found, "error": error,
                                                  "q": q}, ui=make_ui(request, user))


@router.post("/contacts/{contact_id}/odoo/link")
async def partner_link(request: Request, contact_id: RowId, user: PageUser,
                       partner_id: Annotated[int, Form(ge=1, le=MAX_ID)]) -> Response:
    try:
        await api.link_by_hand(rt_of(request), await viewer_of(request, user), contact_id, partner_id)
    except HTTPException as exc:
        raise PageError(exc.status_code, str(exc.detail)) from None
    return await _block(request, user, contact_id, message=_("Parceiro vinculado."))


@router.post("/contacts/{contact_id}/odoo/unlink")
async def partner_unlink(request: Request, contact_id: RowId, user: PageUser) -> Response:
    try:
        async with rt_of(request).write() as tx:
            await odoo_actions.unlink_partner(tx, contact_id, actor_id=user.id, by=await viewer_of(request, user))
    except ActionError as exc:
        raise PageError(exc.status_code, exc.detail) from None
    return await _block(request, user, contact_id, message=_("Parceiro desvinculado."))
