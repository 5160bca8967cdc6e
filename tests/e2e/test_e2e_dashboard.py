"""The supervisor's dashboard and the board's "Hoje" line update live in chromium when a webhook arrives."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.live import LiveStack
from tests.e2e.test_e2e_workspace import login, setup_sms

pytestmark = pytest.mark.e2e


def test_dashboard_and_board_line_update_live_when_a_webhook_arrives(live: LiveStack, page: Page,
                                                                     browser: Browser) -> None:
    admin_id = live.create_user("admin@example.com", "Ana Admin", "admin")
    live.create_user("sofia@example.com", "Sofia Supervisora", "supervisor")
    live.create_user("bruno@example.com", "Bruno Lima", "agent")
    ctx = setup_sms(live, live.api_token(admin_id))  # we texted the customer: 1 conversation active today

    login(page, live, "sofia@example.com")
    page.get_by_role("link", name="Painel").click()
    expect(page.get_by_role("heading", name="Painel")).to_be_visible()
    expect(page.get_by_test_id("kpi-active")).to_have_text("1")
    expect(page.get_by_test_id("kpi-waiting")).to_have_text("0")
    expect(page.get_by_test_id("today-sms")).to_have_text("1")
    page.evaluate("window.__sameDocument = true")  # gone if the page reloaded

    agent = browser.new_context(viewport={"width": 1366, "height": 768}, locale="pt-BR").new_page()
    login(agent, live, "bruno@example.com")
    expect(agent.get_by_test_id("today-total")).to_have_text("1")
    expect(agent.get_by_test_id("today-line")).to_contain_text("Hoje: 1 conversa ativa")

    # A second customer writes (Kolmeya's reply webhook to our URL): both screens follow, no reload.
    assert live.fake is not None
    live.call(live.fake.send_reply(ctx["kolmeya_id"], "Já paguei, obrigado"))
    expect(page.get_by_test_id("kpi-waiting")).to_have_text("1", timeout=10_000)
    expect(page.get_by_test_id("dash-queue-table")).to_contain_text("Sem equipe")
    expect(page.get_by_test_id("kpi-messages")).to_have_text("2")
    sent = {"to": "+5511988887771", "text": "Seu pedido saiu para entrega."}
    with httpx.Client(base_url=live.url, headers=ctx["headers"], timeout=10) as api:
        connector_id = api.get("/api/v1/conversations", params={"limit": 1}).json()["items"][0]["connector_id"]
        assert api.post("/api/v1/messages", json={"connector_id": connector_id, **sent}).status_code == 202
    expect(page.get_by_test_id("kpi-active")).to_have_text("2", timeout=10_000)
    expect(page.get_by_test_id("today-sms")).to_have_text("2")
    expect(agent.get_by_test_id("today-total")).to_have_text("2", timeout=10_000)
    expect(agent.get_by_test_id("today-line")).to_contain_text("2 conversas ativas")
    assert page.evaluate("window.__sameDocument") is True
    agent.context.close()
