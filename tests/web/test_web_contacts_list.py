"""Contacts: list with search and filters (channel, SMS opt-out, Odoo partner), keyset pages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import update

from atende.db.tables import contacts
from tests.support.harness import Harness
from tests.support.whatsapp import inbound
from tests.web.pagekit import PageClient, sms_conversation

Pages = Callable[[str], Awaitable[PageClient]]


async def people(h: Harness) -> dict[str, Any]:
    sms = await h.kolmeya_connector()
    maria = (await sms_conversation(h, to="+5548991910234", connector=sms))["conversation"]
    joao = (await sms_conversation(h, to="+5511988887771", connector=sms))["conversation"]
    wa = await h.whatsapp_connector()
    ana = await inbound(h, wa, "5521977776662", "Oi, quero um orçamento", name="Ana Paula Souza")
    for conv, name in ((maria, "Maria Oliveira"), (joao, "João Santos")):
        r = await h.client.patch(f"/api/v1/contacts/{conv['contact']['id']}", json={"name": name}, headers=h.auth())
        assert r.status_code == 200, r.text
    r = await h.client.patch(f"/api/v1/contacts/{joao['contact']['id']}", json={"sms_opted_out": True},
                             headers=h.auth())
    assert r.status_code == 200
    async with h.rt.write() as tx:  # test set-up: a partner link as the Odoo bridge leaves it
        await tx.conn.execute(update(contacts).where(contacts.c.id == maria["contact"]["id"])
                              .values(odoo_partner_id=4242))
    wa_contact = (await h.get(f"/api/v1/conversations/{ana['conversation_id']}")).json()["contact"]["id"]
    return {"maria": maria["contact"]["id"], "joao": joao["contact"]["id"], "ana": wa_contact}


async def names(h: Harness, **params: Any) -> list[str]:
    r = await h.get("/api/v1/contacts", params=params)
    assert r.status_code == 200, r.text
    return [c["name"] for c in r.json()["items"]]


async def test_search_and_filters(harness: Harness) -> None:
    h = harness
    ids = await people(h)
    assert await names(h) == ["Ana Paula Souza", "João Santos", "Maria Oliveira"]  # newest first
    assert await names(h, q="maria") == ["Maria Oliveira"]
    assert await names(h, q="9191") == ["Maria Oliveira"]  # digits of a phone
    assert await names(h, q="(11) 98888") == ["João Santos"]
    assert await names(h, q="50%") == []  # % is a character, not a wildcard
    assert await names(h, channel="whatsapp") == ["Ana Paula Souza"]
    assert await names(h, channel="sms") == ["João Santos", "Maria Oliveira"]
    assert await names(h, opted_out="true") == ["João Santos"]
    assert await names(h, opted_out="false", channel="sms") == ["Maria Oliveira"]
    assert await names(h, odoo="true") == ["Maria Oliveira"]
    assert await names(h, odoo="false") == ["Ana Paula Souza", "João Santos"]
    item = next(c for c in (await h.get("/api/v1/contacts", params={"q": "Ana"})).json()["items"])
    assert item["id"] == ids["ana"] and item["channels"] == ["whatsapp"]
    assert item["identities"][0]["kind"] == "phone" and item["identities"][0]["value"] == "+5521977776662"


async def test_keyset_pages_and_bad_input(harness: Harness) -> None:
    h = harness
    await people(h)
    first = (await h.get("/api/v1/contacts", params={"limit": 2})).json()
    assert [c["name"] for c in first["items"]] == ["Ana Paula Souza", "João Santos"] and first["next_cursor"]
    second = (await h.get("/api/v1/contacts", params={"limit": 2, "cursor": first["next_cursor"]})).json()
    assert [c["name"] for c in second["items"]] == ["Maria Oliveira"] and second["next_cursor"] is None
    assert (await h.get("/api/v1/contacts", params={"cursor": "@@"})).status_code == 400
    assert (await h.get("/api/v1/contacts", params={"channel": "fax"})).status_code == 422
    assert (await h.get("/api/v1/contacts", params={"limit": 0})).status_code == 422


async def test_contacts_page(harness: Harness, pages: Pages) -> None:
    ids = await people(harness)
    ana = await pages("ana")
    html = (await ana.get("/contacts")).text
    assert html.index(f'id="contact-{ids["ana"]}"') < html.index(f'id="contact-{ids["joao"]}"')
    assert "+55 48 99191-0234" in html and "Odoo #4242" in html and "Opt-out SMS" in html
    assert 'href="/contacts" aria-current="page"' in html
    html = (await ana.get("/contacts?channel=sms&optout=yes")).text
    assert f'id="contact-{ids["joao"]}"' in html and f'id="contact-{ids["maria"]}"' not in html
    assert '<option value="yes" selected>' in html
    html = (await ana.get("/contacts?q=ninguem")).text
    assert "Nenhum contato encontrado." in html
    html = (await ana.get("/contacts?channel=fax&optout=maybe")).text  # unknown values: no filter
    assert f'id="contact-{ids["maria"]}"' in html
    more = await ana.get("/contacts/list?cursor=@@")
    assert more.status_code == 400
    # The contact's page: its whole timeline is for whoever may read every conversation of it (auth.policy).
    page = (await (await pages("admin")).get(f"/contacts/{ids['ana']}")).text
    assert 'data-testid="identities"' in page and "+5521977776662" in page
