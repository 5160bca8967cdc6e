"""The single webhook address of every connector: /webhooks/{token}.

Verify, parse, commit, then answer (design.md rule 3): a 2xx means the data is durable.
"""

from __future__ import annotations

import hmac
from collections import defaultdict
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy import select
from starlette.routing import Route

from atende.actions.ingest import ingest_batch
from atende.channels.base import WebhookBatch, WebhookRejected, WebhookRequest
from atende.db.tables import connectors
from atende.domain.ids import parse_int
from atende.jobs.handlers import connector_info
from atende.metrics import INGESTED, WEBHOOKS
from atende.runtime import LoadedConnector, Runtime
from atende.web.auth import Rt

router = APIRouter(tags=["webhooks"])
log = structlog.get_logger(__name__)


async def read_body(request: Request, limit: int) -> bytes:
    declared = parse_int(request.headers.get("content-length") or "")
    if declared is not None and declared > limit:
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


def _same_app(a: LoadedConnector, b: LoadedConnector) -> bool:
    """Both connectors verify webhooks with the same app secret (the same Meta app)."""
    sa, sb = getattr(a.config, "app_secret", None), getattr(b.config, "app_secret", None)
    return isinstance(sa, str) and isinstance(sb, str) and hmac.compare_digest(sa.encode(), sb.encode())


async def split_by_account(rt: Runtime, url_connector: LoadedConnector, batch: WebhookBatch) -> dict[int, WebhookBatch]:
    """One app can serve many numbers: route each item by the account it names (phone_number_id).

    The payload was verified with the URL connector's app secret, so it may write only to active
    connectors of the same provider that share that secret. Items for any other account are logged
    and dropped: never stored on the wrong connector."""
    accounts = {m.account_id for m in batch.messages} | {s.account_id for s in batch.statuses}
    accounts.discard(None)
    if not accounts:  # nothing names an account (Kolmeya): all of it is the URL connector's
        return {url_connector.id: batch}
    own = getattr(url_connector.config, "account_id", None)  # phone_number_id, page id, IG account id
    accounts.discard(own)
    if not accounts:  # only the URL connector's own account
        return {url_connector.id: batch}
    target: dict[str | None, int] = {None: url_connector.id, own: url_connector.id}
    if accounts:
        async with rt.read() as conn:
            rows = list(await conn.execute(select(connectors.c.id, connectors.c.account_id).where(
                connectors.c.provider == url_connector.provider_name, connectors.c.account_id.in_(accounts),
                connectors.c.active.is_(True))))
        for r in rows:
            other = await rt.connector(int(r.id))
            if other is not None and other.active and _same_app(url_connector, other):
                target[r.account_id] = int(r.id)
    out: dict[int, WebhookBatch] = defaultdict(WebhookBatch)
    dropped: set[str] = set()
    for m in batch.messages:
        if m.account_id in target:
            out[target[m.account_id]].messages.append(m)
        else:
            dropped.add(str(m.account_id))
    for s in batch.statuses:
        if s.account_id in target:
            out[target[s.account_id]].statuses.append(s)
        else:
            dropped.add(str(s.account_id))
    if dropped:
        log.warning("webhook items for foreign accounts dropped", connector_id=url_connector.id,
                    accounts=sorted(dropped)[:20])
    if batch.events:
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


async def receive(request: Request) -> Response:
    """POST /webhooks/{token}: a plain Starlette route placed first (see `install`), so the hottest
    path skips FastAPI's route matching over the whole API and its dependency solving."""
    rt: Runtime = request.app.state.rt
    loaded = await _connector(rt, request.path_params["token"])
    body = await read_body(request, rt.settings.max_webhook_bytes)
    req = WebhookRequest("POST", body, {k.lower(): v for k, v in request.headers.items()},
                         dict(request.query_params))
    try:
        batch = loaded.provider.parse_webhook(req)
    except WebhookRejected as exc:
        WEBHOOKS.labels(loaded.provider_name, str(exc.status_code)).inc()
        log.info("webhook rejected", connector_id=loaded.id, status=exc.status_code, detail=exc.detail)
        raise HTTPException(exc.status_code, exc.detail) from None
    items = len(batch.messages) + len(batch.statuses) + len(batch.events)
    if items > rt.settings.webhook_max_items:
        # One request must not turn into thousands of rows and jobs: the provider splits and retries.
        WEBHOOKS.labels(loaded.provider_name, "413").inc()
        log.warning("webhook over the item cap", connector_id=loaded.id, items=items)
        raise HTTPException(413, f"itens demais em uma requisição ({items}; máximo "
                                 f"{rt.settings.webhook_max_items})")
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


def install(app: FastAPI) -> None:
    """The GET handshake is an ordinary route; the POST goes in front of every other route. Errors
    still pass through the app's middleware and exception handlers (HTTPException → {"detail": …})."""
    app.include_router(router)
    app.router.routes.insert(0, Route("/webhooks/{token}", receive, methods=["POST"], include_in_schema=False))
