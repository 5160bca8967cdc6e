"""The Odoo pages: settings with "Testar conexão" (admin), and the contact panel's partner block."""

from __future__ import annotations

import re

from tests.support.harness import Harness
from tests.support.odoo import ODOO_DB, ODOO_LOGIN, ODOO_URL, attach_odoo, configure, inbound_sms
from tests.web.pagekit import PageClient


async def _client(h: Harness, who: str) -> PageClient:
    client = PageClient(h)
    assert (await client.login(who)).status_code == 303
    return client


async def test_settings_page_saves_tests_and_hides_the_key(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    side = attach_odoo(h)
    admin = await _client(h, "admin")
    ana = await _client(h, "ana")
    try:
        html = (await admin.get("/settings/odoo")).text
        assert "Testar conexão" in html and 'name="api_key"' in html and 'x-data="odooTest"' in html
        assert "<script>" not in html.split("</head>")[1] and " onclick=" not in html  # CSP-friendly markup
        assert (await ana.get("/settings/odoo")).status_code == 403
        form = {"url": ODOO_URL, "db": ODOO_DB, "login": ODOO_LOGIN, "api_key": side.api_key, "link_partners": "1",
                "post_transcripts": "1"}
        r = await admin.post("/settings/odoo", form, htmx=False)
        assert r.status_code == 200 and 'data-testid="odoo-result"' in r.text and "Conectado ao Odoo 15.0" in r.text
        assert side.api_key not in r.text and "(mantida; preencha só para trocar)" in r.text
        r = await admin.post("/settings/odoo", {**form, "api_key": "", "db": "outro"}, htmx=False)
        assert "banco de dados «outro» não existe" in r.text
        r = await admin.post("/settings/odoo", {**form, "url": "ftp://x"}, htmx=False)
        assert r.status_code == 422 and "URL do Odoo inválida" in r.text
        r = await admin.post("/settings/odoo", {**form, "url": ""}, htmx=False)
        assert r.status_code == 422
        assert (await ana.post("/settings/odoo", form, htmx=False)).status_code == 403
        js = (await admin.get("/static/js/odoo.js")).text
        assert 'Alpine.data("odooTest"' in js and "/api/v1/integrations/odoo/test" in js
    finally:
        await admin.aclose()
        await ana.aclose()


async def test_contact_panel_partner_block(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    side = attach_odoo(h)
    carla = side.partner("Carla Dias", mobile="(48) 99191-0234", email="carla@x.com.br", vat="111.444.777-35")
    other = side.partner("Carlos Souza", mobile="(21) 98888-7777")
    ana = await _client(h, "ana")
    try:
        c = await h.kolmeya_connector()
        conv = await inbound_sms(h, c, "5548999990000", "Oi", "1")
        contact_id = conv["contact"]["id"]
        panel = (await ana.get(f"/contacts/{contact_id}/panel?conversation={conv['id']}")).text
        assert f'hx-get="/contacts/{contact_id}/odoo"' in panel
        assert "não está configurada" in (await ana.get(f"/contacts/{contact_id}/odoo")).text
        assert (await configure(h, side, link_partners=False)).json()["ok"]
        block = (await ana.get(f"/contacts/{contact_id}/odoo")).text
        assert "Nenhum parceiro do Odoo vinculado" in block and 'data-testid="odoo-search"' in block
        results = (await ana.get(f"/contacts/{contact_id}/odoo/search", params={"q": "11144477735"})).text
        assert "Carla Dias" in results and "Carlos Souza" not in results
        results = (await ana.get(f"/contacts/{contact_id}/odoo/search", params={"q": "carl"})).text
        assert "Carla Dias" in results and "Carlos Souza" in results
        assert "pelo menos 2" in (await ana.get(f"/contacts/{contact_id}/odoo/search", params={"q": "c"})).text
        r = await ana.post(f"/contacts/{contact_id}/odoo/link", {"partner_id": str(carla)})
        assert r.status_code == 200 and "Parceiro vinculado" in r.text
        assert "carla@x.com.br" in r.text and "111.444.777-35" in r.text
        link = re.search(r'href="([^"]+)"[^>]*data-testid="odoo-open"', r.text)
        assert link and link.group(1).replace("&amp;", "&") == \
            f"{ODOO_URL}/web#id={carla}&model=res.partner&view_type=form"
        r = await ana.post(f"/contacts/{contact_id}/odoo/link", {"partner_id": "987654"})
        assert r.status_code == 404
        r = await ana.post(f"/contacts/{contact_id}/odoo/unlink")
        assert "Parceiro desvinculado" in r.text and "Nenhum parceiro" in r.text
        assert (await ana.post(f"/contacts/{contact_id}/odoo/link", {"partner_id": str(other)}, csrf=False)
                ).status_code == 403
    finally:
        await ana.aclose()
