"""Who sees what on the pages and their fragments: board, columns, counts, inbox, chat, contact."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from tests.support.harness import Harness
from tests.teams.kit import conv, kolmeya, make_team, sms_in
from tests.web.pagekit import PageClient

Pages = Callable[[str], Awaitable[PageClient]]


def cards(html: str) -> set[int]:
    return {int(x) for x in re.findall(r'id="card-(\d+)"', html)}


def items(html: str) -> set[int]:
    return {int(x) for x in re.findall(r'id="item-(\d+)"', html)}


async def test_board_inbox_fragments_and_counts_follow_the_policy(harness: Harness, pages: Pages) -> None:
    h = harness
    a, b = await kolmeya(h, 1), await kolmeya(h, 2)
    team_a = await make_team(h, "Financeiro", ["ana"], [a])
    await make_team(h, "Suporte", ["bruno"], [b])
    x = await sms_in(h, a, "+5511911110001", "segunda via")
    y = await sms_in(h, b, "+5511922220002", "meu CPF")
    ana, admin = await pages("ana"), await pages("admin")

    board = (await ana.get("/board")).text
    assert cards(board) == {x} and "meu CPF" not in board
    assert re.search(r'id="count-new"[^>]*>1<', board)
    assert cards((await admin.get("/board")).text) == {x, y}
    # Board filters per team: the chips list only her queues; another team's filter shows nothing.
    assert f'team={team_a["id"]}' in board and "Suporte" not in board.split('class="filters')[1].split("</nav>")[0]
    assert cards((await ana.get(f"/board?team={team_a['id']}")).text) == {x}
    assert cards((await admin.get(f"/board?team={team_a['id']}")).text) == {x}
    assert cards((await ana.get("/board/column/new?f=all")).text) == {x}
    inbox = (await ana.get("/inbox")).text
    assert items(inbox) == {x}
    assert items((await ana.get("/inbox/list?f=all")).text) == {x}
    # The inbox has the board's team chips: only her teams for her, every team for the admin.
    chips = inbox.split('data-testid="inbox-team-filters"')[1].split("</nav>")[0]
    assert f'team={team_a["id"]}' in chips and "Financeiro" in chips and "Suporte" not in chips
    admin_inbox = (await admin.get(f"/inbox?team={team_a['id']}")).text
    assert items(admin_inbox) == {x} and "Suporte" in admin_inbox.split('data-testid="inbox-team-filters"')[1]
    assert 'name="team" value="' + str(team_a["id"]) + '"' in admin_inbox  # a search keeps the team
    # Search finds only what she may open; the admin finds both.
    assert f'href="/conversations/{y}' not in (await ana.get("/search?q=CPF")).text
    assert f'href="/conversations/{x}' in (await ana.get("/search?q=segunda")).text
    assert f'href="/conversations/{y}' in (await admin.get("/search?q=CPF")).text
    # Fragments (live updates): another team's card is "hidden", never rendered.
    r = await ana.get(f"/fragments/conversation/{y}")
    assert r.status_code == 204 and r.headers["X-Atende-Hidden"] == "1" and not r.text
    assert (await ana.get(f"/fragments/conversation/{x}")).status_code == 200
    # The chat and its pieces: 404.
    for path in (f"/conversations/{y}", f"/conversations/{y}/pane", f"/conversations/{y}/header",
                 f"/conversations/{y}/thread"):
        r = await ana.get(path)
        assert r.status_code == 404 and "meu CPF" not in r.text, path
    y_conv = await conv(h, y)
    contact = y_conv["contact"]["id"]
    for path in (f"/contacts/{contact}", f"/contacts/{contact}/panel", f"/contacts/{contact}/timeline"):
        assert (await ana.get(path)).status_code == 404, path
    message_id = (await h.get(f"/api/v1/conversations/{y}/messages")).json()["items"][0]["id"]
    assert (await ana.get(f"/messages/{message_id}/bubble")).status_code == 404
    # And the writes.
    for path, data in ((f"/conversations/{y}/send", {"text": "oi", "mode": "reply"}),
                       (f"/conversations/{y}/send", {"text": "oi", "mode": "note"}),
                       (f"/conversations/{y}/take", None), (f"/conversations/{y}/close", None),
                       (f"/conversations/{y}/read", None), (f"/messages/{message_id}/retry", None),
                       (f"/contacts/{contact}/name", {"name": "Outra"}), (f"/contacts/{contact}/optout",
                                                                          {"opted_out": "1"})):
        r = await ana.post(path, data)
        assert r.status_code == 404, (path, r.status_code, r.text)
    assert (await ana.post("/board/move", {"conversation_id": y, "to": "open"})).status_code == 404
    assert (await conv(h, y))["status"] == "new"


async def test_novo_lists_the_longest_waiting_first(harness: Harness, pages: Pages) -> None:
    h = harness
    c = await h.kolmeya_connector()
    first = await sms_in(h, c, "+5511955550001", "primeiro")
    second = await sms_in(h, c, "+5511955550002", "segundo")
    # Follow-ups: the waiting clock does not restart (the activity order does change).
    await sms_in(h, c, "+5511955550001", "primeiro, de novo")
    await sms_in(h, c, "+5511955550002", "segundo, de novo")
    board = (await (await pages("ana")).get("/board")).text
    new = board[board.index('id="column-new"'):board.index('id="column-open"')]
    assert [int(i) for i in re.findall(r'id="card-(\d+)"', new)] == [first, second]
    assert 'data-order="waiting"' in board
    api = (await h.get("/api/v1/conversations", params={"status": "new", "order": "waiting"}, who="ana")).json()
    assert [i["id"] for i in api["items"]] == [first, second]
    newest = (await h.get("/api/v1/conversations", params={"status": "new"}, who="ana")).json()
    assert [i["id"] for i in newest["items"]] == [second, first]  # the API's default: newest activity first


async def test_colleague_of_a_team_wide_team_reads_but_cannot_answer(harness: Harness, pages: Pages) -> None:
    h = harness
    a = await kolmeya(h, 1)
    await make_team(h, "Cobrança", ["ana", "bruno"], [a], visibility="team")
    x = await sms_in(h, a, "+5511911110001")
    ana, bruno = await pages("ana"), await pages("bruno")
    assert (await ana.post(f"/conversations/{x}/take")).status_code == 200
    r = await bruno.post(f"/conversations/{x}/send", {"text": "oi", "mode": "reply"})
    assert r.status_code == 403 and "outro agente" in r.text
    r = await bruno.post("/board/move", {"conversation_id": x, "to": "done"})
    assert r.status_code == 403 and "outro agente" in r.text
    r = await bruno.post(f"/conversations/{x}/take")
    assert r.status_code == 409 and "já está em atendimento por Ana" in r.text
    header = (await bruno.get(f"/conversations/{x}/header")).text
    assert 'data-may-handle="0"' in header and "disabled" in header
    assert cards((await bruno.get("/board")).text) == {x}
