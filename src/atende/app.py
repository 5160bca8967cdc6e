"""The ASGI application: API, webhooks, SSE, pages, and (embedded mode) the worker in-process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from atende import __version__
from atende.actions.errors import ActionError
from atende.db.migrate import upgrade
from atende.jobs.handlers import DEAD_HOOKS, HANDLERS, ensure_periodic
from atende.jobs.worker import Worker
from atende.metrics import render
from atende.realtime import sse
from atende.runtime import Runtime
from atende.settings import Settings, get_settings
from atende.web.api import (
    admin,
    audit,
    campaigns,
    close_reasons,
    connectors,
    contact_list,
    contacts,
    conversations,
    csat,
    integrations,
    media,
    message_templates,
    privacy,
    reports,
    retention,
    scheduled,
    search,
    teams,
    tokens,
    whatsapp,
)
from atende.web.auth import require
from atende.web.error_language import request_language, translate_detail, translate_errors
from atende.web.security_headers import SecurityHeaders
from atende.web.webhooks import receive

log = structlog.get_logger(__name__)
Role = Literal["all", "web", "worker"]


def create_app(settings: Settings | None = None, *, rt: Runtime | None = None, role: Role = "all",
               run_worker: bool | None = None) -> FastAPI:
    settings = settings or (rt.settings if rt else get_settings())
    with_worker = role in ("all", "worker") if run_worker is None else run_worker

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = rt or Runtime.create(settings)
        app.state.rt = runtime
        if settings.run_migrations_on_start:
            await upgrade(runtime.engine, secret_key=settings.resolved_secret_key())
        await runtime.bus.start()
        runtime.watch_connectors()
        stop = asyncio.Event()
        worker_task = None
        if with_worker:
            worker = Worker(runtime, HANDLERS, dead_hooks=DEAD_HOOKS)
            app.state.worker = worker
            await ensure_periodic(runtime)
            worker_task = asyncio.create_task(worker.run_forever(stop))
        try:
            yield
        finally:
            stop.set()
            if worker_task is not None:
                worker.wake()
                with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                    await asyncio.wait_for(worker_task, 15)
            if rt is None:
                await runtime.close()

    # /docs is served by the workspace from npm's swagger-ui-dist (web/pages/api_docs.py), not from a CDN.
    app = FastAPI(title="atende", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Contact center omnichannel aberto: WhatsApp, SMS (Kolmeya), Instagram e Messenger.")
    for module in (connectors, conversations, contact_list, contacts, admin, audit, sse, media, whatsapp, tokens,
                   integrations, search, close_reasons, teams, reports, campaigns, message_templates, scheduled, csat,
                   privacy, retention):
        app.include_router(module.router, prefix="/api/v1")
    receive.install(app)

    @app.get("/healthz", tags=["ops"])
    async def healthz(request: Request) -> JSONResponse:
        try:
            async with request.app.state.rt.read() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:  # the point of the check is to say so, not to crash
            return JSONResponse({"ok": False, "detail": type(exc).__name__}, status_code=503,
                                headers={"Retry-After": "5"})
        return JSONResponse({"ok": True, "version": __version__})

    @app.get("/metrics", tags=["ops"], dependencies=[require("supervisor")])
    async def metrics(request: Request) -> Response:
        async with request.app.state.rt.read() as conn:
            body = await render(conn)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    @app.exception_handler(ActionError)
    async def action_error(request: Request, exc: ActionError) -> JSONResponse:
        body: dict[str, object] = {"detail": translate_detail(exc.template, request_language(request), exc.params)}
        if exc.code:
            body["code"] = exc.code
        return JSONResponse(body, status_code=exc.status_code)

    @app.exception_handler(IntegrityError)
    async def integrity_error(_: Request, exc: IntegrityError) -> JSONResponse:
        log.warning("integrity error", error=type(exc.orig).__name__)
        return JSONResponse({"detail": "conflito com dados existentes"}, status_code=409)

    @app.exception_handler(OperationalError)
    async def db_busy(_: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database unavailable", error=type(exc.orig).__name__)
        return JSONResponse({"detail": "banco de dados ocupado, tente novamente"}, status_code=503,
                            headers={"Retry-After": "1"})

    async def db_down(_: Request, exc: Exception) -> JSONResponse:
        # The database (or its pool) cannot be reached: a retryable 503, not a 500. Only the error's
        # type is logged: a driver message may carry the statement's parameters.
        log.warning("database unreachable", error=type(exc).__name__)
        return JSONResponse({"detail": "banco de dados indisponível, tente novamente em instantes"},
                            status_code=503, headers={"Retry-After": "5"})

    for kind in (DBAPIError, SATimeoutError, OSError):
        app.add_exception_handler(kind, db_down)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Agents read these in the composer and forms: in their language, not pydantic's English.
        return JSONResponse({"detail": translate_errors(exc.errors(), request_language(request))}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code in (204, 304):
            return Response(status_code=exc.status_code, headers=exc.headers)
        detail = translate_detail(exc.detail, request_language(request)) if isinstance(exc.detail, str) else exc.detail
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)

    app.add_middleware(SecurityHeaders)

    try:
        from atende.web.pages import install as install_pages
    except ImportError:  # the workspace is optional for API-only deployments
        pass
    else:
        install_pages(app)
    return app
