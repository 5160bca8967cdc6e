"""The board's everyday polish in chromium: closing unread work asks first, closed cards offer Reabrir."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Dialog, Page, expect

from tests.e2e.live import LiveStack
from tests.e2e.test_e2e_workspace import drag, login, setup_sms, wait_for

pytestmark = pytest.mark.e2e


def test_dragging_an_unread_conversation_to_done_asks_first(live: LiveStack, page: Page, artifacts: Path) -> None:
    admin_id = live.create_user("admin@example.com", "Ana Admin", "admin")
    ctx = setup_sms(live, live.api_token(admin_id))
    cid = ctx["conversation_id"]
    assert live.fake is not None
    fake = live.fake
    live.call(lambda: fake.send_reply(ctx["kolmeya_id"], "Ainda não recebi o boleto",
                                      received_at=datetime.now(UTC) + timedelta(seconds=1)))
    login(page, live, "admin@example.com")
    card = page.locator(f"#card-{cid}")
    expect(page.locator(f"#column-new #card-{cid}")).to_be_visible(timeout=5000)
    expect(card).to_have_attribute("data-unread", "1")

    asked: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    drag(page, f"#card-{cid} .card-top", "#column-done")
    expect(page.locator(f"#column-new #card-{cid}")).to_be_visible(timeout=5000)  # back where it was
    assert asked == ["+5548991910234 tem 1 mensagem(ns) não lida(s). Concluir mesmo assim?"]
    conv = httpx.get(f"{live.url}/api/v1/conversations/{cid}", headers=ctx["headers"]).json()
    assert conv["status"] == "new"

    page.once("dialog", lambda dialog: dialog.accept())
    drag(page, f"#card-{cid} .card-top", "#column-done")
    wait_for(lambda: httpx.get(f"{live.url}/api/v1/conversations/{cid}",
                               headers=ctx["headers"]).json()["status"] == "done")
    expect(page.locator(f"#column-done #card-{cid}")).to_be_visible(timeout=5000)
    done = page.locator(f"#column-done #card-{cid} .card-actions button")
    expect(done).to_have_count(1)
    expect(done).to_have_text("Reabrir")
    page.screenshot(path=str(artifacts / "board-closed-card.png"))


def test_sms_cost_tooltip_and_no_cost_yet(live: LiveStack, page: Page, artifacts: Path) -> None:
    admin_id = live.create_user("admin@example.com", "Ana Admin", "admin")
    ctx = setup_sms(live, live.api_token(admin_id))
    with httpx.Client(base_url=live.url, headers=ctx["headers"], timeout=10) as api:
        r = api.post("/api/v1/connectors", json={"name": "SMS sandbox", "provider": "sandbox",
                                                 "config": {"look_like": "sms", "cost_per_segment": "0.08"}})
        assert r.status_code == 201, r.text
        hook = r.json()["webhook_url"]
        assert httpx.post(hook, json={"messages": [{"id": "in-1", "from": "+5511987650001",
                                                    "text": "Oi, quero saber do meu pedido"}]}).status_code == 200
        quiet = next(c["id"] for c in api.get("/api/v1/conversations").json()["items"]
                     if c["contact"]["address"] == "+5511987650001")
    login(page, live, "admin@example.com")
    cost = page.locator(f"#card-{ctx['conversation_id']}").get_by_test_id("sms-cost")
    wait_for(lambda: cost.count() == 1)
    expect(cost).to_have_text("1 seg | R$ 0,10")
    expect(cost).to_have_attribute("title", "1 segmento de SMS · R$ 0,10")
    cost.hover()
    expect(page.locator(f"#card-{quiet}")).to_be_visible()
    expect(page.locator(f"#card-{quiet}").get_by_test_id("sms-cost")).to_have_count(0)
    page.screenshot(path=str(artifacts / "board-sms-cost.png"))


def test_priority_and_close_reason_from_the_chat(live: LiveStack, page: Page, artifacts: Path) -> None:
    admin_id = live.create_user("admin@example.com", "Ana Admin", "admin")
    ctx = setup_sms(live, live.api_token(admin_id))
    cid = ctx["conversation_id"]
    login(page, live, "admin@example.com")
    page.goto(f"{live.url}/conversations/{cid}")
    header = page.locator("#chat-header")
    header.get_by_role("button", name="Reabrir").click()
    # The priority menu is in both headers: wait for the reopened one, or the change races the swap.
    expect(page.get_by_test_id("chat-status")).not_to_have_text("Concluído", timeout=5000)
    header.get_by_test_id("priority").select_option("urgent")
    expect(header.get_by_test_id("chat-priority")).to_have_text("Urgente", timeout=5000)
    expect(page.locator(f"#item-{cid} .prio-urgent")).to_have_text("Urgente", timeout=5000)  # the list follows live
    header.get_by_test_id("close-reason").select_option(label="Resolvido")
    page.screenshot(path=str(artifacts / "chat-priority-close-reason.png"))
    header.get_by_test_id("close").click()
    expect(page.get_by_test_id("chat-status")).to_have_text("Concluído", timeout=5000)
    expect(header.get_by_test_id("closed-reason")).to_have_text("Resolvido")
    expect(page.locator(".sysline", has_text="Concluída por Ana Admin · Resolvido")).to_be_visible(timeout=5000)
    page.goto(f"{live.url}/board")
    expect(page.locator(f"#card-{cid}").get_by_test_id("card-priority")).to_have_text("Urgente")
    r = httpx.get(f"{live.url}/api/v1/close-reasons/summary", headers=ctx["headers"]).json()
    assert [(i["name"], i["closed"]) for i in r["items"]] == [("Resolvido", 1)]


def test_sorting_the_board_by_priority(live: LiveStack, page: Page, artifacts: Path) -> None:
    admin_id = live.create_user("admin@example.com", "Ana Admin", "admin")
    ctx = setup_sms(live, live.api_token(admin_id), extra=True)
    with httpx.Client(base_url=live.url, headers=ctx["headers"], timeout=10) as api:
        done = [c["id"] for c in api.get("/api/v1/conversations", params={"status": "done"}).json()["items"]]
        assert len(done) >= 3  # newest first
        oldest, middle = done[-1], done[-2]
        assert api.post(f"/api/v1/conversations/{oldest}/priority", json={"priority": "urgent"}).status_code == 200
        login(page, live, "admin@example.com")
        column = page.locator("#column-done")
        expect(column.locator(".card").first).not_to_have_id(f"card-{oldest}")
        page.get_by_test_id("sort").get_by_role("link", name="Prioridade").click()
        expect(column.locator(".card").first).to_have_id(f"card-{oldest}")  # urgent leads, however old
        expect(page.get_by_test_id("sort").locator(".chip.active")).to_have_text("Prioridade")
        expect(page.locator("body[data-live='1']")).to_have_count(1)
        # Raised elsewhere: the card climbs live to the place the server's order gives it.
        assert api.post(f"/api/v1/conversations/{middle}/priority", json={"priority": "high"}).status_code == 200
        expect(column.locator(".card").nth(1)).to_have_id(f"card-{middle}", timeout=5000)
    page.screenshot(path=str(artifacts / "board-sorted-by-priority.png"))


def test_waiting_cards_turn_amber_live_and_the_column_counts_them(live: LiveStack, page: Page,
                                                                   artifacts: Path) -> None:
    admin_id = live.create_user("admin@example.com", "Ana Admin", "admin")
    ctx = setup_sms(live, live.api_token(admin_id))
    cid = ctx["conversation_id"]
    assert live.fake is not None
    fake = live.fake
    live.settings.wait_warn_s, live.settings.wait_late_s = 4, 3600  # amber after 4 s, for the test
    try:
        live.call(lambda: fake.send_reply(ctx["kolmeya_id"], "Alguém aí?", received_at=datetime.now(UTC)))
        page.clock.install()  # the page's timers run on a clock the test can move
        login(page, live, "admin@example.com")
        card = page.locator(f"#column-new #card-{cid}")
        expect(card).to_be_visible(timeout=5000)
        expect(card).not_to_have_class(re.compile(r"wait-"))
        expect(page.get_by_test_id("over-warn-new")).to_be_hidden()
        time.sleep(4.5)  # the server's clock too: the customer has now waited past amber
        page.clock.run_for(16_000)  # the page repaints every 15 s
        expect(card).to_have_class(re.compile(r"\bwait-warn\b"), timeout=5000)
        expect(page.get_by_test_id("over-warn-new")).to_have_text("1", timeout=5000)
        expect(page.get_by_test_id("over-late-new")).to_be_hidden()
        page.screenshot(path=str(artifacts / "board-waiting-amber.png"))
    finally:
        live.settings.wait_warn_s, live.settings.wait_late_s = 300, 900
