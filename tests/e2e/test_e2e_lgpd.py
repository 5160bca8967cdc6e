"""LGPD in the browser: masked previews on the board, an agent hides a sensitive message, and an
admin answers a titular's request (export, then erasure with the typed confirmation) from the
contact page in under a minute, under the strict CSP."""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.live import LiveStack
from tests.e2e.test_e2e_workspace import PHONE, login, setup_sms

pytestmark = pytest.mark.e2e
SECRET = "Meu CPF é 529.982.247-25"


def test_admin_answers_a_titular_from_the_contact_page(live: LiveStack, page: Page, browser: Browser) -> None:
    admin_id = live.create_user("admin@example.com", "Ana Admin", "admin")
    live.create_user("bruno@example.com", "Bruno Lima", "agent")
    ctx = setup_sms(live, live.api_token(admin_id))
    cid = ctx["conversation_id"]
    assert live.fake is not None
    fake = live.fake
    live.call(lambda: fake.send_reply(ctx["kolmeya_id"], SECRET, received_at=datetime.now(UTC) + timedelta(seconds=1)))

    # An agent hides the message with the CPF: the thread keeps a placeholder.
    agent_context = browser.new_context(viewport={"width": 1366, "height": 768})
    bruno = agent_context.new_page()
    login(bruno, live, "bruno@example.com")
    expect(bruno.locator(f"#column-new #card-{cid}")).to_contain_text("***.982.247-**", timeout=5000)
    expect(bruno.locator(f"#card-{cid}")).not_to_contain_text("529.982.247-25")
    bruno.goto(f"{live.url}/conversations/{cid}")
    bubble = bruno.locator(".msg.in", has_text=SECRET)
    expect(bubble).to_be_visible()
    bruno.once("dialog", lambda dialog: dialog.accept())
    bubble.get_by_role("button", name="Ocultar").click()
    expect(bruno.get_by_test_id("withheld")).to_be_visible(timeout=5000)
    expect(bruno.locator(".thread")).not_to_contain_text("529.982.247-25")
    agent_context.close()

    # The admin: contact page → export → erase, against the clock.
    login(page, live, "admin@example.com")
    started = time.monotonic()
    contact_id = httpx.get(f"{live.url}/api/v1/conversations/{cid}", headers=ctx["headers"]).json()["contact"]["id"]
    page.goto(f"{live.url}/contacts/{contact_id}")
    expect(page.get_by_test_id("consents")).to_be_visible()
    with page.expect_download() as download_info:
        page.get_by_test_id("export").click()
    download = download_info.value
    assert re.fullmatch(r"dados-titular-\d+\.zip", download.suggested_filename)
    with zipfile.ZipFile(io.BytesIO(open(download.path(), "rb").read())) as zf:
        data = json.loads(zf.read("dados.json"))
    texts = [m["text"] for c in data["conversations"] for m in c["messages"]]
    assert SECRET in texts  # the titular gets everything, hidden messages too

    page.get_by_label("Motivo (sem dados pessoais)").fill("Pedido do titular por e-mail")
    page.get_by_test_id("erase-confirm").fill("APAGAR")
    page.get_by_role("button", name="Apagar dados do titular").click()
    page.wait_for_url(re.compile(r"/contacts/\d+\?erased=1$"))
    expect(page.get_by_test_id("erased-ok")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("Titular removido"))).to_be_visible()
    assert time.monotonic() - started < 60
    expect(page.locator("body")).not_to_contain_text(PHONE)
    expect(page.locator("body")).not_to_contain_text("529.982.247")

    # Proof: the request log shows it handled, on time.
    page.get_by_role("link", name="Privacidade").click()
    expect(page.get_by_test_id("requests")).to_contain_text("Eliminação")
    expect(page.get_by_test_id("requests")).to_contain_text("no prazo")
