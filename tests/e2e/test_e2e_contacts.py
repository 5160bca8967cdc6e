"""Contacts in chromium: the list, its search and filters, and a contact's page with its identities."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.live import LiveStack
from tests.e2e.test_e2e_workspace import login, setup_sms

pytestmark = pytest.mark.e2e


def test_contacts_list_search_filters_and_page(live: LiveStack, page: Page, artifacts: Path) -> None:
    admin_id = live.create_user("admin@example.com", "Ana Admin", "admin")
    ctx = setup_sms(live, live.api_token(admin_id), extra=True)
    with httpx.Client(base_url=live.url, headers=ctx["headers"], timeout=10) as api:
        items = api.get("/api/v1/contacts").json()["items"]
        assert len(items) == 4
        by_phone = {c["identities"][0]["value"]: c["id"] for c in items}
        for phone, name in (("+5548991910234", "Maria Oliveira"), ("+5511988887771", "João Santos"),
                            ("+5521977776662", "Fernanda Costa"), ("+5531966665553", "Ricardo Almeida")):
            assert api.patch(f"/api/v1/contacts/{by_phone[phone]}", json={"name": name}).status_code == 200
        assert api.patch(f"/api/v1/contacts/{by_phone['+5511988887771']}",
                         json={"sms_opted_out": True}).status_code == 200

    login(page, live, "admin@example.com")
    page.get_by_role("link", name="Contatos").click()
    page.wait_for_url(re.compile(r"/contacts$"))
    rows = page.locator(".contact-row")
    expect(rows).to_have_count(4)
    page.get_by_label("Opt-out de SMS").select_option("yes")  # submits by itself
    page.wait_for_url(re.compile(r"optout=yes"))
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("João Santos")
    expect(rows.first).to_contain_text("Opt-out SMS")
    page.get_by_role("link", name="Limpar filtros").click()
    page.get_by_placeholder("Nome, telefone ou identificador").fill("9191")
    page.get_by_placeholder("Nome, telefone ou identificador").press("Enter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Maria Oliveira")
    expect(rows.first).to_contain_text("+55 48 99191-0234")
    page.screenshot(path=str(artifacts / "contacts-list.png"))
    rows.first.get_by_role("link", name="Maria Oliveira").click()
    page.wait_for_url(re.compile(r"/contacts/\d+$"))
    expect(page.get_by_test_id("identities")).to_contain_text("+5548991910234")
    expect(page.get_by_role("heading", name="Histórico de Maria Oliveira")).to_be_visible()
    page.screenshot(path=str(artifacts / "contact-page.png"))


def test_merging_two_contacts_from_the_contact_page(live: LiveStack, page: Page, artifacts: Path) -> None:
    admin_id = live.create_user("admin@example.com", "Ana Admin", "admin")
    live.create_user("carla@example.com", "Carla Supervisora", "supervisor")
    ctx = setup_sms(live, live.api_token(admin_id), extra=True)
    with httpx.Client(base_url=live.url, headers=ctx["headers"], timeout=10) as api:
        by_phone = {c["identities"][0]["value"]: c["id"] for c in api.get("/api/v1/contacts").json()["items"]}
        keep, other = by_phone["+5548991910234"], by_phone["+5511988887771"]
        for cid, name in ((keep, "Maria Oliveira"), (other, "Maria O. (outro número)")):
            assert api.patch(f"/api/v1/contacts/{cid}", json={"name": name}).status_code == 200

    login(page, live, "carla@example.com")
    page.goto(f"{live.url}/contacts/{keep}")
    page.get_by_test_id("merge-link").click()
    page.get_by_label("Encontrar o outro contato").fill("Maria")
    page.get_by_label("Encontrar o outro contato").press("Enter")
    candidates = page.get_by_test_id("merge-candidates")
    expect(candidates.locator(".contact-row")).to_have_count(1)  # never the contact itself
    candidates.get_by_role("link", name="Escolher").click()
    expect(page.get_by_test_id("merge-compare")).to_contain_text("Maria O. (outro número)")
    page.screenshot(path=str(artifacts / "contact-merge-confirm.png"))
    page.get_by_role("button", name=re.compile("^Mesclar: trazer")).click()
    page.wait_for_url(re.compile(rf"/contacts/{keep}\?merged={other}$"))
    expect(page.get_by_test_id("merged-notice")).to_be_visible()
    identities = page.get_by_test_id("identities")
    expect(identities).to_contain_text("+5548991910234")
    expect(identities).to_contain_text("+5511988887771")
    expect(page.locator("#timeline")).to_contain_text("Seu pedido 4521 saiu para entrega.")  # the other's history
    page.screenshot(path=str(artifacts / "contact-merged.png"))
