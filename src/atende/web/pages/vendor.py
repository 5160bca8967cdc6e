"""Browser libraries installed by npm (package.json), served straight from node_modules.

Only an allow-list of dist files is reachable: /static/vendor/<name> → node_modules/<path>.
Nothing from node_modules is ever copied into git.
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

VENDOR_FILES: dict[str, str] = {
    "htmx.min.js": "htmx.org/dist/htmx.min.js",
    "htmx-sse.js": "htmx-ext-sse/dist/sse.min.js",
    "alpine.min.js": "@alpinejs/csp/dist/cdn.min.js",  # Alpine's CSP build: no eval, no Function()
    "Sortable.min.js": "sortablejs/Sortable.min.js",
    # /docs: Swagger UI from npm, so the API reference works offline and under the CSP.
    "swagger-ui-bundle.js": "swagger-ui-dist/swagger-ui-bundle.js",
    "swagger-ui.css": "swagger-ui-dist/swagger-ui.css",
}

REPO_ROOT = Path(__file__).resolve().parents[4]


def find_node_modules() -> Path | None:
    """ATENDE_NODE_MODULES, else ./node_modules (cwd), else the checkout's root."""
    candidates: list[Path] = []
    if configured := os.environ.get("ATENDE_NODE_MODULES"):
        candidates.append(Path(configured))
    candidates += [Path.cwd() / "node_modules", REPO_ROOT / "node_modules"]
    for candidate in candidates:
        if candidate.is_dir() and (candidate / VENDOR_FILES["htmx.min.js"]).is_file():
            return candidate.resolve()
    return None


def missing_files(node_modules: Path | None) -> list[str]:
    if node_modules is None:
        return sorted(VENDOR_FILES)
    return sorted(name for name, rel in VENDOR_FILES.items() if not (node_modules / rel).is_file())


class VendorFiles(StaticFiles):
    """StaticFiles over node_modules that maps the public names above to their dist files."""

    def __init__(self, node_modules: Path | None) -> None:
        self.node_modules = node_modules
        super().__init__(directory=str(node_modules) if node_modules else None, check_dir=False)

    async def get_response(self, path: str, scope: Scope) -> Response:
        rel = VENDOR_FILES.get(path)
        if rel is None or self.node_modules is None:
            raise HTTPException(404, "arquivo desconhecido; rode `npm ci` na raiz do projeto")
        response = await super().get_response(rel, scope)
        response.headers.setdefault("Cache-Control", "public, max-age=3600")
        return response
