"""The single webhook address of every connector: /webhooks/{token}.

Verify, parse, commit, then answer (design.md rule 3): a 2xx means the data is durable.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import structlog
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy import select

from atende.actions.ingest import ingest_batch
from atende.channels.base import WebhookBatch, WebhookRejected, WebhookRequest
from atende.db.tables import connectors
from atende.jobs.handlers import connector_info
from atende.metrics import INGESTED, WEBHOOKS
from atende.runtime import LoadedConnector, Runtime
from atende.web.auth import Rt

router = APIRouter(tags=["webhooks"])
log = structlog.get_logger(__name__)


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"corpo maior que {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(413, f"corpo maior que {limit} bytes")
    return bytes(body)


async def _connector(rt: Runtime, token: str) -> LoadedConnector:
    # Tokens are 43 url-safe characters; anything else is not worth a database lookup.
    loaded = await rt.connector_by_token(token) if 20 <= len(token) <= 64 else None
    if loaded is None or not loaded.active:
        raise HTTPException(404, "webhook desconhecido")
    return loaded


async def split_by_account(rt: Runtime, url_connector: LoadedConnector, batch: WebhookBatch) -> dict[int, WebhookBatch]:
    """One app can serve many numbers: route each item by the account it names (phone_number_id)."""
    own = getattr(url_connector.config, "phone_number_id", None)
    accounts = {m.account_id for m in batch.messages} | {s.account_id for s in batch.statuses}
    accounts -= {None, own}
    target: dict[str | None, int] = {}
    if accounts:
        async with rt.read() as conn:
            rows = await conn.execute(select(connectors.c.id, connectors.c.account_id).where(
                connectors.c.provider == url_connector.provider_name, connectors.c.account_id.in_(accounts)))
            target = {r.account_id: int(r.id) for r in rows}
    out: dict[int, WebhookBatch] = defaultdict(WebhookBatch)
    for m in batch.messages:
        out[target.get(m.account_id, url_connector.id)].messages.append(m)
    for s in batch.statuses:
        out[target.get(s.account_id, url_connector.id)].statuses.append(s)
    out[url_connector.id].events.extend(batch.events)
    return out


@router.get("/webhooks/{token}", include_in_schema=False)
async def handshake(token: str, request: Request, rt: Rt) -> Response:
    loaded = await _connector(rt, token)
    req = WebhookRequest("GET", b"", {k.lower(): v for k, v in request.headers.items()}, dict(request.query_params))
    try:
        answer = loaded.provider.handshake(req)
    except WebhookRejected as exc:
        raise HTTPException(exc.status_code, exc.detail) from None
    if answer is None:
        raise HTTPException(405, "este provedor não usa verificação por GET")
    return PlainTextResponse(answer)


@router.post("/webhooks/{token}", include_in_schema=False)
async def receive(token: str, request: Request, rt: Rt) -> Response:
    loaded = await _connector(rt, token)
    body = await read_body(request, rt.settings.max_webhook_bytes)
    req = WebhookRequest("POST", body, {k.lower(): v for k, v in request.headers.items()},
                         dict(request.query_params))
    try:
        batch = loaded.provider.parse_webhook(req)
    except WebhookRejected as exc:
        WEBHOOKS.labels(loaded.provider_name, str(exc.status_code)).inc()
        log.info("webhook rejected", connector_id=loaded.id, status=exc.status_code, detail=exc.detail)
        raise HTTPException(exc.status_code, exc.detail) from None
    parts = await split_by_account(rt, loaded, batch) if batch else {}
    infos: dict[int, Any] = {}
    for connector_id in parts:
        other = loaded if connector_id == loaded.id else await rt.connector(connector_id)
        assert other is not None
        infos[connector_id] = connector_info(other, auto_assign=rt.settings.auto_assign)

    async def work(tx: Any) -> tuple[int, int]:
        stored = duplicates = 0
        for connector_id, part in parts.items():
            result = await ingest_batch(tx, infos[connector_id], part)
            stored += len(result.stored)
            duplicates += result.duplicates
        return stored, duplicates

    stored, duplicates = await rt.committer.run(work) if parts else (0, 0)
    WEBHOOKS.labels(loaded.provider_name, "ok").inc()
    INGESTED.labels(loaded.provider_name).inc(stored)
    return JSONResponse({"ok": True, "stored": stored, "duplicates": duplicates})
