"""Odoo in the browser, under the strict CSP: settings with "Testar conexão", the partner block."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from atende.testing.fake_kolmeya import serve_asgi
from atende.testing.fake_odoo import create_fake_odoo
from tests.e2e.live import LiveStack
from tests.e2e.test_e2e_workspace import PHONE, login, setup_sms, wait_for

pytestmark = pytest.mark.e2e


def test_odoo_settings_and_partner_block(live: LiveStack, page: Page) -> None:
    fake = create_fake_odoo(["empresa"])
    uid = fake.add_user("integracao@empresa.com.br", "Integração")
    key = fake.new_api_key(uid)
    carla = fake.create_record("res.partner", {"name": "Carla Dias", "mobile": "(48) 99191-0234",
                                               "email": "carla@exemplo.com.br", "vat": "111.444.777-35"})
    server: Any = serve_asgi(fake.app)
    odoo_url = live.call(server.__aenter__())
    try:
        admin_id = live.create_user("admin@example.com", "Ana Admin", "admin")
        login(page, live, "admin@example.com")
        page.goto(f"{live.url}/settings/odoo")
        page.get_by_label("Endereço do Odoo").fill(odoo_url)
        page.get_by_label("Banco de dados").fill("empresa")
        page.get_by_label("Login do usuário").fill("integracao@empresa.com.br")
        page.get_by_label("Chave de API").fill(key)
        page.get_by_role("button", name="Salvar e testar").click()
        expect(page.get_by_test_id("odoo-result")).to_contain_text("Conectado ao Odoo 15.0")
        expect(page.get_by_label("Chave de API")).to_have_value("")  # never echoed
        page.get_by_test_id("odoo-test").click()
        expect(page.locator(".test-result")).to_contain_text("Conectado ao Odoo 15.0", timeout=5000)

        ctx = setup_sms(live, live.api_token(admin_id))  # a new contact: the worker finds Carla by phone
        with httpx.Client(base_url=live.url, headers=ctx["headers"], timeout=10) as api:
            contact_id = api.get(f"/api/v1/conversations/{ctx['conversation_id']}").json()["contact"]["id"]
            wait_for(lambda: api.get(f"/api/v1/contacts/{contact_id}").json()["odoo_partner_id"] == carla)
        page.goto(f"{live.url}/contacts/{contact_id}")
        block = page.get_by_test_id("odoo-partner")
        expect(block.get_by_test_id("odoo-partner-name")).to_have_text("Carla Dias")
        expect(block).to_contain_text("111.444.777-35")
        block.get_by_test_id("odoo-unlink").click()
        expect(page.get_by_test_id("odoo-partner")).to_contain_text("Nenhum parceiro do Odoo vinculado")
        page.get_by_test_id("odoo-search").fill(PHONE)
        page.get_by_role("button", name="Buscar").click()
        page.get_by_test_id("odoo-results").get_by_role("button", name="Vincular").click()
        link = page.get_by_test_id("odoo-open")
        expect(link).to_have_attribute("href", re.compile(rf"/web#id={carla}&model=res\.partner&view_type=form$"))
        expect(page.get_by_test_id("odoo-partner")).to_contain_text("Parceiro vinculado")
    finally:
        live.call(server.__aexit__(None, None, None))
