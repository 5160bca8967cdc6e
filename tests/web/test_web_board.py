"""The board: cards, counts, filters, endless columns, drag and drop."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from sqlalchemy import select

from atende.db.tables import conversations
from tests.support.harness import Harness
from tests.web.pagekit import PageClient, sms_conversation

Pages = Callable[[str], Awaitable[PageClient]]


def column(html: str, status: str) -> str:
    start = html.index(f'id="column-{status}"')
    end = html.find('<section class="column', start)
    return html[start:end if end > 0 else len(html)]


def count(html: str, status: str) -> int:
    match = re.search(rf'id="count-{status}"[^>]*>([\d.,]+)<', html)
    assert match, f"no count for {status}"
    return int(match.group(1).replace(".", "").replace(",", ""))


async def test_board_renders_cards_and_live_counts(harness: Harness, pages: Pages) -> None:
    one = await sms_conversation(harness)
    two = await sms_conversation(harness, "Oi", to="+5511988887777", reply=None, connector=one["connector"])
    sup = await pages("supervisor")  # the admin's concluded send is nobody's queue: a supervisor sees it
    html = (await sup.get("/board")).text
    assert "Contact Center · Todos os canais" in html
    new_col, done_col = column(html, "new"), column(html, "done")
    card = f'id="card-{one["conversation"]["id"]}"'
    assert card in new_col and f'id="card-{two["conversation"]["id"]}"' in done_col
    assert (count(html, "new"), count(html, "open"), count(html, "done")) == (1, 0, 1)
    assert "📱 SMS" in new_col and "Já paguei, obrigado" in new_col
    assert "1 seg | R$ 0,08" in new_col  # segments and cost of the SMS conversation
    assert "+5548991910234" in new_col and "Sem agente" in new_col
    assert 'class="waiting"' in new_col  # the customer is waiting for an answer


async def test_quick_filters_and_search(harness: Harness, pages: Pages) -> None:
    one = await sms_conversation(harness)
    ana = await pages("ana")
    cid = one["conversation"]["id"]
    assert f'card-{cid}"' in (await ana.get("/board?f=sms")).text
    assert f'card-{cid}"' not in (await ana.get("/board?f=whatsapp")).text
    assert f'card-{cid}"' in (await ana.get("/board?f=unassigned")).text
    assert f'card-{cid}"' not in (await ana.get("/board?f=mine")).text
    assert f'card-{cid}"' in (await ana.get("/board?q=paguei")).text
    assert f'card-{cid}"' in (await ana.get("/board?q=991910234")).text
    assert f'card-{cid}"' not in (await ana.get("/board?q=inexistente")).text
    mine = (await ana.get("/board?f=mine")).text
    assert count(mine, "new") == 0 and 'aria-current="true">Minhas conversas' in mine


async def test_drag_endpoint_takes_closes_and_reopens(harness: Harness, pages: Pages) -> None:
    one = await sms_conversation(harness)
    cid = one["conversation"]["id"]
    ana = await pages("ana")
    r = await ana.post("/board/move", {"conversation_id": cid, "to": "open"})
    assert r.status_code == 200 and 'data-status="open"' in r.text and "Ana" in r.text
    assert r.headers["HX-Trigger"] == "atende:counts"
    async with harness.rt.read() as conn:
        row = (await conn.execute(select(conversations).where(conversations.c.id == cid))).one()
    assert row.status == "open" and row.assignee_id == harness.user_ids["ana"]
    html = (await ana.get("/board")).text
    assert f'card-{cid}"' in column(html, "open") and count(html, "open") == 1 and count(html, "new") == 0

    r = await ana.post("/board/move", {"conversation_id": cid, "to": "done"})
    assert r.status_code == 200 and 'data-status="done"' in r.text
    r = await ana.post("/board/move", {"conversation_id": cid, "to": "new"})
    assert r.status_code == 200 and 'data-status="new"' in r.text
    conv = (await harness.get(f"/api/v1/conversations/{cid}")).json()
    assert conv["status"] == "new" and conv["assignee"] is None


async def test_agent_cannot_drag_away_another_agents_conversation(harness: Harness, pages: Pages) -> None:
    one = await sms_conversation(harness)
    cid = one["conversation"]["id"]
    ana, bruno = await pages("ana"), await pages("bruno")
    assert (await ana.post("/board/move", {"conversation_id": cid, "to": "open"})).status_code == 200
    r = await bruno.post("/board/move", {"conversation_id": cid, "to": "done"})
    assert r.status_code == 404  # Ana's now: not Bruno's to see (see tests/teams for a team-wide 403)
    r = await bruno.post("/board/move", {"conversation_id": cid, "to": "nowhere"})
    assert r.status_code == 422
    conv = (await harness.get(f"/api/v1/conversations/{cid}")).json()
    assert conv["status"] == "open" and conv["assignee"]["id"] == harness.user_ids["ana"]


async def test_columns_scroll_by_keyset_pages(sqlite_harness: Harness, sqlite_pages: Pages) -> None:
    h = sqlite_harness
    c = await h.kolmeya_connector()
    for i in range(30):
        r = await h.post("/api/v1/messages", {"connector_id": c["id"], "to": f"+55119888870{i:02d}", "text": "Oi"})
        assert r.status_code == 202
    ana = await sqlite_pages("supervisor")
    html = (await ana.get("/board")).text
    done = column(html, "done")
    assert done.count('class="card ') == 25
    cursor = re.search(r'hx-get="/board/column/done\?f=all&amp;cursor=([^"]+)"', done)
    assert cursor, "the done column has no next-page sentinel"
    more = (await ana.get(f"/board/column/done?f=all&cursor={cursor.group(1)}")).text
    assert more.count('class="card ') == 5 and "hx-get" not in more.split("</article>")[-1]
    first_ids = set(re.findall(r'id="card-(\d+)"', done))
    assert not first_ids & set(re.findall(r'id="card-(\d+)"', more))
    assert (await ana.get("/board/column/done?cursor=%%%")).status_code == 400


async def test_card_fragment_for_live_updates(harness: Harness, pages: Pages) -> None:
    one = await sms_conversation(harness)
    cid = one["conversation"]["id"]
    ana = await pages("ana")
    r = await ana.get(f"/fragments/conversation/{cid}?f=sms")
    assert r.status_code == 200 and r.text.strip().startswith("<article") and f'id="card-{cid}"' in r.text
    r = await ana.get(f"/fragments/conversation/{cid}?f=whatsapp")
    assert r.status_code == 204 and r.headers["X-Atende-Hidden"] == "1"
    r = await ana.get(f"/fragments/conversation/{cid}?view=item")
    assert r.status_code == 200 and f'id="item-{cid}"' in r.text
    assert (await ana.get("/fragments/conversation/999999")).status_code == 204


async def test_search_counts_what_it_found(harness: Harness, pages: Pages) -> None:
    one = await sms_conversation(harness)
    await sms_conversation(harness, "Oi", to="+5511988887777", reply="Quero cancelar", connector=one["connector"])
    ana = await pages("ana")
    assert count((await ana.get("/board")).text, "new") == 2
    html = (await ana.get("/board?q=paguei")).text
    # The counters know nothing of the search: the column heads count the cards the search found.
    assert (count(html, "new"), count(html, "open"), count(html, "done")) == (1, 0, 0)
    assert 'data-search="1"' in html and "Limpar busca" in html and 'href="/board?f=all"' in html
    assert 'data-search=""' in (await ana.get("/board")).text


async def test_search_count_says_more_when_a_column_has_more_pages(sqlite_harness: Harness,
                                                                    sqlite_pages: Pages) -> None:
    h = sqlite_harness
    c = await h.kolmeya_connector()
    for i in range(27):
        r = await h.post("/api/v1/messages", {"connector_id": c["id"], "to": f"+55119888870{i:02d}", "text": "Boleto"})
        assert r.status_code == 202
    ana = await sqlite_pages("supervisor")
    html = (await ana.get("/board?q=boleto")).text
    assert re.search(r'id="count-done"[^>]*>25\+<', html)
