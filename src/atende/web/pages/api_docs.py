"""/docs: the interactive API reference, served from npm's swagger-ui-dist (offline, strict CSP).

FastAPI's own page loads Swagger UI from a CDN and starts it with an inline script: blank offline and
refused by our Content-Security-Policy. /redoc (also CDN-only) now leads here.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from atende.web.auth import optional_user
from atende.web.pages.core import make_ui, render, rt_of

router = APIRouter(include_in_schema=False)


@router.get("/docs")
async def api_docs(request: Request) -> Response:
    user = await optional_user(request, rt_of(request))
    return render(request, "api_docs.html", {"openapi_url": request.app.openapi_url or "/openapi.json"},
                  ui=make_ui(request, user))


@router.get("/redoc")
async def redoc() -> Response:
    return RedirectResponse("/docs", status_code=308)
