"""The workspace's search box: results with marked snippets that jump to the message in its thread."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from tests.integration.test_search import sms_in
from tests.support.harness import Harness
from tests.web.pagekit import PageClient


async def test_search_page_lists_hits_and_jumps_into_the_thread(
        sqlite_harness: Harness, sqlite_pages: Callable[[str], Awaitable[PageClient]]) -> None:
    h = sqlite_harness
    c = await h.kolmeya_connector()
    await sms_in(h, c, "quero a segunda via do boleto <b>já</b>")
    for i in range(60):  # the hit ends up far from the newest messages
        await sms_in(h, c, f"mensagem {i}", ref=f"later-{i}")
    ana = await sqlite_pages("ana")

    board = await ana.get("/board")
    assert 'action="/search"' in board.text and 'data-testid="search"' in board.text  # the box is everywhere

    page = await ana.get("/search", params={"q": "BOLETO ja"})
    assert page.status_code == 200
    assert "<mark>boleto</mark>" in page.text and "&lt;b&gt;<mark>já</mark>&lt;/b&gt;" in page.text
    [href] = re.findall(r'href="(/conversations/\d+\?m=\d+#msg-\d+)"', page.text)
    message_id = href.rsplit("-", 1)[1]

    thread = await ana.get(href.split("#")[0])
    assert thread.status_code == 200
    assert f'id="msg-{message_id}"' in thread.text  # the hit is in the page, 60 messages back
    assert "mensagem 59" in thread.text  # and the thread runs on to the newest message

    assert "Nenhum resultado." in (await ana.get("/search", params={"q": "pix"})).text
    assert "Digite ao menos uma palavra" in (await ana.get("/search", params={"q": "!!!"})).text
    assert (await ana.get("/search", params={"q": "boleto", "cursor": "@@"})).status_code == 200


async def test_more_results_page_through_with_the_cursor(
        sqlite_harness: Harness, sqlite_pages: Callable[[str], Awaitable[PageClient]]) -> None:
    h = sqlite_harness
    c = await h.kolmeya_connector()
    for i in range(35):
        await sms_in(h, c, f"protocolo {i} aberto", ref=f"p-{i}")
    ana = await sqlite_pages("ana")
    first = await ana.get("/search", params={"q": "protocolo"})
    assert first.text.count('data-testid="search-hit"') == 30
    [more] = re.findall(r'hx-get="(/search\?q=protocolo&amp;cursor=[^"]+)"', first.text)
    rest = await ana.get(more.replace("&amp;", "&"), headers={"HX-Request": "true"})
    assert rest.text.count('data-testid="search-hit"') == 5 and "<html" not in rest.text
