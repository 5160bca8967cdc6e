"""The live stream of a page that knows no event id (error pages) starts at the newest event.

Before the fix the 403/404 pages opened /api/v1/events?last_event_id=0: every old customer message
was replayed and each one fired a request (67 in 4 s on the demo database) and a notification.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, Request, expect

from atende.realtime import events
from tests.e2e.live import LiveStack
from tests.e2e.test_e2e_workspace import login

pytestmark = pytest.mark.e2e
OLD_MESSAGES = 67
REPLAY = re.compile(r"/api/v1/conversations/\d+")  # what each replayed customer message asks for


def seed_history(live: LiveStack, n: int) -> None:
    """n old customer messages in the events log (what a day of traffic leaves behind)."""

    async def run() -> None:
        async with live.rt.write() as tx:
            for i in range(n):
                await events.append(tx, "message.created", {
                    "id": 1000 + i, "conversation_id": 500 + i, "direction": "in", "kind": "text",
                    "channel": "sms", "status": "received", "preview": f"mensagem antiga {i}"}, 500 + i)

    live.call(run)


def test_error_pages_do_not_replay_the_event_history(live: LiveStack, page: Page, artifacts: Path) -> None:
    live.create_user("admin@example.com", "Ana Admin", "admin")
    seed_history(live, OLD_MESSAGES)
    login(page, live, "admin@example.com")

    requests: list[str] = []

    error_url = f"{live.url}/conversations/987654"

    def record(request: Request) -> None:
        # What the error page asks for (the page itself, then what it refers to), not the board it replaces,
        # whose stream may still be closing while the navigation starts.
        if request.url == error_url or request.headers.get("referer") == error_url:
            requests.append(request.url)

    page.on("request", record)
    response = page.goto(error_url)
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="404")).to_be_visible()
    expect(page.locator("body[data-live='1']")).to_have_count(1)  # the stream is open...
    page.wait_for_timeout(4000)  # ...and stays quiet: nothing old comes back

    streams = [u for u in requests if "/api/v1/events" in u]
    assert streams and all("last_event_id" not in u for u in streams), streams
    replayed = [u for u in requests if REPLAY.search(u)]
    assert replayed == [], f"{len(replayed)} requests for replayed history"
    # Besides the page's own files (/static/): the page and the one stream, not one request per old message.
    dynamic = [u for u in requests if "/static/" not in u]
    assert len(dynamic) <= 3 and len(requests) <= 12, requests
    page.screenshot(path=str(artifacts / "error-404-quiet.png"))


def test_forbidden_page_is_quiet_too(live: LiveStack, page: Page) -> None:
    live.create_user("bruno@example.com", "Bruno Lima", "agent")
    seed_history(live, 20)
    login(page, live, "bruno@example.com")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    response = page.goto(f"{live.url}/settings/connectors")
    assert response is not None and response.status == 403
    expect(page.locator("body[data-live='1']")).to_have_count(1)
    page.wait_for_timeout(1500)
    assert [u for u in requests if REPLAY.search(u)] == []
