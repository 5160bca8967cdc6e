"""Browser tests: Debian's chromium (headless) driven by pytest-playwright against a live stack."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.live import LiveStack

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/setup (it installs Debian's chromium)")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": {"width": 1366, "height": 768}, "locale": "pt-BR",
            "timezone_id": "America/Sao_Paulo"}


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveStack]:
    stack = LiveStack(tmp_path).start()
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    path = Path(os.environ.get("ATENDE_TEST_ARTIFACTS") or ROOT / "test-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


CSP_PROBE = """
document.addEventListener('securitypolicyviolation', (e) => {
  window.__reportCsp(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture(autouse=True)
def no_csp_violations(request: pytest.FixtureRequest) -> Iterator[list[str]]:
    """Every browser test doubles as a CSP test: any violation a page reports (securitypolicyviolation
    event, or Chromium's console line about a refused script or eval) fails it."""
    if request.node.get_closest_marker("e2e") is None or "context" not in request.fixturenames:
        yield []
        return
    context = request.getfixturevalue("context")
    reported: list[str] = []
    context.expose_binding("__reportCsp", lambda _source, text: reported.append(text))
    context.add_init_script(CSP_PROBE)

    def watch(page: Any) -> None:
        page.on("console", lambda msg: reported.append(msg.text)
                if "Content Security Policy" in msg.text or "unsafe-eval" in msg.text else None)

    for page in context.pages:
        watch(page)
    context.on("page", watch)
    yield reported
    assert not reported, "CSP violations:\n" + "\n".join(reported[:10])
