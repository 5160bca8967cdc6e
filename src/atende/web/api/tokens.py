"""/api/v1/tokens: API tokens of the caller (admins: everyone's). The secret is shown once."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import select

from atende.actions import users as user_actions
from atende.db.queries import iso
from atende.db.tables import api_tokens, users
from atende.web.auth import Rt, User, client_ip
from atende.web.params import RowId

router = APIRouter(prefix="/tokens", tags=["tokens"])


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    expires_at: AwareDatetime | None = None


def _token_dict(row: Any) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "user_id": row.user_id, "created_at": iso(row.created_at),
            "expires_at": iso(row.expires_at), "last_used_at": iso(row.last_used_at),
            "revoked_at": iso(row.revoked_at)}


@router.post("", status_code=201)
async def create_token(body: TokenIn, rt: Rt, user: User, request: Request) -> dict[str, Any]:
    expires = body.expires_at
    async with rt.write() as tx:
        token_id, token = await user_actions.issue_api_token(
            tx, user.id, name=body.name, expires_at=expires, actor_id=user.id, ip=client_ip(request))
    async with rt.read() as conn:
        row = (await conn.execute(select(api_tokens).where(api_tokens.c.id == token_id))).one()
    return {**_token_dict(row), "token": token}


@router.get("")
async def list_tokens(rt: Rt, user: User) -> dict[str, Any]:
    stmt = select(api_tokens, users.c.name.label("user_name")).select_from(
        api_tokens.join(users, users.c.id == api_tokens.c.user_id)).order_by(api_tokens.c.id.desc()).limit(1000)
    if not user.at_least("admin"):
        stmt = stmt.where(api_tokens.c.user_id == user.id)
    async with rt.read() as conn:
        rows = list(await conn.execute(stmt))
    return {"items": [{**_token_dict(r), "user_name": r.user_name} for r in rows]}


@router.delete("/{token_id}", status_code=204)
async def revoke_token(token_id: RowId, rt: Rt, user: User, request: Request) -> Response:
    async with rt.write() as tx:
        await user_actions.revoke_api_token(tx, token_id, actor_id=user.id, actor_is_admin=user.at_least("admin"),
                                            ip=client_ip(request))
    return Response(status_code=204)


