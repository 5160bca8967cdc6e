"""Keyboard shortcuts in chromium: "?" overlay, next conversation, take, reply, close, transfer."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.live import LiveStack
from tests.e2e.test_e2e_workspace import login, setup_sms

pytestmark = pytest.mark.e2e


def test_keyboard_shortcuts_and_their_overlay(live: LiveStack, page: Page, artifacts: Path) -> None:
    admin_id = live.create_user("admin@example.com", "Ana Admin", "admin")
    live.create_user("bruno@example.com", "Bruno Lima", "agent")
    ctx = setup_sms(live, live.api_token(admin_id), extra=True)
    with httpx.Client(base_url=live.url, headers=ctx["headers"], timeout=10) as api:
        for conv in api.get("/api/v1/conversations").json()["items"]:
            assert api.post(f"/api/v1/conversations/{conv['id']}/reopen").status_code == 200
    login(page, live, "admin@example.com")

    page.keyboard.press("?")
    overlay = page.get_by_test_id("shortcuts-help")
    expect(overlay).to_be_visible()
    expect(overlay).to_contain_text("Próxima / anterior conversa")
    page.screenshot(path=str(artifacts / "shortcuts-overlay.png"))
    page.keyboard.press("Escape")
    expect(overlay).to_be_hidden()
    page.get_by_role("button", name="Atalhos de teclado").click()  # also from the top bar
    expect(overlay).to_be_visible()
    overlay.get_by_role("button", name="Fechar").click()
    expect(overlay).to_be_hidden()

    # On the board, j walks the cards and a takes the focused one.
    page.keyboard.press("j")
    first = page.locator("#board .card").first
    expect(first).to_be_focused()
    first_id = first.get_attribute("data-id")
    page.keyboard.press("a")
    expect(page.locator(f"#column-open #card-{first_id}")).to_be_visible(timeout=5000)

    # In the inbox: j opens the first conversation, j again the next one.
    page.goto(f"{live.url}/inbox")
    items = page.locator("#conv-list > .conv-item")
    page.keyboard.press("j")
    expect(items.nth(0)).to_have_attribute("aria-current", "true", timeout=5000)
    page.keyboard.press("j")
    expect(items.nth(1)).to_have_attribute("aria-current", "true", timeout=5000)
    second_id = items.nth(1).get_attribute("data-id")
    page.wait_for_url(re.compile(rf"/conversations/{second_id}"))
    page.keyboard.press("k")
    expect(items.nth(0)).to_have_attribute("aria-current", "true", timeout=5000)
    page.keyboard.press("j")
    expect(items.nth(1)).to_have_attribute("aria-current", "true", timeout=5000)

    header = page.locator("#chat-header")
    expect(header).to_have_attribute("data-status", "new")
    page.keyboard.press("a")  # take
    expect(page.get_by_test_id("chat-status")).to_have_text("Em atendimento", timeout=5000)
    page.keyboard.press("r")  # reply: the composer has the focus, keys are text again
    composer = page.get_by_test_id("composer")
    expect(composer).to_be_focused()
    page.keyboard.type("ja respondo")
    expect(composer).to_have_value("ja respondo")
    page.keyboard.press("Escape")  # out of the composer: shortcuts again
    expect(composer).not_to_be_focused()
    page.keyboard.press("t")  # transfer: the picker opens with its select focused
    expect(page.locator("#chat-header details.transfer")).to_have_attribute("open", "")
    expect(page.locator("#chat-header details.transfer select")).to_be_focused()
    page.keyboard.press("Escape")
    page.locator("#thread").focus()
    page.keyboard.press("c")  # close
    expect(page.get_by_test_id("chat-status")).to_have_text("Concluído", timeout=5000)
    conv = httpx.get(f"{live.url}/api/v1/conversations/{second_id}", headers=ctx["headers"]).json()
    assert conv["status"] == "done"
