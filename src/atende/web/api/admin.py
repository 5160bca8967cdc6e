"""/api/v1/users, /api/v1/me, /api/v1/jobs (dead jobs are visible, design.md rule 4)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from atende.actions import users as user_actions
from atende.db.queries import iso
from atende.db.tables import jobs, users
from atende.web.auth import Admin, Rt, User, client_ip, require
from atende.web.params import RowId

router = APIRouter(tags=["admin"])


class UserIn(BaseModel):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=8, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    role: Literal["agent", "supervisor", "admin", "dpo"] = "agent"


class UserPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Literal["agent", "supervisor", "admin", "dpo"] | None = None
    active: bool | None = None
    password: str | None = Field(default=None, min_length=8, max_length=200)
    capacity: int | None = Field(default=None, ge=0, le=1000, description="max open conversations; 0 = unlimited")


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


@router.post("/users", status_code=201)
async def create_user(body: UserIn, rt: Rt, user: Admin, request: Request) -> dict[str, Any]:
    async with rt.write() as tx:
        user_id = await user_actions.create_user(tx, email=body.email, password=body.password, name=body.name,
                                                 role=body.role, actor_id=user.id, ip=client_ip(request))
    async with rt.read() as conn:
        row = (await conn.execute(select(users).where(users.c.id == user_id))).one()
    return _user_dict(row)


@router.patch("/users/{user_id}")
async def patch_user(user_id: RowId, body: UserPatch, rt: Rt, user: Admin, request: Request) -> dict[str, Any]:
    """Deactivating a user ends their sessions, API tokens and live streams at once."""
    async with rt.write() as tx:
        await user_actions.update_user(tx, user_id, actor_id=user.id, ip=client_ip(request), name=body.name,
                                       role=body.role, active=body.active, password=body.password,
                                       capacity=body.capacity)
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
