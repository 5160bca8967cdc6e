"""The privacy pages: contact page export/erasure (typed confirmation), the requests page, the
retention and masking settings, legal hold from the chat's contact panel; who may see each."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import select

from atende.db.tables import contacts
from tests.support.harness import Harness
from tests.web.pagekit import PageClient, sms_conversation

Pages = Callable[[str], Awaitable[PageClient]]


async def test_contact_page_offers_export_and_erasure_to_admins_only(harness: Harness, pages: Pages) -> None:
    h = harness
    one = await sms_conversation(h, reply="SAIR")
    await h.drain()
    contact_id = one["conversation"]["contact"]["id"]
    r = await h.post(f"/api/v1/conversations/{one['conversation']['id']}/assign", {"agent_id": h.user_ids["ana"]})
    assert r.status_code == 200, r.text  # Ana serves the customer: the contact page is hers to read
    admin, ana = await pages("admin"), await pages("ana")
    page = (await admin.get(f"/contacts/{contact_id}")).text
    assert f'href="/api/v1/contacts/{contact_id}/export"' in page and "Exportar dados" in page
    assert 'data-testid="erase-form"' in page and "Apagar dados do titular" in page
    assert 'data-testid="consents"' in page and "palavra-chave do cliente" in page
    agent_page = (await ana.get(f"/contacts/{contact_id}")).text
    assert 'data-testid="consents"' in agent_page
    assert "Exportar dados" not in agent_page and 'data-testid="erase-form"' not in agent_page
    assert 'href="/privacy/requests"' in page and 'href="/privacy/requests"' not in agent_page

    download = await admin.get(f"/api/v1/contacts/{contact_id}/export")  # the link works with the session
    assert download.status_code == 200 and download.headers["content-type"] == "application/zip"


async def test_erasure_from_the_page_needs_the_typed_word(harness: Harness, pages: Pages) -> None:
    h = harness
    one = await sms_conversation(h)
    contact_id = one["conversation"]["contact"]["id"]
    admin, ana = await pages("admin"), await pages("ana")
    r = await ana.post(f"/contacts/{contact_id}/erase", {"reason": "pedido", "confirm": "APAGAR"})
    assert r.status_code == 403
    r = await admin.post(f"/contacts/{contact_id}/erase", {"reason": "pedido", "confirm": "apagar?"})
    assert r.status_code == 422 and "APAGAR" in r.text
    r = await admin.post(f"/contacts/{contact_id}/erase", {"reason": "", "confirm": "APAGAR"})
    assert r.status_code == 422
    async with h.rt.read() as conn:
        assert await conn.scalar(select(contacts.c.erased_at).where(contacts.c.id == contact_id)) is None
    r = await admin.post(f"/contacts/{contact_id}/erase", {"reason": "pedido por e-mail", "confirm": "APAGAR"})
    assert r.status_code == 204 and r.headers["HX-Redirect"] == f"/contacts/{contact_id}?erased=1"
    page = (await admin.get(f"/contacts/{contact_id}?erased=1")).text
    assert f"Titular removido #{contact_id}" in page and 'data-testid="erased"' in page
    assert 'data-testid="erase-form"' not in page and "Exportar dados" not in page
    requests = (await h.get("/api/v1/data-requests", params={"contact_id": contact_id})).json()["items"]
    assert [(r["kind"], r["status"]) for r in requests] == [("erasure", "done")]


async def test_requests_page_registers_refuses_and_shows_deadlines(harness: Harness, pages: Pages) -> None:
    h = harness
    await h.add_user("dora", "dpo")
    one = await sms_conversation(h)
    contact_id = one["conversation"]["contact"]["id"]
    dora, ana = await pages("dora"), await pages("ana")
    assert (await ana.get("/privacy/requests")).status_code == 403
    page = (await dora.get("/privacy/requests")).text
    assert "Pedidos de titulares" in page and "15 dias" in page
    r = await dora.post("/privacy/requests", {"contact_id": contact_id, "kind": "erasure", "requester": "titular",
                                              "requested_on": "2020-02-01", "reference": "PROTO-77"})
    assert r.status_code == 204, r.text
    page = (await dora.get("/privacy/requests?status=open")).text
    assert "PROTO-77" in page and "atrasado" in page and "16 de fev. de 2020" in page
    r = await dora.post("/privacy/requests", {"contact_id": 999999, "kind": "erasure"})
    assert r.status_code == 404
    request_id = (await h.get("/api/v1/data-requests", who="dora")).json()["items"][0]["id"]
    r = await dora.post(f"/privacy/requests/{request_id}/refuse", {"reason": "não é o titular"})
    assert r.status_code == 204
    page = (await dora.get("/privacy/requests?status=refused")).text
    assert "não é o titular" in page and "Recusado" in page


async def test_settings_page_saves_retention_and_masking(harness: Harness, pages: Pages) -> None:
    h = harness
    one = await sms_conversation(h)
    admin, boss = await pages("admin"), await pages("supervisor")
    assert (await boss.get("/privacy/settings")).status_code == 403
    page = (await admin.get("/privacy/settings")).text
    assert 'name="media_days"' in page and 'value="365"' in page and 'data-testid="mask-previews"' in page
    r = await admin.post("/privacy/settings", {"messages_days": "1825", "media_days": "180", "events_days": "90",
                                               "jobs_days": "", f"c{one['connector']['id']}_media_days": "0"})
    assert r.status_code == 204
    assert (await h.get("/api/v1/retention")).json() == {
        "messages_days": 1825, "media_days": 180, "events_days": 90, "jobs_days": None,
        "per_connector": {str(one["connector"]["id"]): {"media_days": None}}}
    assert (await h.get("/api/v1/privacy")).json() == {"mask_previews": False}  # box left unticked
    r = await admin.post("/privacy/settings", {"media_days": "-3", "mask_previews": "1"})
    assert r.status_code == 422


async def test_legal_hold_from_the_contact_panel(harness: Harness, pages: Pages) -> None:
    h = harness
    one = await sms_conversation(h)
    cid = one["conversation"]["id"]
    boss, ana = await pages("supervisor"), await pages("ana")
    assert 'data-testid="legal-hold-form"' not in (await ana.get(f"/conversations/{cid}")).text
    assert (await ana.post(f"/conversations/{cid}/legal-hold", {"reason": "x"})).status_code == 403
    assert 'data-testid="legal-hold-form"' in (await boss.get(f"/conversations/{cid}")).text
    r = await boss.post(f"/conversations/{cid}/legal-hold", {"reason": "reclamação no Procon"})
    assert r.status_code == 200 and 'data-testid="legal-hold"' in r.text and "Retirar retenção legal" in r.text
    hold = (await h.get(f"/api/v1/contacts/{one['conversation']['contact']['id']}")).json()["conversations"][0]
    assert hold["legal_hold_at"]
    r = await boss.post(f"/conversations/{cid}/legal-hold", {"release": "1"})
    assert r.status_code == 200 and "Pôr em retenção legal" in r.text
