"""/api/v1 routes of template and reaction capable channels (WhatsApp Cloud).

- `POST /connectors/{id}/templates/sync` (supervisor): fetch the WABA's templates into our table
- `GET /connectors/{id}/templates`: the list, with the parameters each one needs
- `POST /connectors/{id}/templates/send`: send an approved template to a phone / BSUID, starting or
  reusing the conversation (the way to open a WhatsApp conversation outside the 24 h window)
- `POST /messages/{id}/reaction`: react to a message with an emoji (empty emoji removes it)
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from atende.actions import outbound
from atende.actions import reactions as reaction_actions
from atende.actions import templates as template_actions
from atende.auth import policy
from atende.channels.base import ProviderError, template_lister
from atende.db import queries
from atende.domain.phones import InvalidPhone, is_bsuid, normalize_phone
from atende.domain.templates import template_parameters
from atende.jobs.handlers import sendable
from atende.runtime import LoadedConnector
from atende.web.api.conversations import message_view
from atende.web.auth import Rt, User, Who, require
from atende.web.params import RowId

router = APIRouter(tags=["whatsapp"])


class TemplateSendIn(BaseModel):
    to: str = Field(min_length=3, max_length=140)
    name: str = Field(min_length=1, max_length=200)
    language: str = Field(default="pt_BR", min_length=2, max_length=20)
    components: list[dict[str, Any]] = Field(default_factory=list)


class ReactionIn(BaseModel):
    emoji: str = Field(default="", max_length=16)


async def _connector(rt: Rt, connector_id: RowId, *, templates: bool = False) -> LoadedConnector:
    loaded = await rt.connector(connector_id)
    if loaded is None:
        raise HTTPException(404, "conector não encontrado")
    if templates and not loaded.provider.capabilities.templates:
        raise HTTPException(409, "este conector não usa modelos de mensagem")
    return loaded


def template_view(item: dict[str, Any]) -> dict[str, Any]:
    counts, names = template_parameters(item.get("components") or [])
    return {**item, "parameters": counts, "parameter_names": names}


@router.post("/connectors/{connector_id}/templates/sync", dependencies=[require("supervisor")])
async def sync_templates(connector_id: RowId, rt: Rt) -> dict[str, Any]:
    loaded = await _connector(rt, connector_id, templates=True)
    provider = template_lister(loaded.provider)
    if provider is None:
        raise HTTPException(409, "este conector não sincroniza modelos")
    try:
        items = await provider.list_templates()
    except ProviderError as exc:
        # Configuration problems are the admin's to fix (409); the provider being down is a 502.
        raise HTTPException(502 if exc.transient else 409, exc.message) from None
    async with rt.write() as tx:
        summary = await template_actions.sync_templates(tx, connector_id, items)
    async with rt.read() as conn:
        listed = await queries.connector_templates(conn, connector_id)
    return {**summary, "items": [template_view(t) for t in listed]}


@router.get("/connectors/{connector_id}/templates")
async def list_templates(
    connector_id: RowId, rt: Rt, user: User,
    status: str | None = Query(default=None, max_length=40, description="e.g. APPROVED"),
) -> dict[str, Any]:
    await _connector(rt, connector_id)
    async with rt.read() as conn:
        listed = await queries.connector_templates(conn, connector_id)
    if status:
        listed = [t for t in listed if t["status"] == status.upper()]
    return {"items": [template_view(t) for t in listed]}


@router.post("/connectors/{connector_id}/templates/send", status_code=202)
async def send_template(connector_id: RowId, body: TemplateSendIn, rt: Rt, user: Who) -> dict[str, Any]:
    loaded = await _connector(rt, connector_id, templates=True)
    to = body.to.strip()
    if is_bsuid(to):
        address = to
    else:
        try:
            address = normalize_phone(to)
        except InvalidPhone as exc:
            raise HTTPException(422, f"telefone inválido: {exc}") from None
    template = {"name": body.name, "language": body.language, "components": body.components}
    async with rt.write() as tx:
        _, message_id = await outbound.start_conversation(tx, sendable(loaded), address, text=None,
                                                          template=template, author_id=user.id, by=user)
    return await message_view(rt, message_id)


@router.post("/messages/{message_id}/reaction", status_code=202)
async def react(message_id: RowId, body: ReactionIn, rt: Rt, user: Who) -> dict[str, Any]:
    async with rt.read() as conn:
        target = await queries.message(conn, message_id)
        if target is None:
            raise HTTPException(404, "mensagem não encontrada")
        await policy.require_message(conn, user, message_id)
    loaded = await _connector(rt, int(target["connector_id"]))
    async with rt.write() as tx:
        reaction_id = await reaction_actions.react(tx, sendable(loaded), message_id, body.emoji, author_id=user.id,
                                                   by=user)
    return await message_view(rt, reaction_id)
