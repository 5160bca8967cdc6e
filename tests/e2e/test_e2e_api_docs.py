"""/docs renders offline (Swagger UI from npm) and under the strict CSP."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, Route, expect

from tests.e2e.live import LiveStack

pytestmark = pytest.mark.e2e


def test_api_docs_work_offline(live: LiveStack, page: Page, artifacts: Path) -> None:
    outside: list[str] = []

    def only_local(route: Route) -> None:
        if route.request.url.startswith(live.url):
            route.continue_()
        else:  # no internet: a CDN request fails, as on an isolated server
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    response = page.goto(f"{live.url}/docs")
    assert response is not None and response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.get_by_text("/api/v1/conversations/{conversation_id}/messages").first).to_be_visible(timeout=10000)
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("atende")
    assert outside == []
    page.screenshot(path=str(artifacts / "api-docs-offline.png"))
    assert page.goto(f"{live.url}/redoc") is not None
    expect(page).to_have_url(f"{live.url}/docs")
