"""The agent workspace: server-rendered pages (Jinja2 + htmx + Alpine.js + SortableJS).

`install(app)` adds the page routes, the template environment, the i18n catalogs and the static
mounts (our own files, and the npm packages served from node_modules).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.staticfiles import StaticFiles

from atende.web.pages import account, admin, audit, board, chat, contacts, odoo, search, teams
from atende.web.pages.core import LoginRequired, PageError, build_environment, make_ui, redirect, render, wants_fragment
from atende.web.pages.vendor import VendorFiles, find_node_modules, missing_files

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"


def install(app: FastAPI) -> None:
    app.state.templates = build_environment()
    node_modules = find_node_modules()
    app.state.vendor_missing = missing_files(node_modules)
    app.mount("/static/vendor", VendorFiles(node_modules), name="vendor")
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    for module in (account, board, chat, contacts, admin, audit, odoo, search, teams):
        app.include_router(module.router)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        from urllib.parse import quote

        return redirect(f"/login?next={quote(exc.next_url, safe='/')}", request)

    @app.exception_handler(PageError)
    async def page_error(request: Request, exc: PageError) -> Response:
        if wants_fragment(request):
            return PlainTextResponse(exc.message, status_code=exc.status_code)
        user = getattr(request.state, "user", None)
        return render(request, "error.html", {"status": exc.status_code, "message": exc.message},
                      ui=make_ui(request, user), status_code=exc.status_code)


__all__ = ["install"]
