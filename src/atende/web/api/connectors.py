"""/api/v1/connectors"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from atende.actions import audit
from atende.actions import connectors as connector_actions
from atende.channels.base import ProviderError, connection_reason, sanitize_reason
from atende.db import queries
from atende.domain.money import format_brl
from atende.web.auth import Admin, CurrentUser, Rt, User, client_ip, require
from atende.web.params import RowId

router = APIRouter(prefix="/connectors", tags=["connectors"])
Supervisor = Annotated[CurrentUser, require("supervisor")]


class ConnectorIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    provider: str = Field(min_length=1, max_length=40)
    config: dict[str, Any] = Field(default_factory=dict)


class ConnectorPatch(BaseModel):
    name: str | None = Field(default=None, max_length=200)
    config: dict[str, Any] | None = None
    active: bool | None = None


async def _view(rt: Rt, connector_id: RowId, *, stats: bool, admin: bool) -> dict[str, Any]:
    async with rt.read() as conn:
        row = await queries.connector_row(conn, connector_id)
    if row is None:
        raise HTTPException(404, "conector não encontrado")
    data = queries.connector_dict(row, rt.webhook_url_of(row) if admin else None)
    if stats:
        data["stats"] = queries.connector_stats(row)
    return data


@router.post("", status_code=201)
async def create_connector(body: ConnectorIn, rt: Rt, user: Admin, request: Request) -> dict[str, Any]:
    async with rt.write() as tx:
        connector_id = await connector_actions.create_connector(
            tx, rt.secrets, name=body.name, provider=body.provider, config=body.config,
            allow_http_loopback=rt.settings.allow_http_loopback_providers, actor_id=user.id, ip=client_ip(request))
    from atende.jobs.handlers import ensure_periodic

    await ensure_periodic(rt)
    return await _view(rt, connector_id, stats=False, admin=True)


@router.get("")
async def list_connectors(rt: Rt, user: User) -> dict[str, Any]:
    from sqlalchemy import select

    from atende.db.tables import connectors

    async with rt.read() as conn:
        rows = list(await conn.execute(select(connectors).order_by(connectors.c.id)))
    admin = user.at_least("admin")
    items = []
    for row in rows:
        item = queries.connector_dict(row, rt.webhook_url_of(row) if admin else None)
        item["stats"] = queries.connector_stats(row)
        items.append(item)
    return {"items": items}


@router.get("/{connector_id}")
async def get_connector(connector_id: RowId, rt: Rt, user: User) -> dict[str, Any]:
    return await _view(rt, connector_id, stats=True, admin=user.at_least("admin"))


@router.patch("/{connector_id}")
async def patch_connector(connector_id: RowId, body: ConnectorPatch, rt: Rt, user: Admin,
                          request: Request) -> dict[str, Any]:
    async with rt.write() as tx:
        await connector_actions.update_connector(
            tx, rt.secrets, connector_id, name=body.name, config=body.config, active=body.active,
            allow_http_loopback=rt.settings.allow_http_loopback_providers, actor_id=user.id, ip=client_ip(request))
    await rt.connector_changed(connector_id)
    from atende.jobs.handlers import ensure_periodic

    await ensure_periodic(rt)
    return await _view(rt, connector_id, stats=True, admin=True)


@router.post("/{connector_id}/rotate-webhook")
async def rotate_webhook(connector_id: RowId, rt: Rt, user: Admin, request: Request) -> dict[str, Any]:
    """A new webhook URL; the old one answers 404 from now on, in every process."""
    async with rt.write() as tx:
        await connector_actions.rotate_webhook(tx, rt.secrets, connector_id, actor_id=user.id,
                                               ip=client_ip(request))
    await rt.connector_changed(connector_id)
    return await _view(rt, connector_id, stats=True, admin=True)


@router.post("/{connector_id}/poll", status_code=202, dependencies=[require("supervisor")])
async def poll_connector(connector_id: RowId, rt: Rt) -> dict[str, Any]:
    """Fetch replies and statuses from the provider now (webhooks can go missing)."""
    await _view(rt, connector_id, stats=False, admin=False)
    async with rt.write() as tx:
        await connector_actions.poll_now(tx, connector_id)
    return {"ok": True}


@router.post("/{connector_id}/test")
async def test_connector(connector_id: RowId, rt: Rt, user: Supervisor, request: Request) -> dict[str, Any]:
    """A short, sanitized reason: never what the remote server wrote (it may echo anything)."""
    rt.forget(connector_id)
    loaded = await rt.connector(connector_id)
    if loaded is None:
        raise HTTPException(404, "conector não encontrado")
    async with rt.write() as tx:  # a test sends the stored credentials out: who asked is evidence
        await audit.record(tx, "connector.test", actor_id=user.id, target_type="connector",
                           target_id=connector_id, ip=client_ip(request))
    try:
        result = await loaded.provider.test_connection()
    except ProviderError as exc:  # providers should answer ConnectionTest; never let one 500
        return {"ok": False, "detail": connection_reason(exc), "balance": None}
    return {
        "ok": result.ok, "detail": sanitize_reason(result.detail),
        "balance": queries.money(result.balance) if result.balance is not None else None,
        "balance_display": format_brl(result.balance) if result.balance is not None else None,
    }
