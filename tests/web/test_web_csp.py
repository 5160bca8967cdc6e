"""Security §7: headers on every answer, a strict CSP on HTML, and markup that needs no inline script."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path

from atende.web.pages.vendor import VENDOR_FILES
from tests.support.harness import Harness
from tests.web.pagekit import PageClient

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "atende" / "web" / "templates"


async def test_html_pages_carry_the_policy_and_no_store(sqlite_pages: Callable[[str], Awaitable[PageClient]]) -> None:
    page = await sqlite_pages("ana")
    for path in ("/board", "/inbox", "/preferences", "/login"):
        r = await page.get(path, follow_redirects=True)
        csp = r.headers["content-security-policy"]
        scripts = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
        assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in csp and "frame-ancestors 'none'" in csp
        assert r.headers["x-content-type-options"] == "nosniff" and r.headers["referrer-policy"] == "same-origin"
        assert r.headers["cache-control"] == "no-store" and r.headers["x-frame-options"] == "DENY"


async def test_json_answers_carry_nosniff(sqlite_harness: Harness) -> None:
    r = await sqlite_harness.get("/api/v1/me")
    assert r.headers["x-content-type-options"] == "nosniff" and "content-security-policy" not in r.headers


def test_templates_have_no_inline_script_or_handlers() -> None:
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        html = path.read_text()
        for match in re.finditer(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", html):
            offenders.append(f"{path.name}: {match.group(0)}")
        for match in re.finditer(r"\s(on[a-z]+|hx-on[:\w-]*)=", html):
            offenders.append(f"{path.name}: {match.group(1)}")
    assert not offenders, offenders


def test_alpine_is_the_csp_build() -> None:
    assert VENDOR_FILES["alpine.min.js"].startswith("@alpinejs/csp/")
