"""Two agents in two teams, in two browsers: each sees only their own work, live (issue 8)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.live import TOKEN, LiveStack
from tests.e2e.test_e2e_workspace import login, wait_for

pytestmark = pytest.mark.e2e
FIN_PHONE, SUP_PHONE = "+5511911110001", "+5511922220002"


def test_two_agents_in_two_teams_see_only_their_own_work_live(live: LiveStack, page: Page, browser: Browser,
                                                                artifacts: Path) -> None:
    admin_id = live.create_user("admin@example.com", "Admin", "admin")
    ana_id = live.create_user("ana@example.com", "Ana Financeiro", "agent")
    bruno_id = live.create_user("bruno@example.com", "Bruno Suporte", "agent")
    headers = {"Authorization": f"Bearer {live.api_token(admin_id)}"}
    assert live.fake is not None
    fake = live.fake
    with httpx.Client(base_url=live.url, headers=headers, timeout=10) as api:
        ids = {}
        for name in ("Financeiro", "Suporte"):
            r = api.post("/api/v1/connectors", json={"name": f"SMS {name}", "provider": "kolmeya", "config": {
                "api_token": TOKEN, "base_url": live.kolmeya_url, "cost_per_segment": "0.10", "poll_interval_s": 0}})
            assert r.status_code == 201, r.text
            ids[name] = r.json()["id"]
        for name, member in (("Financeiro", ana_id), ("Suporte", bruno_id)):
            r = api.post("/api/v1/teams", json={"name": name, "member_ids": [member], "connector_ids": [ids[name]]})
            assert r.status_code == 201, r.text
        support_team = api.get("/api/v1/teams").json()["items"]
        support_team_id = next(t["id"] for t in support_team if t["name"] == "Suporte")
        sent = {}
        for name, phone, text in (("Financeiro", FIN_PHONE, "Sua fatura vence amanhã."),
                                  ("Suporte", SUP_PHONE, "Seu chamado 77 foi aberto.")):
            r = api.post("/api/v1/messages", json={"connector_id": ids[name], "to": phone, "text": text})
            assert r.status_code == 202, r.text
            sent[phone] = r.json()["conversation_id"]
    fin_id, sup_id = sent[FIN_PHONE], sent[SUP_PHONE]

    login(page, live, "ana@example.com")
    other = browser.new_context(viewport={"width": 1366, "height": 768})
    bruno = other.new_page()
    login(bruno, live, "bruno@example.com")
    for p in (page, bruno):
        expect(p.locator("body[data-live='1']")).to_have_count(1)
        p.evaluate("window.__noReload = true")
        expect(p.locator(".card")).to_have_count(0)  # the admin's sends are nobody's queue yet

    # The customers answer: each card appears, live, on its team's board only.
    for phone in (FIN_PHONE, SUP_PHONE):
        kid = wait_for(lambda phone=phone: fake.state.messages_to(phone.lstrip("+")))[0].id
        live.call(lambda kid=kid: fake.send_reply(kid, "Preciso de ajuda", received_at=datetime.now(UTC)
                                                  + timedelta(seconds=1)))
    expect(page.locator(f"#column-new #card-{fin_id}")).to_be_visible(timeout=5000)
    expect(bruno.locator(f"#column-new #card-{sup_id}")).to_be_visible(timeout=5000)
    page.wait_for_timeout(500)
    expect(page.locator(f"#card-{sup_id}")).to_have_count(0)
    expect(bruno.locator(f"#card-{fin_id}")).to_have_count(0)
    expect(page.locator("#count-new")).to_have_text("1")
    expect(bruno.locator("#count-new")).to_have_text("1")
    # Offline with work waiting: the header says so.
    expect(page.get_by_test_id("presence-reminder")).to_contain_text("1 conversa esperando", timeout=3000)
    page.screenshot(path=str(artifacts / "teams-ana.png"))

    # Ana takes hers, then sends it to Suporte with a note: it leaves her board and reaches Bruno's, live.
    page.locator(f"#card-{fin_id}").focus()  # the card's buttons show on hover or focus
    page.locator(f"#card-{fin_id}").get_by_role("button", name="Assumir").click()
    expect(page.locator(f"#column-open #card-{fin_id}")).to_be_visible(timeout=5000)
    page.goto(f"{live.url}/conversations/{fin_id}")
    page.locator("#chat-header summary", has_text="Transferir").click()
    page.locator("#chat-header select[name=target]").select_option(value=f"team:{support_team_id}")
    page.locator("#chat-header textarea[name=note]").fill("Problema técnico, não é cobrança")
    page.locator("#chat-header form[data-testid=transfer-form]").get_by_role("button", name="Transferir").click()
    expect(bruno.locator(f"#column-new #card-{fin_id}")).to_be_visible(timeout=5000)
    assert bruno.evaluate("window.__noReload") is True
    page.goto(f"{live.url}/board")
    expect(page.locator(f"#card-{fin_id}")).to_have_count(0)
    bruno.locator(f"#card-{fin_id} .card-name").click()
    expect(bruno.locator(".msg", has_text="Problema técnico, não é cobrança")).to_be_visible(timeout=5000)
    expect(bruno.locator(".sysline", has_text="transferiu a conversa para a equipe Suporte")).to_be_visible()
    bruno.screenshot(path=str(artifacts / "teams-bruno.png"))
    # What is not hers is not found, whatever the address says.
    response = page.goto(f"{live.url}/conversations/{sup_id}")
    assert response is not None and response.status == 404
    other.close()
