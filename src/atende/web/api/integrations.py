"""/api/v1/integrations/odoo (admin) and the contacts' Odoo partners (any agent).

Saving tests the connection and answers `{ok, detail, version}` with a Portuguese reason; a wrong key,
database or URL is `ok: false`, never a 5xx. The API key is never returned.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field

from atende.actions import odoo as odoo_actions
from atende.auth import policy
from atende.auth.policy import Viewer
from atende.db import queries
from atende.integrations.odoo import partners
from atende.integrations.odoo import settings as odoo_settings
from atende.integrations.odoo.bridge import bridge
from atende.integrations.odoo.client import OdooError, partner_url
from atende.web.auth import Rt, User, Who, client_ip, require
from atende.web.params import BodyId, RowId

router = APIRouter(tags=["odoo"])


class OdooSettingsIn(BaseModel):
    url: str = Field(min_length=1, max_length=500)
    db: str = Field(min_length=1, max_length=100)
    login: str = Field(min_length=1, max_length=254)
    api_key: str | None = Field(default=None, max_length=500, description="vazio mantém a chave salva")
    link_partners: bool = True
    post_transcripts: bool = True
    create_partners: bool = False


class PartnerLinkIn(BaseModel):
    partner_id: BodyId


async def save_and_test(rt: Rt, body: OdooSettingsIn, actor_id: int | None, ip: str | None = None) -> dict[str, Any]:
    """Shared by the API and the settings page."""
    flags = {"link_partners": body.link_partners, "post_transcripts": body.post_transcripts,
             "create_partners": body.create_partners}
    async with rt.write() as tx:
        await odoo_actions.save_settings(tx, rt.secrets, url=body.url, db=body.db, login=body.login,
                                         api_key=body.api_key, flags=flags, actor_id=actor_id, ip=ip)
    bridge(rt).forget()
    return await run_test(rt)


async def run_test(rt: Rt) -> dict[str, Any]:
    async with rt.read() as conn:
        config = await odoo_settings.load(conn, rt.secrets)
    if config is None:
        return {"ok": False, "detail": "A integração com o Odoo não está configurada", "version": None}
    result = await odoo_settings.test_connection(config, rt.http)
    async with rt.write() as tx:
        await odoo_actions.record_test(tx, result)
    return result


async def settings_view(rt: Rt) -> dict[str, Any]:
    async with rt.read() as conn:
        row = await odoo_settings.load_row(conn)
    plain = dict(row.config or {}) if row is not None else {}
    return {
        "configured": bool(row is not None and row.secret_encrypted),
        "url": plain.get("url"), "db": plain.get("db"), "login": plain.get("login"),
        **{flag: bool(plain.get(flag, odoo_settings.DEFAULT_FLAGS[flag])) for flag in odoo_settings.FLAGS},
        "api_key_set": bool(row is not None and row.secret_encrypted),
        "last_test": (dict(row.status) if row is not None and row.status else None),
    }


@router.put("/integrations/odoo", dependencies=[require("admin")])
async def put_odoo(body: OdooSettingsIn, rt: Rt, user: User, request: Request) -> dict[str, Any]:
    return await save_and_test(rt, body, user.id, client_ip(request))


@router.get("/integrations/odoo", dependencies=[require("admin")])
async def get_odoo(rt: Rt) -> dict[str, Any]:
    return await settings_view(rt)


@router.post("/integrations/odoo/test", dependencies=[require("admin")])
async def test_odoo(rt: Rt) -> dict[str, Any]:
    return await run_test(rt)


def partner_view(partner: partners.PartnerInfo | dict[str, Any], base_url: str | None) -> dict[str, Any]:
    data = partner.as_dict() if isinstance(partner, partners.PartnerInfo) else dict(partner)
    data.pop("fetched_at", None)
    data["url"] = partner_url(base_url, int(data["id"])) if base_url else None
    return data


async def _client_or_409(rt: Rt) -> Any:
    try:
        return await bridge(rt).client()
    except OdooError as exc:
        raise HTTPException(409, exc.detail) from None


def _odoo_failed(exc: OdooError) -> HTTPException:
    # Odoo refused or could not be reached: a gateway problem, said plainly.
    return HTTPException(502 if exc.transient else 409, exc.detail)


@router.get("/integrations/odoo/partners")
async def search_partners(rt: Rt, user: User, q: str = Query(min_length=2, max_length=100)) -> dict[str, Any]:
    """Partners by name, e-mail, CPF/CNPJ or phone."""
    client = await _client_or_409(rt)
    try:
        found = await partners.search(client, q)
    except OdooError as exc:
        raise _odoo_failed(exc) from None
    return {"items": [partner_view(p, client.url) for p in found]}


async def contact_partner(rt: Rt, contact_id: int, viewer: Viewer | None = None) -> dict[str, Any]:
    """The contact's partner block, for whoever may read the contact (auth.policy)."""
    from sqlalchemy import select

    from atende.db.tables import contacts, odoo_partners

    async with rt.read() as conn:
        row = (await conn.execute(select(contacts.c.id, contacts.c.odoo_partner_id)
                                  .where(contacts.c.id == contact_id))).first()
        if row is None or (viewer is not None and not await policy.may_read_contact(conn, viewer, contact_id)):
            raise HTTPException(404, "contato não encontrado")
        cached = None
        if row.odoo_partner_id is not None:
            cached = (await conn.execute(select(odoo_partners).where(odoo_partners.c.id == row.odoo_partner_id))
                      ).first()
    config = await bridge(rt).config()
    base = config.url if config is not None else None
    if row.odoo_partner_id is None:
        return {"contact_id": contact_id, "partner": None, "configured": config is not None}
    partner = dict(cached._mapping) if cached is not None else {"id": int(row.odoo_partner_id), "name": ""}
    return {"contact_id": contact_id, "partner": partner_view(partner, base), "configured": config is not None}


@router.get("/contacts/{contact_id}/odoo")
async def get_contact_partner(contact_id: RowId, rt: Rt, user: Who) -> dict[str, Any]:
    return await contact_partner(rt, contact_id, user)


async def link_by_hand(rt: Rt, user: Viewer, contact_id: int, partner_id: int) -> None:
    async with rt.read() as conn:
        if await queries.contact(conn, contact_id) is None:
            raise HTTPException(404, "contato não encontrado")
        await policy.require_contact_edit(conn, user, contact_id)  # before asking Odoo anything
    client = await _client_or_409(rt)
    try:
        partner = await partners.read(client, partner_id)
    except OdooError as exc:
        raise _odoo_failed(exc) from None
    if partner is None:
        raise HTTPException(404, "parceiro não encontrado no Odoo")
    async with rt.write() as tx:
        await odoo_actions.link_partner(tx, contact_id, partner, source="agent", actor_id=user.id, by=user)


@router.put("/contacts/{contact_id}/odoo_partner")
async def put_contact_partner(contact_id: RowId, body: PartnerLinkIn, rt: Rt, user: Who) -> dict[str, Any]:
    await link_by_hand(rt, user, contact_id, body.partner_id)
    return await contact_partner(rt, contact_id, user)


@router.delete("/contacts/{contact_id}/odoo_partner")
async def delete_contact_partner(contact_id: RowId, rt: Rt, user: Who) -> dict[str, Any]:
    async with rt.write() as tx:
        await odoo_actions.unlink_partner(tx, contact_id, actor_id=user.id, by=user)
    return await contact_partner(rt, contact_id, user)
