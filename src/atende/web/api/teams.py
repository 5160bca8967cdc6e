"""/api/v1/teams, /api/v1/tags and /api/v1/connectors/{id}/bot (issue 8)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel, Field

from atende.actions import bot as bot_actions
from atende.actions import tags as tag_actions
from atende.actions import teams as team_actions
from atende.db import queries
from atende.web.auth import Rt, Who, require
from atende.web.params import BodyId, RowId

router = APIRouter(tags=["teams"])

class Hours(BaseModel):
    timezone: str = Field(default="America/Sao_Paulo", max_length=64)
    weekly: dict[str, list[list[str]]] = Field(default_factory=dict, description='{"mon": [["08:00", "18:00"]]}')
    holidays: list[str] = Field(default_factory=list, max_length=400, description='["2026-12-25"]')


Policy = Literal["least_busy", "round_robin", "sticky", "manual"]
Visibility = Literal["own", "team"]


class TeamPatch(BaseModel):
    """PATCH: only what is sent changes (`null` clears an optional field)."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    member_ids: list[BodyId] | None = Field(default=None, max_length=1000)
    connector_ids: list[BodyId] | None = Field(default=None, max_length=1000)
    policy: Policy | None = None
    visibility: Visibility | None = None
    business_hours: Hours | None = None
    out_of_hours_message: str | None = Field(default=None, max_length=1000)
    release_after_s: int | None = Field(default=None, ge=0, le=team_actions.MAX_TIMER_S)
    auto_close_after_s: int | None = Field(default=None, ge=0, le=team_actions.MAX_TIMER_S)
    closing_message: str | None = Field(default=None, max_length=1000)
    fallback_agent_id: BodyId | None = None


class TeamIn(TeamPatch):
    """POST: a new team; unset fields take their defaults."""

    name: str = Field(min_length=1, max_length=100)
    member_ids: list[BodyId] = Field(default_factory=list, max_length=1000)
    connector_ids: list[BodyId] = Field(default_factory=list, max_length=1000)
    policy: Policy = "least_busy"
    visibility: Visibility = "own"


class BotOption(BaseModel):
    key: str = Field(min_length=1, max_length=10)
    label: str = Field(min_length=1, max_length=100)
    team_id: BodyId | None = None
    reply: str | None = Field(default=None, max_length=1000)
    tag: str | None = Field(default=None, max_length=60)


class BotIn(BaseModel):
    enabled: bool = False
    greeting: str = Field(default="", max_length=1000)
    options: list[BotOption] = Field(default_factory=list, max_length=bot_actions.MAX_OPTIONS)
    invalid_reply: str = Field(default="", max_length=1000)
    timeout_s: int = Field(default=300, ge=bot_actions.MIN_TIMEOUT_S, le=bot_actions.MAX_TIMEOUT_S)


class TagIn(BaseModel):
    name: str = Field(min_length=1, max_length=60)
    colour: str | None = Field(default=None, pattern=r"^#[0-9a-fA-F]{6}$")


class TagPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=60)
    colour: str | None = Field(default=None, pattern=r"^#[0-9a-fA-F]{6}$")


async def _team(rt: Rt, team_id: RowId) -> dict[str, Any]:
    async with rt.read() as conn:
        team = await team_actions.team_view(conn, team_id)
    if team is None:
        raise HTTPException(404, "equipe não encontrada")
    return team


# ---- teams --------------------------------------------------------------------------------------

@router.post("/teams", status_code=201)
async def create_team(body: TeamIn, rt: Rt, user: Who) -> dict[str, Any]:
    """A team (admin): the connectors it serves, its members, policy, visibility, hours and timers."""
    async with rt.write() as tx:
        team_id = await team_actions.create_team(tx, body.model_dump(), by=user)
    return await _team(rt, team_id)


@router.get("/teams")
async def list_teams(rt: Rt, user: Who) -> dict[str, Any]:
    async with rt.read() as conn:
        return {"items": await team_actions.team_views(conn)}


@router.get("/teams/{team_id}")
async def get_team(team_id: RowId, rt: Rt, user: Who) -> dict[str, Any]:
    return await _team(rt, team_id)


@router.patch("/teams/{team_id}")
async def patch_team(team_id: RowId, body: TeamPatch, rt: Rt, user: Who) -> dict[str, Any]:
    """Admins change anything; supervisors the members of their own teams. `null` clears a field."""
    changes = body.model_dump(exclude_unset=True)
    for required in ("name", "policy", "visibility", "member_ids", "connector_ids"):
        if required in changes and changes[required] is None:
            raise HTTPException(422, f"{required} não pode ser nulo")
    async with rt.write() as tx:
        await team_actions.update_team(tx, team_id, changes, by=user)
    return await _team(rt, team_id)


@router.delete("/teams/{team_id}", status_code=204)
async def delete_team(team_id: RowId, rt: Rt, user: Who) -> Response:
    """Admin: the team's conversations join the default queue."""
    async with rt.write() as tx:
        await team_actions.delete_team(tx, team_id, by=user)
    return Response(status_code=204)


# ---- the menu bot -------------------------------------------------------------------------------

@router.get("/connectors/{connector_id}/bot", dependencies=[require("supervisor")])
async def get_bot(connector_id: RowId, rt: Rt) -> dict[str, Any]:
    async with rt.read() as conn:
        if await queries.connector_row(conn, connector_id) is None:
            raise HTTPException(404, "conector não encontrado")
        cfg = await bot_actions.config(conn, connector_id)
    return cfg or BotIn().model_dump()


@router.put("/connectors/{connector_id}/bot", dependencies=[require("admin")])
async def put_bot(connector_id: RowId, body: BotIn, rt: Rt, user: Who) -> dict[str, Any]:
    """The connector's menu bot: greeting, numbered options (a team, or a text reply), the answer to an
    invalid choice, and the timeout after which a human takes over."""
    async with rt.write() as tx:
        return await bot_actions.save(tx, connector_id, body.model_dump(), actor_id=user.id)


# ---- tags ---------------------------------------------------------------------------------------

@router.get("/tags")
async def list_tags(rt: Rt, user: Who) -> dict[str, Any]:
    async with rt.read() as conn:
        return {"items": await queries.tag_list(conn)}


@router.post("/tags", status_code=201)
async def create_tag(body: TagIn, rt: Rt, user: Who) -> dict[str, Any]:
    async with rt.write() as tx:
        tag_id = await tag_actions.create_tag(tx, body.name, body.colour, by=user)
    return await _tag(rt, tag_id)


@router.patch("/tags/{tag_id}")
async def patch_tag(tag_id: RowId, body: TagPatch, rt: Rt, user: Who) -> dict[str, Any]:
    async with rt.write() as tx:
        await tag_actions.update_tag(tx, tag_id, name=body.name, colour=body.colour, by=user)
    return await _tag(rt, tag_id)


@router.delete("/tags/{tag_id}", status_code=204)
async def delete_tag(tag_id: RowId, rt: Rt, user: Who) -> Response:
    async with rt.write() as tx:
        await tag_actions.delete_tag(tx, tag_id, by=user)
    return Response(status_code=204)


async def _tag(rt: Rt, tag_id: RowId) -> dict[str, Any]:
    async with rt.read() as conn:
        found = [t for t in await queries.tag_list(conn) if t["id"] == tag_id]
    if not found:
        raise HTTPException(404, "etiqueta não encontrada")
    return found[0]
