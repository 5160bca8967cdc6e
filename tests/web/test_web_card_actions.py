"""A closed conversation offers Reabrir only, on its card and in the chat header."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from tests.support.harness import Harness
from tests.web.pagekit import PageClient, sms_conversation

Pages = Callable[[str], Awaitable[PageClient]]


def buttons(html: str, start: str, end: str) -> list[str]:
    block = html[html.index(start):]
    block = block[:block.index(end)]
    return [re.sub(r"<[^>]+>", "", b).strip() for b in re.findall(r"<button[^>]*>(.*?)</button>", block, re.S)
            if "toggle-contact" not in b and "sr-only" not in b]


async def test_closed_conversation_offers_reopen_only(harness: Harness, pages: Pages) -> None:
    conv = (await sms_conversation(harness))["conversation"]
    ana = await pages("ana")
    card = (await ana.get(f"/fragments/conversation/{conv['id']}?view=card")).text
    assert buttons(card, '<div class="card-actions">', "</div>") == ["Assumir", "Concluir"]
    assert 'data-unread="1"' in card

    r = await harness.post(f"/api/v1/conversations/{conv['id']}/close", who="ana")
    assert r.status_code == 200 and r.json()["status"] == "done"
    card = (await ana.get(f"/fragments/conversation/{conv['id']}?view=card")).text
    assert buttons(card, '<div class="card-actions">', "</div>") == ["Reabrir"]
    header = (await ana.get(f"/conversations/{conv['id']}/header")).text
    assert buttons(header, '<div class="actions">', "</header>") == ["Reabrir"]
    assert "Transferir" not in header and "Assumir" not in header

    r = await ana.post(f"/conversations/{conv['id']}/reopen")
    assert r.status_code == 200
    assert buttons(r.text, '<div class="actions">', "</header>") == ["Assumir", "Transferir", "Concluir"]
    r = await ana.post(f"/conversations/{conv['id']}/take")
    assert buttons(r.text, '<div class="actions">', "</header>") == ["Transferir", "Concluir"]
    card = (await ana.get(f"/fragments/conversation/{conv['id']}?view=card")).text
    assert buttons(card, '<div class="card-actions">', "</div>") == ["Concluir", "Devolver à fila"]
