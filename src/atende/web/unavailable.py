"""The database is unreachable (restarting, failing over, refusing connections): answer 503 with
Retry-After, never a 500, so providers and clients retry instead of giving up. Nothing was
acknowledged, so nothing is lost; the connection pool reconnects by itself when it is back.

(The `security` branch adds a generic handler for the same; this one covers what a PostgreSQL
restart raises through asyncpg, found by tests/integration/test_failures_postgres.py.)
"""

from __future__ import annotations

import asyncpg
import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError

log = structlog.get_logger(__name__)
RETRY_AFTER_S = 2
_CONNECTION_ERRORS = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
                      asyncpg.CannotConnectNowError, asyncpg.ConnectionDoesNotExistError)


def database_unavailable(exc: BaseException) -> bool:
    """Is this the database being unreachable (as opposed to a bad statement or bad data)?"""
    if isinstance(exc, OperationalError | InterfaceError | DisconnectionError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:  # the driver's error, wrapped once or twice
        seen.add(id(current))
        if isinstance(current, _CONNECTION_ERRORS):
            return True
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return False


def unavailable_response() -> JSONResponse:
    return JSONResponse({"detail": "banco de dados indisponível no momento, tente novamente"}, status_code=503,
                        headers={"Retry-After": str(RETRY_AFTER_S)})


def install(app: FastAPI) -> None:
    @app.exception_handler(DBAPIError)
    async def dbapi_error(_: Request, exc: DBAPIError) -> JSONResponse:
        if not database_unavailable(exc):
            raise exc
        log.warning("database unavailable", error=type(exc.orig).__name__ if exc.orig else type(exc).__name__)
        return unavailable_response()

    @app.exception_handler(ConnectionError)
    async def connection_error(_: Request, exc: ConnectionError) -> JSONResponse:
        log.warning("database unavailable", error=type(exc).__name__)
        return unavailable_response()
