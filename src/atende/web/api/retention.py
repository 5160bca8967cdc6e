"""PUT|GET /api/v1/retention (how long data is kept) and PUT|GET /api/v1/privacy (preview masking):
admins and the DPO."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from atende.actions import app_settings as settings_actions
from atende.auth import policy
from atende.db import app_settings
from atende.db.tables import connectors
from atende.domain.retention import RetentionPolicy
from atende.web.auth import Rt, User, client_ip

router = APIRouter(tags=["lgpd"])


class PrivacyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mask_previews: bool


@router.get("/retention")
async def get_retention(rt: Rt, user: User) -> dict[str, Any]:
    policy.require_privacy_settings(user)
    async with rt.read() as conn:
        return (await app_settings.retention_policy(conn)).to_json()


@router.put("/retention")
async def put_retention(body: RetentionPolicy, rt: Rt, user: User, request: Request) -> dict[str, Any]:
    """`{messages_days, media_days, events_days, jobs_days, per_connector: {id: {messages_days?, media_days?}}}`;
    null days: keep. A key left out of a connector's entry follows the installation's value."""
    policy.require_privacy_settings(user)
    if body.per_connector:
        async with rt.read() as conn:
            known = {int(r.id) for r in await conn.execute(
                select(connectors.c.id).where(connectors.c.id.in_(list(body.per_connector))))}
        missing = sorted(set(body.per_connector) - known)
        if missing:
            raise HTTPException(422, f"conector não encontrado: {missing[0]}")
    async with rt.write() as tx:
        await settings_actions.put(tx, app_settings.RETENTION, body.to_json(), actor_id=user.id,
                                   ip=client_ip(request))
    rt.app_settings.forget(app_settings.RETENTION)
    return body.to_json()


@router.get("/privacy")
async def get_privacy(rt: Rt, user: User) -> dict[str, Any]:
    policy.require_privacy_settings(user)
    async with rt.read() as conn:
        return await app_settings.get(conn, app_settings.PRIVACY)


@router.put("/privacy")
async def put_privacy(body: PrivacyIn, rt: Rt, user: User, request: Request) -> dict[str, Any]:
    """Masking of CPF, CNPJ and card numbers in previews (on by default)."""
    policy.require_privacy_settings(user)
    async with rt.write() as tx:
        await settings_actions.put(tx, app_settings.PRIVACY, body.model_dump(), actor_id=user.id,
                                   ip=client_ip(request))
    rt.app_settings.forget(app_settings.PRIVACY)
    return body.model_dump()
