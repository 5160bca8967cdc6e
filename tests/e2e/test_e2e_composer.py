"""The composer keeps to what the channel takes: SMS warns past N segments and asks before sending."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Dialog, Page, expect

from tests.e2e.live import LiveStack
from tests.e2e.test_e2e_workspace import login, setup_sms, wait_for

pytestmark = pytest.mark.e2e
THREE_SEGMENTS = "Olá! " + "Sua fatura de novembro já está disponível para pagamento. " * 4  # UCS-2: 67 a part


@pytest.fixture
def warn_live(tmp_path: Path) -> Iterator[LiveStack]:
    stack = LiveStack(tmp_path, sms_segment_warning=2).start()
    try:
        yield stack
    finally:
        stack.stop()


def test_sms_composer_warns_past_the_configured_segments(warn_live: LiveStack, page: Page, artifacts: Path) -> None:
    live = warn_live
    admin_id = live.create_user("admin@example.com", "Ana Admin", "admin")
    ctx = setup_sms(live, live.api_token(admin_id))
    cid = ctx["conversation_id"]
    login(page, live, "admin@example.com")
    page.goto(f"{live.url}/conversations/{cid}")
    composer = page.get_by_test_id("composer")
    warning = page.get_by_test_id("sms-warning")

    composer.fill("Bom dia! Tudo certo com o pagamento.")
    expect(page.get_by_test_id("sms-counter")).to_contain_text("1 seg")
    expect(warning).to_be_hidden()
    composer.fill(THREE_SEGMENTS)
    expect(page.get_by_test_id("sms-counter")).to_contain_text("4 seg")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("4 segmentos de SMS (R$ 0,40)")
    page.screenshot(path=str(artifacts / "composer-sms-warning.png"))

    # Enter asks first: "no" keeps the text and sends nothing.
    asked: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    composer.press("Enter")
    page.wait_for_timeout(300)
    assert asked and "4 segmentos" in asked[0]
    expect(composer).to_have_value(THREE_SEGMENTS)
    assert page.locator(".msg.out", has_text="Sua fatura de novembro já está").count() == 0

    # "yes" sends it.
    page.once("dialog", lambda dialog: dialog.accept())
    composer.press("Enter")
    expect(page.locator(".msg.out", has_text="Sua fatura de novembro já está")).to_be_visible(timeout=5000)
    expect(composer).to_have_value("")
    items = httpx.get(f"{live.url}/api/v1/conversations/{cid}/messages", headers=ctx["headers"]).json()["items"]
    assert items[-1]["segments"] == 4


def test_the_textarea_stops_at_what_the_channel_takes(warn_live: LiveStack, page: Page) -> None:
    live = warn_live
    admin_id = live.create_user("admin@example.com", "Ana Admin", "admin")
    ctx = setup_sms(live, live.api_token(admin_id))
    login(page, live, "admin@example.com")
    page.goto(f"{live.url}/conversations/{ctx['conversation_id']}")
    composer = page.get_by_test_id("composer")
    composer.fill("a" * 5000)  # a paste longer than the channel takes is cut where the send would refuse
    assert len(composer.input_value()) == 4096


def test_economizar_sms_in_the_composer(live: LiveStack, page: Page, artifacts: Path) -> None:
    admin_id = live.create_user("admin@example.com", "Ana Admin", "admin")
    ctx = setup_sms(live, live.api_token(admin_id))
    cid = ctx["conversation_id"]
    assert live.fake is not None
    fake = live.fake
    login(page, live, "admin@example.com")
    page.goto(f"{live.url}/conversations/{cid}")
    composer = page.get_by_test_id("composer")
    text = "Olá! Sua fatura de março está disponível. Não esqueça: o vencimento é amanhã, às 18h. Obrigado!"
    composer.fill(text)
    counter, economy, toggle = (page.get_by_test_id("sms-counter"), page.get_by_test_id("sms-economy"),
                                page.get_by_test_id("sms-economize"))
    expect(counter).to_contain_text("2 seg | R$ 0,20")
    expect(economy).to_have_text("Economizar SMS pouparia: 2 → 1 seg (R$ 0,20 → R$ 0,10)")
    toggle.check()
    expect(counter).to_contain_text("1 seg | R$ 0,10")
    expect(counter).to_contain_text("GSM-7")
    expect(economy).to_have_text("Economizar SMS: 2 → 1 seg (R$ 0,20 → R$ 0,10)")
    page.screenshot(path=str(artifacts / "composer-economizar-sms.png"))
    composer.press("Enter")
    expect(page.locator(".msg.out", has_text="Sua fatura de marco esta disponivel")).to_be_visible(timeout=5000)
    sent = wait_for(lambda: [m for m in fake.state.messages_to("5548991910234") if "fatura de marco" in m.text])
    assert sent[0].text.startswith("Ola! Sua fatura de marco esta disponivel.")
    composer.fill("Olá, tudo bem?")  # nothing to save: no line
    expect(economy).to_be_hidden()
