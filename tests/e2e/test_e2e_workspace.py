"""An agent's day in the browser: a customer writes, the card appears, drag, reply, delivered, close."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.live import PASSWORD, TOKEN, LiveStack

pytestmark = pytest.mark.e2e
PHONE = "+5548991910234"


def login(page: Page, live: LiveStack, email: str) -> None:
    page.goto(f"{live.url}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Senha").fill(PASSWORD)
    page.get_by_role("button", name="Entrar").click()
    page.wait_for_url(re.compile(r"/board$"))


def wait_for(predicate: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def drag(page: Page, source: str, target: str) -> None:
    """A person's drag: press, move in small steps (SortableJS follows the pointer), release."""
    start = page.locator(source).bounding_box()
    end = page.locator(target).bounding_box()
    assert start and end
    page.mouse.move(start["x"] + 20, start["y"] + start["height"] / 2)
    page.mouse.down()
    x, y = end["x"] + end["width"] / 2, end["y"] + 40
    page.mouse.move(x, y, steps=25)
    page.wait_for_timeout(150)
    page.mouse.move(x, y + 5, steps=5)
    page.mouse.up()


EXTRA = {"+5511988887771": "Seu pedido 4521 saiu para entrega.", "+5521977776662": "Lembrete: consulta amanhã às 9h.",
         "+5531966665553": "Obrigado pelo contato! Avalie nosso atendimento."}


def setup_sms(live: LiveStack, token: str, *, extra: bool = False, team: list[int] | None = None) -> dict[str, Any]:
    """An SMS connector and a first message. `team`: members of a team serving the connector whose
    visibility is "team" (they follow every conversation of it, not only theirs and the queue)."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=live.url, headers=headers, timeout=30) as api:
        connector = api.post("/api/v1/connectors", json={"name": "SMS Kolmeya", "provider": "kolmeya", "config": {
            "api_token": TOKEN, "base_url": live.kolmeya_url, "cost_per_segment": "0.10", "poll_interval_s": 0}})
        assert connector.status_code == 201, connector.text
        if team is not None:
            created = api.post("/api/v1/teams", json={"name": "Atendimento", "member_ids": team,
                                                      "connector_ids": [connector.json()["id"]], "visibility": "team"})
            assert created.status_code == 201, created.text
        sent = api.post("/api/v1/messages", json={"connector_id": connector.json()["id"], "to": PHONE,
                                                  "text": "Olá! Sua fatura de novembro vence amanhã."})
        assert sent.status_code == 202, sent.text
        for phone, text in EXTRA.items() if extra else ():
            r = api.post("/api/v1/messages", json={"connector_id": connector.json()["id"], "to": phone, "text": text})
            assert r.status_code == 202, r.text
    assert live.fake is not None
    fake = live.fake
    kolmeya_msg = wait_for(lambda: fake.state.messages_to(PHONE.lstrip("+")))[0]
    return {"conversation_id": sent.json()["conversation_id"], "kolmeya_id": kolmeya_msg.id, "headers": headers}


def test_agent_workflow_live_board_chat_and_language(live: LiveStack, page: Page, browser: Browser,
                                                      artifacts: Path) -> None:
    admin_id = live.create_user("admin@example.com", "Ana Admin", "admin")
    bruno_id = live.create_user("bruno@example.com", "Bruno Lima", "agent")
    ctx = setup_sms(live, live.api_token(admin_id), extra=True, team=[bruno_id])
    cid = ctx["conversation_id"]
    assert live.fake is not None
    fake = live.fake

    # Ana on the board; Bruno, another agent, watches his own board.
    login(page, live, "admin@example.com")
    expect(page.get_by_role("heading", name="Contact Center · Todos os canais")).to_be_visible()
    card = page.locator(f"#card-{cid}")
    expect(page.locator(f"#column-done #card-{cid}")).to_be_visible()
    other_context = browser.new_context(viewport={"width": 1366, "height": 768})
    bruno = other_context.new_page()
    login(bruno, live, "bruno@example.com")
    page.evaluate("window.__noReload = true")
    expect(page.locator("body[data-live='1']")).to_have_count(1)  # the live stream is open
    expect(bruno.locator("body[data-live='1']")).to_have_count(1)

    # The customer answers: Kolmeya's reply webhook reaches the app, the card moves to Novo, no reload.
    live.call(lambda: fake.send_reply(ctx["kolmeya_id"], "Posso pagar na semana que vem?",
                                      received_at=datetime.now(UTC) + timedelta(seconds=1)))
    expect(page.locator(f"#column-new #card-{cid}")).to_be_visible(timeout=5000)
    expect(card).to_contain_text("Posso pagar na semana que vem?")
    expect(card).to_contain_text("1 seg | R$ 0,10")
    expect(page.locator("#count-new")).to_have_text("1")
    assert page.evaluate("window.__noReload") is True
    expect(bruno.locator(f"#column-new #card-{cid}")).to_be_visible(timeout=5000)

    # Drag it to Em atendimento: taken by Ana, persisted, and Bruno's board follows within a second.
    drag(page, f"#card-{cid} .card-top", "#column-open")
    expect(page.locator(f"#column-open #card-{cid}")).to_be_visible(timeout=5000)
    expect(page.locator(f"#column-open #card-{cid}")).to_contain_text("Ana Admin")
    expect(page.locator("#count-open")).to_have_text("1")
    expect(bruno.locator(f"#column-open #card-{cid}")).to_be_visible(timeout=1500)
    conv = httpx.get(f"{live.url}/api/v1/conversations/{cid}", headers=ctx["headers"]).json()
    assert conv["status"] == "open" and conv["assignee"]["id"] == admin_id
    page.screenshot(path=str(artifacts / "board.png"))

    # Reply from the chat, with the live SMS counter.
    page.locator(f"#card-{cid} .card-name").click()
    page.wait_for_url(re.compile(rf"/conversations/{cid}"))
    composer = page.get_by_test_id("composer")
    composer.fill("Claro! Podemos parcelar em duas vezes.")
    expect(page.get_by_test_id("sms-counter")).to_contain_text("1 seg | R$")
    composer.press("Enter")
    bubble = page.locator(".msg.out", has_text="Claro! Podemos parcelar em duas vezes.")
    expect(bubble).to_be_visible(timeout=5000)
    expect(composer).to_have_value("")
    expect(bubble.get_by_test_id("tick")).to_have_class(re.compile(r"tick-sent"), timeout=8000)

    # Kolmeya reports it delivered (status 3): the tick turns ✓✓ by itself.
    reply = wait_for(lambda: [m for m in fake.state.messages_to(PHONE.lstrip("+")) if "parcelar" in m.text])[0]
    live.call(lambda: fake.deliver_status(reply.id, 3))
    expect(bubble.get_by_test_id("tick")).to_have_class(re.compile(r"tick-delivered"), timeout=5000)
    expect(bubble.get_by_test_id("tick")).to_have_text("✓✓")
    expect(page.locator(".sysline", has_text="Ana Admin assumiu a conversa")).to_be_visible()
    page.screenshot(path=str(artifacts / "chat.png"))

    # Close it.
    page.locator("#chat-header").get_by_role("button", name="Concluir").click()
    expect(page.get_by_test_id("chat-status")).to_have_text("Concluído", timeout=5000)
    expect(page.locator(".sysline", has_text="Concluída por Ana Admin")).to_be_visible(timeout=5000)
    expect(bruno.locator(f"#column-done #card-{cid}")).to_be_visible(timeout=1500)

    # Switch to English.
    page.get_by_test_id("language").select_option("en")
    expect(page.get_by_test_id("chat-status")).to_have_text("Done", timeout=5000)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#chat-header").get_by_role("button", name="Reopen")).to_be_visible()
    expect(page.get_by_role("link", name="Board", exact=True)).to_be_visible()
    other_context.close()


def test_phone_layout_and_keyboard(live: LiveStack, browser: Browser, artifacts: Path) -> None:
    admin_id = live.create_user("admin@example.com", "Ana Admin", "admin")
    ctx = setup_sms(live, live.api_token(admin_id))
    cid = ctx["conversation_id"]
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    login(page, live, "admin@example.com")
    # Keyboard: the card's own button moves it (no drag needed), focus stays usable.
    done_card = page.locator(f"#column-done #card-{cid}")
    done_card.focus()
    done_card.get_by_role("button", name="Reabrir").click()  # a closed card offers only Reabrir
    expect(page.locator(f"#column-new #card-{cid}")).to_be_visible(timeout=5000)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 392, f"the page scrolls sideways on a phone ({width}px)"
    page.goto(f"{live.url}/conversations/{cid}")
    expect(page.get_by_test_id("composer")).to_be_visible()
    assert page.locator(".list-pane").is_hidden()  # one pane at a time on a phone
    page.screenshot(path=str(artifacts / "chat-phone.png"))
    context.close()


def test_settings_connection_test_shows_the_kolmeya_balance(live: LiveStack, page: Page) -> None:
    admin_id = live.create_user("admin@example.com", "Ana Admin", "admin")
    setup_sms(live, live.api_token(admin_id))
    login(page, live, "admin@example.com")
    page.get_by_role("link", name="Configurações").click()
    page.get_by_role("link", name="SMS Kolmeya").click()
    expect(page.get_by_test_id("webhook-url")).to_have_value(re.compile(rf"^{live.url}/webhooks/\S{{40,}}$"))
    page.get_by_test_id("test-connection").click()
    # The fake starts at R$ 9.397,30 and charges each SMS sent.
    expect(page.locator(".test-result")).to_contain_text(re.compile(r"R\$\s?9\.39\d,\d\d"), timeout=5000)
    expect(page.get_by_label("Token da API")).to_have_value("")  # the secret is never echoed


def test_chat_follows_a_live_handover_and_keeps_keyboard_focus(live: LiveStack, page: Page, browser: Browser,
                                                               artifacts: Path) -> None:
    """What only a browser shows: the composer, the contact panel and the focus follow the header."""
    admin_id = live.create_user("admin@example.com", "Ana Admin", "admin")
    bruno_id = live.create_user("bruno@example.com", "Bruno Lima", "agent")
    ctx = setup_sms(live, live.api_token(admin_id), team=[bruno_id])
    cid = ctx["conversation_id"]
    other = browser.new_context(viewport={"width": 1366, "height": 768})
    bruno = other.new_page()
    login(bruno, live, "bruno@example.com")
    bruno.goto(f"{live.url}/conversations/{cid}")
    expect(bruno.locator("body[data-live='1']")).to_have_count(1)
    bruno.evaluate("window.__noReload = true")
    expect(bruno.get_by_test_id("composer-locked")).to_be_hidden()
    panel_pill = bruno.locator(f'#contact-panel a[href="/conversations/{cid}"] .pill')
    expect(panel_pill).to_have_text("Concluído")

    # Ana (admin) takes it elsewhere: Bruno's chat turns note-only and his contact panel follows, live.
    login(page, live, "admin@example.com")
    page.goto(f"{live.url}/conversations/{cid}")
    page.locator("#chat-header").get_by_role("button", name="Reabrir").click()  # closed: Reabrir only
    page.locator("#chat-header").get_by_role("button", name="Assumir").click()
    expect(bruno.get_by_test_id("composer-locked")).to_contain_text("Ana Admin", timeout=3000)
    expect(bruno.get_by_role("tab", name="Responder")).to_be_disabled()
    expect(panel_pill).to_have_text("Em atendimento", timeout=3000)

    # She hands it to Bruno: his composer opens for replies without a reload.
    page.locator("#chat-header summary", has_text="Transferir").click()
    page.locator("#chat-header select[name=target]").select_option(value=f"agent:{bruno_id}")
    page.locator("#chat-header form").get_by_role("button", name="Transferir").click()
    expect(bruno.get_by_test_id("composer-locked")).to_be_hidden(timeout=3000)
    expect(bruno.get_by_role("tab", name="Responder")).to_be_enabled()
    expect(bruno.locator(".sysline", has_text="Ana Admin transferiu a conversa para Bruno Lima")).to_be_visible()

    # Keyboard only: Bruno closes it with Enter; focus stays on the new header's first action, not <body>.
    close = bruno.locator("#chat-header").get_by_role("button", name="Concluir")
    close.focus()
    bruno.keyboard.press("Enter")
    expect(bruno.get_by_test_id("chat-status")).to_have_text("Concluído", timeout=3000)
    expect(bruno.locator("#chat-header").get_by_role("button", name="Reabrir")).to_be_focused()
    expect(panel_pill).to_have_text("Concluído", timeout=3000)
    expect(bruno.locator(f"#item-{cid} .pill")).to_have_text("Concluído", timeout=3000)
    assert bruno.evaluate("window.__noReload") is True
    bruno.screenshot(path=str(artifacts / "chat-handover.png"))
    other.close()

    # The new-connector form shows the fields of the provider picked (x-show lost to [hidden] before).
    page.goto(f"{live.url}/settings/connectors")
    page.get_by_label("Provedor").select_option("whatsapp_cloud")
    expect(page.get_by_label("Phone number ID *")).to_be_visible()
    expect(page.get_by_label("Token da API *")).to_be_hidden()


def test_csp_blocks_inline_script_and_the_probe_sees_it(live: LiveStack, page: Page,
                                                                  no_csp_violations: list[str]) -> None:
    """The policy is live (an injected inline script is refused) and the watcher that every
    browser test relies on really reports violations."""
    live.create_user("admin@example.com", "Ana Admin", "admin")
    login(page, live, "admin@example.com")
    response = page.goto(f"{live.url}/board")
    assert response is not None
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("style-src")[0]
    assert "unsafe-eval" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin" and response.headers["cache-control"] == "no-store"
    page.evaluate("""() => { const s = document.createElement('script'); s.textContent = 'window.__inline = 1';
                              document.body.appendChild(s); }""")
    assert page.evaluate("() => window.__inline") is None
    wait_for(lambda: len(no_csp_violations) >= 1)
    assert any("script-src" in v for v in no_csp_violations)
    expect(page.locator("body[data-live='1']")).to_have_count(1)  # the workspace itself still runs
    no_csp_violations.clear()
