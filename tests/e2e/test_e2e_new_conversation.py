""""Nova conversa" in chromium: from the board and from a contact's page, to a first message."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.live import LiveStack
from tests.e2e.test_e2e_workspace import login, setup_sms, wait_for

pytestmark = pytest.mark.e2e


def test_new_conversation_from_the_board_and_the_contact_page(live: LiveStack, page: Page, artifacts: Path) -> None:
    admin_id = live.create_user("admin@example.com", "Ana Admin", "admin")
    ctx = setup_sms(live, live.api_token(admin_id))
    assert live.fake is not None
    fake = live.fake
    login(page, live, "admin@example.com")

    page.get_by_test_id("new-conversation-link").click()
    page.wait_for_url(re.compile(r"/conversations/new$"))
    page.get_by_label("Número").fill("(21) 9876-5000")  # an old 8-digit mobile: the 9th digit comes back
    expect(page.get_by_test_id("number-ok")).to_have_text("Enviar para +55 21 99876-5000")
    page.get_by_test_id("new-text").fill("Olá! Seu pedido 4521 foi despachado hoje.")
    expect(page.get_by_test_id("new-counter")).to_contain_text("1 seg | R$ 0,10")
    page.screenshot(path=str(artifacts / "new-conversation.png"))
    page.get_by_test_id("new-send").click()
    page.wait_for_url(re.compile(r"/conversations/\d+$"))
    expect(page.locator(".msg.out", has_text="Seu pedido 4521 foi despachado hoje.")).to_be_visible(timeout=5000)
    expect(page.get_by_test_id("chat-status")).to_have_text("Em atendimento")
    wait_for(lambda: fake.state.messages_to("5521998765000"))

    # From the contact of the first conversation: its number is filled in and already has a thread.
    page.goto(f"{live.url}/conversations/{ctx['conversation_id']}")
    page.get_by_test_id("contact-new-conversation").click()
    page.wait_for_url(re.compile(r"/conversations/new\?contact=\d+$"))
    expect(page.get_by_test_id("new-to")).to_have_value("+5548991910234")
    expect(page.get_by_test_id("number-existing")).to_be_visible()
    page.get_by_test_id("new-text").fill("Retomando: o boleto foi reenviado.")
    page.get_by_test_id("new-send").click()
    page.wait_for_url(re.compile(rf"/conversations/{ctx['conversation_id']}$"))
    expect(page.locator(".msg.out", has_text="o boleto foi reenviado")).to_be_visible(timeout=5000)
