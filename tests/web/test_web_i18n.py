"""Language (pt-BR default, English), time zone, catalogs, and the npm dependencies check."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from atende.web.pages import i18n, vendor
from tests.support.harness import Harness
from tests.web.pagekit import PageClient, sms_conversation

Pages = Callable[[str], Awaitable[PageClient]]


async def test_language_switch_changes_the_strings(sqlite_harness: Harness, sqlite_pages: Pages) -> None:
    ana = await sqlite_pages("ana")
    html = (await ana.get("/board")).text
    assert 'lang="pt-BR"' in html and "Em atendimento" in html and "Minhas conversas" in html
    r = await ana.post("/preferences/language", {"language": "en", "next": "/board?f=sms"})
    assert r.status_code == 204 and r.headers["HX-Redirect"] == "/board?f=sms"
    html = (await ana.get("/board")).text
    assert 'lang="en"' in html and "In progress" in html and "My conversations" in html and "Done" in html
    assert "Em atendimento" not in html
    assert (await sqlite_harness.get("/api/v1/me", "ana")).status_code == 200
    r = await ana.post("/preferences/language", {"language": "pt-BR"})
    assert "Em atendimento" in (await ana.get("/board")).text


async def test_time_zone_is_per_user(sqlite_harness: Harness, sqlite_pages: Pages) -> None:
    one = await sms_conversation(sqlite_harness)
    ana = await sqlite_pages("ana")
    r = await ana.post("/preferences", {"language": "pt_BR", "timezone": "Asia/Tokyo"})
    assert r.status_code == 204
    assert 'value="Asia/Tokyo" selected' in (await ana.get("/preferences")).text
    r = await ana.post("/preferences", {"language": "pt_BR", "timezone": "Mars/Olympus"})
    assert r.status_code == 422
    fmt_tokyo = i18n.Formatter("pt_BR", "Asia/Tokyo")
    created = one["message"]["created_at"]
    html = (await ana.get(f"/conversations/{one['conversation']['id']}")).text
    assert fmt_tokyo.time(created) in html
    assert i18n.Formatter("pt_BR", "America/Sao_Paulo").time(created) not in html
    assert i18n.Formatter("pt_BR", "America/Sao_Paulo").time("2026-01-01T15:00:00Z").endswith("12:00")


def test_catalogs_are_complete_and_load_without_mo_files() -> None:
    en = read_po((i18n.LOCALE_DIR / "en/LC_MESSAGES/messages.po").open("rb"))
    untranslated = [m.id for m in en if m.id and not m.string]
    assert not untranslated, untranslated
    assert not list(i18n.LOCALE_DIR.rglob("*.mo"))
    assert i18n.translations("en").gettext("Em atendimento") == "In progress"
    assert i18n.translations("pt_BR").gettext("Em atendimento") == "Em atendimento"
    assert i18n.normalize_language("en-US") == "en" and i18n.normalize_language("xx") == "pt_BR"


async def test_login_page_language_cookie(sqlite_harness: Harness) -> None:
    client = PageClient(sqlite_harness)
    try:
        assert "Senha" in (await client.get("/login")).text
        r = await client.http.post("/login/language", data={"language": "en"})
        assert r.status_code == 303
        page = (await client.get("/login")).text
        assert "Password" in page and "Sign in" in page
    finally:
        await client.aclose()


async def test_vendor_files_are_served_from_node_modules(sqlite_harness: Harness, sqlite_pages: Pages) -> None:
    ana = await sqlite_pages("ana")
    if sqlite_harness.app.state.vendor_missing:
        pytest.fail(f"run `npm ci`: missing {sqlite_harness.app.state.vendor_missing}")
    for name in vendor.VENDOR_FILES:
        r = await ana.get(f"/static/vendor/{name}")
        assert r.status_code == 200 and len(r.content) > 1000, name
    assert (await ana.get("/static/vendor/package.json")).status_code == 404
    assert (await ana.get("/static/vendor/../package.json")).status_code == 404
    html = (await ana.get("/board")).text
    assert 'id="vendor-missing" class="fatal" role="alert" hidden' in html


def test_missing_npm_dependencies_are_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "node_modules").mkdir()
    assert vendor.missing_files(None) == sorted(vendor.VENDOR_FILES)
    assert vendor.missing_files(tmp_path / "node_modules") == sorted(vendor.VENDOR_FILES)
    monkeypatch.setenv("ATENDE_NODE_MODULES", str(tmp_path / "node_modules"))
    found = vendor.find_node_modules()  # the empty folder is skipped; the checkout's one is used
    assert found is None or (found / vendor.VENDOR_FILES["htmx.min.js"]).is_file()


async def test_missing_npm_dependencies_show_an_error_banner(sqlite_harness: Harness, sqlite_pages: Pages) -> None:
    ana = await sqlite_pages("ana")
    sqlite_harness.app.state.vendor_missing = ["htmx.min.js"]
    html = (await ana.get("/board")).text
    assert 'id="vendor-missing" class="fatal" role="alert" >' in html or 'role="alert" >' in html
    assert "npm ci" in html and "htmx.min.js" in html
