"""/api/v1/users, /api/v1/me, /api/v1/jobs (dead jobs are visible, design.md rule 4)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from atende.actions import users as user_actions
from atende.db.queries import iso
from atende.db.tables import jobs, users
from atende.web.auth import Rt, User, require

router = APIRouter(tags=["admin"])


class UserIn(BaseModel):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=8, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    role: Literal["agent", "supervisor", "admin"] = "agent"


class PresenceIn(BaseModel):
    presence: Literal["online", "away", "offline"]


def _user_dict(row: Any) -> dict[str, Any]:
    return {"id": row.id, "email": row.email, "name": row.name, "role": row.role, "presence": row.presence,
            "capacity": row.capacity, "active": row.active}


@router.get("/me")
async def me(rt: Rt, user: User) -> dict[str, Any]:
    async with rt.read() as conn:
        row = (await conn.execute(select(users).where(users.c.id == user.id))).one()
    return _user_dict(row)


@router.post("/me/presence")
async def presence(body: PresenceIn, rt: Rt, user: User) -> dict[str, Any]:
    async with rt.write() as tx:
        await user_actions.set_presence(tx, user.id, body.presence)
    return await me(rt, user)


@router.get("/users")
async def list_users(rt: Rt, user: User) -> dict[str, Any]:
    async with rt.read() as conn:
        rows = list(await conn.execute(select(users).order_by(users.c.name)))
    return {"items": [_user_dict(r) for r in rows]}


@router.post("/users", status_code=201, dependencies=[require("admin")])
async def create_user(body: UserIn, rt: Rt) -> dict[str, Any]:
    async with rt.write() as tx:
        user_id = await user_actions.create_user(tx, email=body.email, password=body.password, name=body.name,
                                                 role=body.role)
    async with rt.read() as conn:
        row = (await conn.execute(select(users).where(users.c.id == user_id))).one()
    return _user_dict(row)


@router.get("/jobs", dependencies=[require("supervisor")])
async def list_jobs(
    rt: Rt, status: Literal["pending", "running", "dead"] = "dead", limit: int = Query(default=100, ge=1, le=500),
) -> dict[str, Any]:
    async with rt.read() as conn:
        rows = list(await conn.execute(
            select(jobs).where(jobs.c.status == status).order_by(jobs.c.id.desc()).limit(limit)))
    return {"items": [{"id": r.id, "kind": r.kind, "payload": r.payload, "status": r.status,
                       "attempts": r.attempts, "last_error": r.last_error, "run_at": iso(r.run_at),
                       "updated_at": iso(r.updated_at)} for r in rows]}
