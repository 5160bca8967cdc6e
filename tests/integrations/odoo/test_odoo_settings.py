"""PUT/GET /api/v1/integrations/odoo: tested on save, clear Portuguese reasons, key never shown."""

from __future__ import annotations

from sqlalchemy import select

from atende.db.tables import audit_log, integrations
from tests.support.harness import Harness
from tests.support.odoo import ODOO_DB, ODOO_URL, attach_odoo, configure


async def test_save_tests_the_connection_and_hides_the_key(harness: Harness) -> None:
    h = harness
    side = attach_odoo(h)
    r = await configure(h, side)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ok"] is True and body["version"] == "15.0" and "Conectado" in body["detail"]
    got = (await h.get("/api/v1/integrations/odoo")).json()
    assert got["configured"] and got["url"] == ODOO_URL and got["db"] == ODOO_DB and got["api_key_set"] is True
    assert got["last_test"]["ok"] is True
    assert side.api_key not in (await h.get("/api/v1/integrations/odoo")).text
    async with h.rt.read() as conn:
        row = (await conn.execute(select(integrations))).one()
        audits = [a.action for a in await conn.execute(select(audit_log.c.action))]
    assert side.api_key not in str(row.config) and side.api_key not in row.secret_encrypted  # encrypted at rest
    assert h.rt.secrets.decrypt_json(row.secret_encrypted) == {"api_key": side.api_key}
    assert "integration.update" in audits
    # Saving again without a key keeps the stored one.
    r = await h.client.put("/api/v1/integrations/odoo", headers=h.auth(),
                           json={**side.settings(api_key=None), "create_partners": True})
    assert r.json()["ok"] is True
    assert (await h.get("/api/v1/integrations/odoo")).json()["create_partners"] is True


async def test_wrong_key_db_or_url_say_why(harness: Harness) -> None:
    h = harness
    side = attach_odoo(h)
    cases = [
        ({"api_key": "0" * 40}, "chave de API"),
        ({"db": "nao_existe"}, "banco de dados «nao_existe» não existe"),
        ({"url": "http://ninguem.test"}, "Não foi possível conectar"),
        ({"url": "http://atende.test"}, "não parece ser um Odoo"),
        ({"login": "outro@empresa.com.br"}, "login"),
    ]
    for overrides, reason in cases:
        r = await configure(h, side, **overrides)
        assert r.status_code == 200, (overrides, r.text)
        body = r.json()
        assert body["ok"] is False and reason in body["detail"], (overrides, body)
        assert side.api_key not in body["detail"]
    # The password is not an API key, but Odoo accepts it over RPC too: it still connects.
    assert (await configure(h, side, api_key=side.password)).json()["ok"] is True
    side.fake.fail_next(method="search_count", http_status=502, model="res.partner")
    body = (await configure(h, side)).json()
    assert body["ok"] is False and "indisponível" in body["detail"]


async def test_bad_input_is_a_4xx_and_only_admins_may(harness: Harness) -> None:
    h = harness
    side = attach_odoo(h)
    r = await h.client.put("/api/v1/integrations/odoo", headers=h.auth(), json=side.settings(url="ftp://x"))
    assert r.status_code == 422 and "URL do Odoo inválida" in r.json()["detail"]
    r = await h.client.put("/api/v1/integrations/odoo", headers=h.auth(), json=side.settings(api_key=None))
    assert r.status_code == 422 and "chave de API" in r.json()["detail"]  # nothing stored yet
    r = await h.client.put("/api/v1/integrations/odoo", headers=h.auth(), json={"url": "x"})
    assert r.status_code == 422
    for who in ("ana", "supervisor"):
        assert (await h.client.put("/api/v1/integrations/odoo", headers=h.auth(who),
                                   json=side.settings())).status_code == 403
        assert (await h.get("/api/v1/integrations/odoo", who=who)).status_code == 403
    assert (await h.get("/api/v1/integrations/odoo")).json()["configured"] is False
    assert (await h.post("/api/v1/integrations/odoo/test")).json()["ok"] is False
