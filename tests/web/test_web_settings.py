"""Settings: permissions, connectors (no secret echoed), users, quick replies CRUD."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from tests.support.harness import KOLMEYA_BASE, KOLMEYA_TOKEN, Harness
from tests.web.pagekit import PageClient

Pages = Callable[[str], Awaitable[PageClient]]


async def test_agents_get_403_on_settings(sqlite_harness: Harness, sqlite_pages: Pages) -> None:
    ana = await sqlite_pages("ana")
    for path in ("/settings", "/settings/connectors", "/settings/users", "/settings/quick-replies"):
        r = await ana.get(path)
        assert r.status_code == 403, path
        assert "permissão" in r.text
    r = await ana.post("/settings/quick-replies", {"shortcut": "x", "text": "y"})
    assert r.status_code == 403
    assert "/settings/connectors" not in (await ana.get("/board")).text  # no menu entry either
    supervisor = await sqlite_pages("supervisor")
    assert (await supervisor.get("/settings/connectors")).status_code == 200
    r = await supervisor.post("/settings/users", {"name": "X", "email": "x@example.com", "password": "12345678"})
    assert r.status_code == 403  # creating users is for admins


async def test_connector_create_edit_never_echoes_secrets(sqlite_harness: Harness, sqlite_pages: Pages) -> None:
    admin = await sqlite_pages("admin")
    r = await admin.post("/settings/connectors", {
        "name": "SMS Kolmeya", "provider": "kolmeya", "cfg_api_token": KOLMEYA_TOKEN, "cfg_base_url": KOLMEYA_BASE,
        "cfg_cost_per_segment": "0,12", "cfg_poll_interval_s": "0"}, htmx=False)
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    page = (await admin.get(location)).text
    assert "Conector criado" in page and KOLMEYA_TOKEN not in page
    webhook = re.search(r'id="webhook-url" readonly value="([^"]+)"', page)
    assert webhook and webhook.group(1).startswith("http://atende.test/webhooks/")
    assert 'value="0.12"' in page and "Testar conexão" in page
    connector_id = int(location.split("/")[-1].split("?")[0])

    r = await admin.post(f"/settings/connectors/{connector_id}", {"name": "SMS principal", "active": "1",
                                                                  "cfg_api_token": "", "cfg_cost_per_segment": "0.10"},
                         htmx=False)
    assert r.status_code == 303
    loaded = await sqlite_harness.rt.connector(connector_id)
    assert loaded is not None and loaded.name == "SMS principal"
    config = loaded.config.model_dump()
    assert config["api_token"] == KOLMEYA_TOKEN  # blank secret kept
    assert str(config["cost_per_segment"]) == "0.10"
    test = await admin.http.post(f"/api/v1/connectors/{connector_id}/test", headers={"X-CSRF-Token": admin.csrf})
    assert test.status_code == 200 and test.json()["balance_display"] == "R$ 9.397,30"


async def test_connector_form_errors_are_shown(sqlite_harness: Harness, sqlite_pages: Pages) -> None:
    admin = await sqlite_pages("admin")
    r = await admin.post("/settings/connectors", {"name": "Sem token", "provider": "kolmeya", "cfg_api_token": ""},
                         htmx=False)
    assert r.status_code == 422 and "Token da API" in r.text and 'role="alert"' in r.text
    r = await admin.post("/settings/connectors", {"name": "X", "provider": "kolmeya", "cfg_api_token": "t",
                                                  "cfg_base_url": "ftp://nope"}, htmx=False)
    assert r.status_code == 422 and "base_url" in r.text


async def test_users_and_roles(sqlite_harness: Harness, sqlite_pages: Pages) -> None:
    admin = await sqlite_pages("admin")
    r = await admin.post("/settings/users", {"name": "Carla", "email": "carla@example.com", "password": "senha-boa-1",
                                             "role": "supervisor"}, htmx=False)
    assert r.status_code == 200 and "carla@example.com" in r.text and "Usuário carla@example.com criado" in r.text
    r = await admin.post("/settings/users", {"name": "Carla", "email": "carla@example.com", "password": "senha-boa-1",
                                             "role": "agent"}, htmx=False)
    assert r.status_code == 422 and "já existe" in r.text
    carla = PageClient(sqlite_harness)
    assert (await carla.login("carla", "senha-boa-1")).status_code == 303
    assert (await carla.get("/settings/connectors")).status_code == 200
    await carla.aclose()


async def test_quick_replies_crud(sqlite_harness: Harness, sqlite_pages: Pages) -> None:
    sup = await sqlite_pages("supervisor")
    r = await sup.post("/settings/quick-replies", {"shortcut": "/Ola", "text": "Olá! Como posso ajudar?"})
    assert r.status_code == 204 and r.headers["HX-Redirect"] == "/settings/quick-replies"
    page = (await sup.get("/settings/quick-replies")).text
    assert 'value="/ola"' in page and "Olá! Como posso ajudar?" in page
    qid = int(re.search(r'action="/settings/quick-replies/(\d+)"', page).group(1))  # type: ignore[union-attr]

    r = await sup.post("/settings/quick-replies", {"shortcut": "ola", "text": "repetido"}, htmx=False)
    assert r.status_code == 422 and "já existe o atalho /ola" in r.text
    r = await sup.post("/settings/quick-replies", {"shortcut": "com espaço", "text": "x"}, htmx=False)
    assert r.status_code == 422 and "atalho inválido" in r.text

    r = await sup.post(f"/settings/quick-replies/{qid}", {"shortcut": "oi", "text": "Oi, tudo bem?"})
    assert r.status_code == 204
    page = (await sup.get("/settings/quick-replies")).text
    assert 'value="/oi"' in page and "Oi, tudo bem?" in page and 'value="/ola"' not in page

    r = await sup.post(f"/settings/quick-replies/{qid}/delete")
    assert r.status_code == 204
    assert "Nenhuma resposta rápida ainda" in (await sup.get("/settings/quick-replies")).text
    assert (await sup.post(f"/settings/quick-replies/{qid}/delete", htmx=False)).status_code == 404


async def test_whatsapp_connector_page_syncs_and_lists_templates(harness: Harness, pages: Pages) -> None:
    wa = await harness.whatsapp_connector()
    sms = await harness.kolmeya_connector()
    sup = await pages("supervisor")
    page = (await sup.get(f"/settings/connectors/{wa['id']}")).text
    assert 'data-testid="sync-templates"' in page and "Sincronizar modelos" in page
    assert f'&#34;id&#34;: {wa["id"]}' in page  # the button posts to /api/v1/connectors/{id}/templates/sync
    assert "Nenhum modelo sincronizado ainda." in page
    assert "sync-templates" not in (await sup.get(f"/settings/connectors/{sms['id']}")).text

    harness.graph.add_template("pedido_enviado", body="Olá {{1}}, seu pedido saiu.")
    harness.graph.add_template("promo_natal", "en_US", category="MARKETING", status="PAUSED", body="Promo!")
    # What the button does, with the page's session and CSRF token.
    r = await sup.http.post(f"/api/v1/connectors/{wa['id']}/templates/sync", headers={"X-CSRF-Token": sup.csrf})
    assert r.status_code == 200 and r.json()["total"] == 2
    page = (await sup.get(f"/settings/connectors/{wa['id']}")).text
    table = page[page.index('data-testid="templates"'):page.index("</table>", page.index('data-testid="templates"'))]
    rows = re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td><td>([^<]+)</td>\s*"
                      r"<td><span class=\"pill tpl-(\w+)\">([^<]+)<", table)
    assert rows == [("pedido_enviado", "pt_BR", "Utilidade", "approved", "Aprovado"),
                    ("promo_natal", "en_US", "Marketing", "paused", "Pausado")]
    ana = await pages("ana")
    assert (await ana.get(f"/settings/connectors/{wa['id']}")).status_code == 403
    r = await ana.http.post(f"/api/v1/connectors/{wa['id']}/templates/sync", headers={"X-CSRF-Token": ana.csrf})
    assert r.status_code == 403


async def test_new_connector_form_can_show_every_providers_fields(sqlite_harness: Harness,
                                                                 sqlite_pages: Pages) -> None:
    admin = await sqlite_pages("admin")
    page = (await admin.get("/settings/connectors")).text
    fieldsets = re.findall(r"<fieldset ([^>]*)>\s*<legend>([^<]+)</legend>", page)
    assert [legend for _attrs, legend in fieldsets] == ["Instagram", "Kolmeya (SMS)", "Messenger",
                                                        "Sandbox (demonstração)", "WhatsApp Cloud API"]
    for attrs, _legend in fieldsets:
        # x-show only sets a style, and the CSS rule [hidden] { display: none !important } beats it:
        # the other providers' fields must be revealed by binding the attribute itself.
        assert "x-show" not in attrs and ':hidden="provider !== ' in attrs, attrs
    first, last = (attrs.replace(":hidden", "") for attrs in (fieldsets[0][0], fieldsets[2][0]))
    assert " hidden" not in first and " hidden" in last  # without JS, only the default provider shows
