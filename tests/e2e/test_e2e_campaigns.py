"""A supervisor in the browser: uploads a CSV, sees what it costs and whom it skips, starts the
campaign and watches it go out at its pace; a reply lands in the queue; a template in the composer."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from atende.actions.quick_replies import create_quick_reply
from tests.e2e.live import TOKEN, LiveStack
from tests.e2e.test_e2e_workspace import login, wait_for

pytestmark = pytest.mark.e2e

# 20 good rows (two batches of 10 at 60 a minute), a duplicate, a landline and a row without {{valor}}.
ROWS = [f"Cliente {i};119{i:08d};R$ {i},00" for i in range(1, 21)]
CSV = "\n".join(["nome;telefone;valor", *ROWS, "Repetido;11900000001;R$ 1,00", "Fixo;(48) 3222-1234;R$ 2,00",
                 "Sem valor;11977776666;"]) + "\n"


def test_campaign_from_csv_upload_start_and_progress(live: LiveStack, page: Page, tmp_path: Path,
                                                     artifacts: Path) -> None:
    admin_id = live.create_user("admin@example.com", "Ana Admin", "admin")
    live.create_user("sup@example.com", "Sara Supervisora", "supervisor")
    headers = {"Authorization": f"Bearer {live.api_token(admin_id)}"}
    connector = httpx.post(f"{live.url}/api/v1/connectors", headers=headers, timeout=10, json={
        "name": "SMS Kolmeya", "provider": "kolmeya",
        "config": {"api_token": TOKEN, "base_url": live.kolmeya_url, "cost_per_segment": "0.10", "poll_interval_s": 0}})
    assert connector.status_code == 201, connector.text
    sheet = tmp_path / "cobranca.csv"
    sheet.write_text(CSV, encoding="utf-8")

    login(page, live, "sup@example.com")
    page.get_by_role("link", name="Campanhas").click()
    page.get_by_test_id("new-campaign").click()
    page.get_by_test_id("campaign-name").fill("Cobrança de dezembro")
    page.get_by_test_id("campaign-file").set_input_files(str(sheet))
    text = "Ola {{nome}}, sua fatura de {{valor}} vence amanha. Responda SAIR para sair."
    page.get_by_test_id("campaign-text").fill(text)
    # The live preview uses the first row of the file, with the same segment rule as the server.
    expect(page.get_by_test_id("campaign-preview")).to_have_text(
        "Ola Cliente 1, sua fatura de R$ 1,00 vence amanha. Responda SAIR para sair.")
    expect(page.get_by_test_id("campaign-counter")).to_contain_text(re.compile(r"1 seg · R\$\s?0,10"))
    page.get_by_label("Mensagens por minuto").fill("60")
    page.get_by_test_id("campaign-create").click()

    # The draft: what it will cost and whom it skips.
    page.wait_for_url(re.compile(r"/campaigns/\d+$"))
    expect(page.get_by_test_id("est-recipients")).to_have_text("20")
    expect(page.get_by_test_id("est-cost")).to_contain_text(re.compile(r"R\$\s?2,00"))
    expect(page.get_by_test_id("excluded-duplicate")).to_have_text("1")
    expect(page.get_by_test_id("excluded-blocked")).to_have_text("1")
    expect(page.get_by_test_id("missing-vars")).to_have_text("1")
    href = page.get_by_test_id("exclusions-link").get_attribute("href")
    assert href is not None
    exclusions = page.request.get(f"{live.url}{href}")
    assert exclusions.ok and "duplicate" in exclusions.text() and "fixo" in exclusions.text()
    expect(page.get_by_test_id("campaign-status")).to_have_text("Rascunho")
    page.screenshot(path=str(artifacts / "campaign-draft.png"))

    # Start: the first batch goes at once, the second ten seconds later; the page follows by itself.
    page.evaluate("window.__noReload = true")
    page.get_by_test_id("campaign-start").click()
    page.evaluate("window.__noReload = true")
    expect(page.get_by_test_id("campaign-status")).to_have_text("Enviando", timeout=5000)
    expect(page.locator('#campaign-live [data-stat="sent"]')).to_have_text("10", timeout=8000)
    expect(page.locator('#campaign-live [data-stat="queued"]')).to_have_text("10")
    assert live.fake is not None
    assert len(live.fake.state.sent) == 10
    expect(page.locator('#campaign-live [data-stat="sent"]')).to_have_text("20", timeout=20000)
    expect(page.get_by_test_id("campaign-status")).to_have_text("Concluída", timeout=5000)
    assert page.evaluate("window.__noReload") is True  # live updates, not reloads
    fake = live.fake
    stamps = sorted(m.created_at for m in fake.state.sent)
    assert len(stamps) == 20 and stamps[-1] - stamps[0] >= timedelta(seconds=9)  # paced: two batches

    # A customer answers: counted, and the conversation lands in the agents' queue.
    first = next(m for m in fake.state.sent if m.phone == 11900000001)
    live.call(lambda: fake.send_reply(first.id, "Posso pagar sexta?", received_at=datetime.now(UTC)))
    expect(page.locator('#campaign-live [data-stat="replied"]')).to_have_text("1", timeout=8000)
    convs = httpx.get(f"{live.url}/api/v1/conversations?status=new", headers=headers, timeout=10).json()["items"]
    assert [c["last_message_preview"] for c in convs] == ["Posso pagar sexta?"]
    page.screenshot(path=str(artifacts / "campaign-done.png"))


def test_message_template_fills_the_composer(live: LiveStack, page: Page) -> None:
    admin_id = live.create_user("admin@example.com", "Ana Admin", "admin")
    headers = {"Authorization": f"Bearer {live.api_token(admin_id)}"}
    with httpx.Client(base_url=live.url, headers=headers, timeout=10) as api:
        c = api.post("/api/v1/connectors", json={"name": "SMS Kolmeya", "provider": "kolmeya", "config": {
            "api_token": TOKEN, "base_url": live.kolmeya_url, "cost_per_segment": "0.10", "poll_interval_s": 0}}).json()
        api.post("/api/v1/message-templates", json={"name": "Boleto", "text": "Oi {{nome}}, o boleto de {{valor}} "
                                                                            "segue. Att, {{agente}}"})
        sent = api.post("/api/v1/messages", json={"connector_id": c["id"], "to": "+5548991910234", "text": "Olá"})
    conv_id = sent.json()["conversation_id"]
    login(page, live, "admin@example.com")
    page.goto(f"{live.url}/conversations/{conv_id}")
    page.get_by_test_id("message-template").select_option(label="Boleto")
    composer = page.get_by_test_id("composer")
    expect(composer).to_have_value("Oi {{nome}}, o boleto de {{valor}} segue. Att, Ana Admin")
    expect(page.get_by_test_id("missing-vars")).to_contain_text("{{nome}}, {{valor}}")
    composer.fill("Oi Maria, o boleto de R$ 10,00 segue. Att, Ana Admin")
    expect(page.get_by_test_id("missing-vars")).to_be_hidden()
    expect(page.get_by_test_id("sms-counter")).to_contain_text("1 seg | R$")
    composer.press("Enter")
    expect(page.locator(".msg.out", has_text="o boleto de R$ 10,00")).to_be_visible(timeout=5000)

    # A quick reply with a variable is filled in the same way.
    async def quick_reply() -> None:
        async with live.rt.write() as tx:
            await create_quick_reply(tx, shortcut="tchau", text="Até logo! {{agente}}", created_by=admin_id)

    live.call(quick_reply)
    page.reload()
    composer = page.get_by_test_id("composer")
    composer.fill("/tch")
    composer.press("Enter")
    expect(composer).to_have_value("Até logo! Ana Admin")
    texts = wait_for(lambda: [m["text"] for m in httpx.get(f"{live.url}/api/v1/conversations/{conv_id}/messages",
                                                            headers=headers).json()["items"]])
    assert "Oi Maria, o boleto de R$ 10,00 segue. Att, Ana Admin" in texts
