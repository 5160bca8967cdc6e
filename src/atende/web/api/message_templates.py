"""/api/v1/message-templates: saved texts with {{variables}} (everyone reads; supervisors write),
and a preview that renders one and counts its SMS segments and cost."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel, Field, StrictInt, StrictStr
from sqlalchemy import select

from atende.actions import message_templates as template_actions
from atende.actions.outbound import cost_per_segment
from atende.auth import policy
from atende.db import queries
from atende.db.tables import message_templates
from atende.domain.sms import count_segments, sms_cost
from atende.domain.variables import normal_values, render, variables_in
from atende.web.auth import CurrentUser, Rt, User, Who, require
from atende.web.params import BodyId, OptId, RowId

router = APIRouter(tags=["message templates"])
Staff = Annotated[CurrentUser, require("supervisor")]


class TemplateIn(BaseModel):
    name: str = Field(min_length=1, max_length=template_actions.MAX_NAME)
    text: str = Field(min_length=1, max_length=template_actions.MAX_TEXT)
    connector_id: BodyId | None = None


class PreviewIn(BaseModel):
    text: str = Field(max_length=template_actions.MAX_TEXT)
    connector_id: BodyId | None = None
    conversation_id: BodyId | None = None
    vars: dict[str, StrictStr | StrictInt | float | None] = Field(default_factory=dict, max_length=100)


async def _one(rt: Rt, template_id: int) -> dict[str, Any]:
    async with rt.read() as conn:
        row = (await conn.execute(select(message_templates).where(message_templates.c.id == template_id))).first()
    if row is None:
        raise HTTPException(404, "modelo não encontrado")
    return template_actions.template_dict(row)


@router.get("/message-templates")
async def list_templates(rt: Rt, user: User, connector_id: OptId = None) -> dict[str, Any]:
    async with rt.read() as conn:
        return {"items": await template_actions.listing(conn, connector_id or None)}


@router.post("/message-templates", status_code=201)
async def create_template(body: TemplateIn, rt: Rt, user: Staff) -> dict[str, Any]:
    async with rt.write() as tx:
        template_id = await template_actions.create(tx, name=body.name, text=body.text,
                                                    connector_id=body.connector_id, created_by=user.id)
    return await _one(rt, template_id)


@router.get("/message-templates/{template_id}")
async def get_template(template_id: RowId, rt: Rt, user: User) -> dict[str, Any]:
    return await _one(rt, template_id)


@router.patch("/message-templates/{template_id}")
async def update_template(template_id: RowId, body: TemplateIn, rt: Rt, user: Staff) -> dict[str, Any]:
    async with rt.write() as tx:
        await template_actions.update_template(tx, template_id, name=body.name, text=body.text,
                                               connector_id=body.connector_id)
    return await _one(rt, template_id)


@router.delete("/message-templates/{template_id}", status_code=204)
async def delete_template(template_id: RowId, rt: Rt, user: Staff) -> Response:
    async with rt.write() as tx:
        await template_actions.delete_template(tx, template_id)
    return Response(status_code=204)


@router.post("/message-templates/preview")
async def preview(body: PreviewIn, rt: Rt, user: User, who: Who) -> dict[str, Any]:
    """The text as a customer would read it, what is still missing, and (SMS) its segments and cost.
    With `conversation_id`, the variables come from that conversation (contact, agent, campaign)."""
    values: dict[str, str] = {}
    connector_id = body.connector_id
    if body.conversation_id is not None:
        async with rt.read() as conn:
            conv = await queries.conversation(conn, body.conversation_id)
            if conv is None:
                raise HTTPException(404, "conversa não encontrada")
            await policy.require_read(conn, who, conv)  # its contact's fields and campaign columns
            values = await template_actions.values_for_conversation(conn, body.conversation_id, user.name)
        connector_id = connector_id or conv["connector_id"]
    else:
        values["agente"] = user.name
    values.update(normal_values(body.vars))
    done = render(body.text, values)
    result: dict[str, Any] = {"text": done.text, "missing": list(done.missing),
                              "variables": variables_in(body.text), "segments": None, "encoding": None, "cost": None}
    loaded = await rt.connector(connector_id) if connector_id else None
    if loaded is not None and loaded.provider.capabilities.segments:
        count = count_segments(done.text)
        cost = sms_cost(count.segments, cost_per_segment(loaded.config))
        result.update(segments=count.segments, encoding=count.encoding, cost=queries.money(cost))
    elif loaded is None and connector_id:
        raise HTTPException(404, "conector não encontrado")
    return result

