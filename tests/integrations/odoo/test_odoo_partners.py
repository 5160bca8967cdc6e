"""Partner linking: by phone in every spelling, as a job, cached; by hand with a search."""

from __future__ import annotations

from sqlalchemy import select

from atende.db.tables import audit_log, contacts, jobs
from tests.support.harness import Harness
from tests.support.odoo import attach_odoo, configure, inbound_sms


async def _contact(h: Harness, contact_id: int) -> dict:
    return dict((await h.get(f"/api/v1/contacts/{contact_id}")).json())


async def test_new_contact_is_linked_by_phone(harness: Harness) -> None:
    h = harness
    side = attach_odoo(h)
    maria = side.partner("Maria Souza", mobile="(11) 99999-0001", email="maria@exemplo.com.br",
                         vat="123.456.789-09")
    side.partner("Maria Antiga", mobile="(11) 99999-00012")  # contains the digits, but a longer number
    old = side.partner("Seu Jorge", phone="+55 48 8888-7777")  # written before the 9th digit
    assert (await configure(h, side)).json()["ok"]
    c = await h.kolmeya_connector()
    conv = await inbound_sms(h, c, "5511999990001", "Olá", "1")
    conv2 = await inbound_sms(h, c, "5548988887777", "Bom dia", "2")
    async with h.rt.read() as conn:
        kinds = [r.kind for r in await conn.execute(select(jobs.c.kind))]
    assert kinds.count("odoo_link_partner") == 2  # queued with the message, not run inside the webhook
    await h.drain()
    contact = await _contact(h, conv["contact"]["id"])
    assert contact["odoo_partner_id"] == maria and contact["name"] == "Maria Souza"
    assert (await _contact(h, conv2["contact"]["id"]))["odoo_partner_id"] == old
    panel = (await h.get(f"/api/v1/contacts/{conv['contact']['id']}/odoo")).json()
    assert panel["partner"]["email"] == "maria@exemplo.com.br" and panel["partner"]["vat"] == "123.456.789-09"
    assert panel["partner"]["url"] == f"http://odoo.test/web#id={maria}&model=res.partner&view_type=form"


async def test_lookups_are_cached_and_agent_names_win(harness: Harness) -> None:
    h = harness
    side = attach_odoo(h)
    side.partner("Cliente Odoo", mobile="+55 21 98888-1111")
    assert (await configure(h, side)).json()["ok"]
    c = await h.kolmeya_connector()
    conv = await inbound_sms(h, c, "5521988881111", "Oi", "1")
    contact_id = conv["contact"]["id"]
    r = await h.client.patch(f"/api/v1/contacts/{contact_id}", json={"name": "Dona Rosa"}, headers=h.auth("ana"))
    assert r.status_code == 200
    await h.drain()
    contact = await _contact(h, contact_id)
    assert contact["odoo_partner_id"] is not None and contact["name"] == "Dona Rosa"  # the agent's name stays
    searches = side.fake.calls[("res.partner", "search_read")]
    r = await h.client.delete(f"/api/v1/contacts/{contact_id}/odoo_partner", headers=h.auth("ana"))
    assert r.json()["partner"] is None
    from atende.actions.odoo import request_partner_link

    async with h.rt.write() as tx:
        assert await request_partner_link(tx, contact_id)
    await h.drain()
    assert (await _contact(h, contact_id))["odoo_partner_id"] is not None
    assert side.fake.calls[("res.partner", "search_read")] == searches  # answered from the cache


async def test_create_partners_when_asked(harness: Harness) -> None:
    h = harness
    side = attach_odoo(h)
    assert (await configure(h, side, create_partners=True)).json()["ok"]
    c = await h.kolmeya_connector()
    conv = await inbound_sms(h, c, "5585977776666", "Quero comprar", "1")
    await h.drain()
    partner_id = (await _contact(h, conv["contact"]["id"]))["odoo_partner_id"]
    assert partner_id is not None
    assert side.fake.store.records["res.partner"][partner_id]["mobile"] == "+5585977776666"
    assert side.fake.store.records["res.partner"][partner_id]["phone_sanitized"] == "+5585977776666"


async def test_without_integration_nothing_is_queued(harness: Harness) -> None:
    h = harness
    c = await h.kolmeya_connector()
    await inbound_sms(h, c, "5511999990002", "Oi", "1")
    async with h.rt.read() as conn:
        assert "odoo_link_partner" not in [r.kind for r in await conn.execute(select(jobs.c.kind))]


async def test_odoo_down_never_blocks_the_webhook(harness: Harness) -> None:
    h = harness
    side = attach_odoo(h)
    side.partner("Fulano", mobile="(11) 98765-4321")
    assert (await configure(h, side)).json()["ok"]
    side.fake.fail_next(model="res.partner", method="search_read", http_status=502, times=1)
    c = await h.kolmeya_connector()
    conv = await inbound_sms(h, c, "5511987654321", "Oi", "1")  # 200 while Odoo is down
    await h.drain()
    async with h.rt.read() as conn:
        job = (await conn.execute(select(jobs).where(jobs.c.kind == "odoo_link_partner"))).one()
    assert job.status == "pending" and "indisponível" in (job.last_error or "")
    async with h.rt.write() as tx:
        from sqlalchemy import update

        await tx.conn.execute(update(jobs).where(jobs.c.id == job.id).values(run_at=job.created_at))
    await h.drain()
    assert (await _contact(h, conv["contact"]["id"]))["name"] == "Fulano"


async def test_search_and_link_by_hand(harness: Harness) -> None:
    h = harness
    side = attach_odoo(h)
    ana = side.partner("Ana Beatriz Lima", vat="987.654.321-00", mobile="+55 (31) 97777-5555", email="ab@x.com")
    side.partner("Empresa Lima Ltda", vat="12.345.678/0001-95", is_company=True)
    assert (await configure(h, side, link_partners=False)).json()["ok"]
    c = await h.kolmeya_connector()
    conv = await inbound_sms(h, c, "5511912340000", "Oi", "1")
    contact_id = conv["contact"]["id"]
    for q in ("beatriz", "98765432100", "987.654.321-00", "(31) 97777-5555", "31977775555"):
        r = await h.get("/api/v1/integrations/odoo/partners", who="ana", params={"q": q})
        assert r.status_code == 200, r.text
        assert [p["id"] for p in r.json()["items"]] == [ana], q
    r = await h.get("/api/v1/integrations/odoo/partners", who="ana", params={"q": "12345678000195"})
    assert [p["name"] for p in r.json()["items"]] == ["Empresa Lima Ltda"]
    r = await h.client.put(f"/api/v1/contacts/{contact_id}/odoo_partner", json={"partner_id": ana},
                           headers=h.auth("ana"))
    assert r.status_code == 200 and r.json()["partner"]["name"] == "Ana Beatriz Lima"
    assert (await _contact(h, contact_id))["name"] == "Ana Beatriz Lima"
    r = await h.client.put(f"/api/v1/contacts/{contact_id}/odoo_partner", json={"partner_id": 999999},
                           headers=h.auth("ana"))
    assert r.status_code == 404 and "parceiro" in r.json()["detail"]
    r = await h.client.delete(f"/api/v1/contacts/{contact_id}/odoo_partner", headers=h.auth("ana"))
    assert r.status_code == 200 and r.json()["partner"] is None
    async with h.rt.read() as conn:
        actions = [a.action for a in await conn.execute(select(audit_log.c.action))]
        row = (await conn.execute(select(contacts.c.odoo_partner_id).where(contacts.c.id == contact_id))).one()
    assert row.odoo_partner_id is None and {"contact.odoo_link", "contact.odoo_unlink"} <= set(actions)
    r = await h.client.put("/api/v1/contacts/999999/odoo_partner", json={"partner_id": ana}, headers=h.auth("ana"))
    assert r.status_code == 404


async def test_partner_search_without_integration_is_a_409(harness: Harness) -> None:
    h = harness
    r = await h.get("/api/v1/integrations/odoo/partners", who="ana", params={"q": "maria"})
    assert r.status_code == 409 and "não está configurada" in r.json()["detail"]


async def test_odd_ids_are_a_4xx(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    for value in (str(2**63), str(2**80), "²", "-1", "0"):
        for method, path, body in (("GET", f"/api/v1/contacts/{value}/odoo", None),
                                   ("PUT", f"/api/v1/contacts/{value}/odoo_partner", {"partner_id": 1}),
                                   ("DELETE", f"/api/v1/contacts/{value}/odoo_partner", None),
                                   ("PUT", "/api/v1/contacts/1/odoo_partner", {"partner_id": value})):
            r = await h.client.request(method, path, json=body, headers=h.auth())
            assert 400 <= r.status_code < 500, (method, path, body, r.status_code)
