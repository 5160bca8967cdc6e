"""Instagram on the live board, a customer's deletion in an agent's open chat, and an account alert
that only supervisors see pop up (issue 13), in the browser."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from atende.channels.meta.signature import sign
from atende.channels.whatsapp_cloud.fixtures import load_fixture
from atende.testing.fake_graph import encode
from tests.e2e.live import LiveStack
from tests.e2e.test_e2e_workspace import login

pytestmark = pytest.mark.e2e
APP_SECRET = "e2e-app-secret"
IG_ACCOUNT, IGSID = "17841400123456789", "1234567890123456"


def _post(url: str, payload: dict[str, Any]) -> None:
    raw = encode(payload)
    r = httpx.post(url, content=raw, headers={"Content-Type": "application/json",
                                              "X-Hub-Signature-256": sign(raw, APP_SECRET)}, timeout=10)
    assert r.status_code == 200, r.text


def _instagram(message: dict[str, Any]) -> dict[str, Any]:
    now = int(time.time() * 1000)
    return {"object": "instagram", "entry": [{"id": IG_ACCOUNT, "time": now, "messaging": [{
        "sender": {"id": IGSID}, "recipient": {"id": IG_ACCOUNT}, "timestamp": now, "message": message}]}]}


def test_instagram_deletion_and_live_alerts(live: LiveStack, page: Page, browser: Browser) -> None:
    admin = live.create_user("admin@example.com", "Ana Admin", "admin")
    live.create_user("carla@example.com", "Carla Dias", "supervisor")
    live.create_user("bruno@example.com", "Bruno Lima", "agent")
    headers = {"Authorization": f"Bearer {live.api_token(admin)}"}
    common = {"app_secret": APP_SECRET, "verify_token": "v", "base_url": "http://127.0.0.1:9"}
    with httpx.Client(base_url=live.url, headers=headers, timeout=10) as api:
        ig = api.post("/api/v1/connectors", json={"name": "Instagram da loja", "provider": "instagram", "config": {
            "ig_user_id": IG_ACCOUNT, "page_access_token": "t", **common}})
        wa = api.post("/api/v1/connectors", json={"name": "WhatsApp da loja", "provider": "whatsapp_cloud",
                                                  "config": {"access_token": "t", "phone_number_id": "106540352242922",
                                                             "waba_id": "102290129340398", **common}})
        assert ig.status_code == 201 and wa.status_code == 201, (ig.text, wa.text)

    login(page, live, "bruno@example.com")  # an agent
    supervisor_ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    carla = supervisor_ctx.new_page()
    login(carla, live, "carla@example.com")
    expect(page.locator("body[data-live='1']")).to_have_count(1)
    expect(carla.locator("body[data-live='1']")).to_have_count(1)

    _post(ig.json()["webhook_url"], _instagram({"mid": "m_e2e_1", "text": "Oi! Tem o tênis azul no 38?"}))
    card = page.locator(".card.ch-instagram")
    expect(card).to_be_visible(timeout=5000)
    expect(card.locator(".badge")).to_have_text("📸 Instagram")
    page.get_by_role("link", name="Instagram", exact=True).click()
    expect(page.get_by_role("heading", name="Contact Center · Instagram")).to_be_visible()
    expect(page.locator(".card")).to_have_count(1)

    card.locator(".card-name").click()
    bubble = page.locator(".msg.in", has_text="Tem o tênis azul no 38?")
    expect(bubble).to_be_visible(timeout=5000)
    _post(ig.json()["webhook_url"], _instagram({"mid": "m_e2e_1", "is_deleted": True}))
    deleted = page.get_by_test_id("deleted")
    expect(deleted).to_have_text("🚫 mensagem apagada pelo cliente", timeout=5000)
    expect(page.locator(".msg.in", has_text="Tem o tênis azul no 38?")).to_have_count(0)

    restriction = load_fixture("account_update_restriction")
    restriction["entry"][0]["time"] = int(time.time())
    _post(wa.json()["webhook_url"], json.loads(json.dumps(restriction)))
    toast = carla.locator(".toast.alert-critical")
    expect(toast).to_contain_text("WhatsApp da loja: Conta restringida pela Meta", timeout=8000)
    expect(page.locator(".toast.alert-critical")).to_have_count(0)  # agents are not alarmed
    supervisor_ctx.close()
