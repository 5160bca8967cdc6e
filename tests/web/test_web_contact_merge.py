"""Merging two contacts from the contact page (supervisors): find, compare, confirm."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from sqlalchemy import select

from atende.db.tables import audit_log
from tests.support.harness import Harness
from tests.web.pagekit import PageClient, sms_conversation

Pages = Callable[[str], Awaitable[PageClient]]


async def two_contacts(h: Harness) -> tuple[int, int]:
    c = await h.kolmeya_connector()
    a = (await sms_conversation(h, to="+5511987654301", connector=c))["conversation"]["contact"]["id"]
    b = (await sms_conversation(h, to="+5511987654302", connector=c))["conversation"]["contact"]["id"]
    for cid, name in ((a, "Maria Souza"), (b, "Maria S. (Instagram)")):
        r = await h.client.patch(f"/api/v1/contacts/{cid}", json={"name": name}, headers=h.auth())
        assert r.status_code == 200
    return a, b


async def test_supervisors_find_and_compare_the_other_contact(harness: Harness, pages: Pages) -> None:
    a, b = await two_contacts(harness)
    sup = await pages("supervisor")
    assert 'data-testid="merge-link"' in (await sup.get(f"/contacts/{a}")).text
    html = (await sup.get(f"/contacts/{a}/merge?q=maria")).text
    assert f'id="candidate-{b}"' in html and f'id="candidate-{a}"' not in html  # never itself
    assert f'href="/contacts/{a}/merge?other={b}"' in html
    html = (await sup.get(f"/contacts/{a}/merge?q=54302")).text  # by phone digits
    assert re.findall(r'id="candidate-(\d+)"', html) == [str(b)]
    html = (await sup.get(f"/contacts/{a}/merge?other={b}")).text
    assert 'data-testid="merge-compare"' in html and f'name="other_id" value="{b}"' in html
    assert "Mesclar: trazer Maria S. (Instagram) para Maria Souza" in html
    assert (await sup.get(f"/contacts/{a}/merge?other={a}")).status_code == 422
    assert (await sup.get(f"/contacts/{a}/merge?other=999999")).status_code == 404


async def test_agents_neither_see_nor_open_the_merge(harness: Harness, pages: Pages) -> None:
    a, b = await two_contacts(harness)
    ana = await pages("ana")
    assert 'data-testid="merge-link"' not in (await ana.get(f"/contacts/{a}")).text
    assert (await ana.get(f"/contacts/{a}/merge?other={b}")).status_code == 403


async def test_confirming_merges_the_timeline_and_audits_it(harness: Harness, pages: Pages) -> None:
    h = harness
    a, b = await two_contacts(h)
    sup = await pages("supervisor")
    r = await sup.post(f"/contacts/{a}/merge", {"other_id": str(b)}, htmx=False)
    assert r.status_code == 303 and r.headers["location"] == f"/contacts/{a}?merged={b}"
    page = (await sup.get(f"/contacts/{a}?merged={b}")).text
    assert 'data-testid="merged-notice"' in page
    assert "+5511987654301" in page and "+5511987654302" in page  # both identities on one contact
    assert (await sup.get(f"/contacts/{b}")).status_code == 404
    timeline = (await h.get(f"/api/v1/contacts/{a}/timeline")).json()["items"]
    assert {m["conversation_id"] for m in timeline} == {c["id"] for c in (await h.get(
        "/api/v1/conversations")).json()["items"]}  # every conversation's messages, both numbers
    async with h.rt.read() as conn:
        row = (await conn.execute(select(audit_log.c.action, audit_log.c.actor_id, audit_log.c.detail)
                                  .where(audit_log.c.action == "contact.merge"))).one()
    assert row.actor_id == h.user_ids["supervisor"] and row.detail["merged_id"] == b
    assert (await sup.post(f"/contacts/{a}/merge", {"other_id": str(a)}, htmx=False)).status_code == 422
    assert (await sup.post(f"/contacts/{a}/merge", {"other_id": str(b)}, htmx=False)).status_code == 404  # gone


async def test_agents_cannot_merge(harness: Harness, pages: Pages) -> None:
    a, b = await two_contacts(harness)
    ana = await pages("ana")
    assert (await ana.post(f"/contacts/{a}/merge", {"other_id": str(b)}, htmx=False)).status_code == 403
    assert (await harness.get(f"/api/v1/contacts/{b}")).status_code == 200  # nothing moved
