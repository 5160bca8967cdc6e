"""Merging two contacts from the contact page (supervisors): find, compare, confirm."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

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
