"""CSAT in the workspace: the settings tab, and the rating on the conversation's contact panel."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from tests.support.harness import Harness
from tests.web.pagekit import PageClient, sms_conversation

Pages = Callable[[str], Awaitable[PageClient]]


async def test_settings_tab_and_rating_on_the_panel(harness: Harness, pages: Pages) -> None:
    h = harness
    one = await sms_conversation(h)
    c, conv = one["connector"], one["conversation"]
    sup = await pages("supervisor")
    page = await sup.get("/settings/csat")
    assert page.status_code == 200 and "Pesquisa de satisfação" in page.text and c["name"] in page.text
    r = await sup.post(f"/settings/csat/{c['id']}", {"enabled": "1", "question": "Nota de 1 a 5?", "window_hours": "6"})
    assert r.status_code == 204 and r.headers["HX-Redirect"] == f"/settings/csat?saved={c['id']}"
    assert (await h.get(f"/api/v1/connectors/{c['id']}/csat")).json()["window_hours"] == 6
    r = await sup.post(f"/settings/csat/{c['id']}", {"enabled": "1", "question": "x", "window_hours": "999"})
    assert r.status_code == 422
    ana = await pages("ana")
    assert (await ana.get("/settings/csat")).status_code == 403
    await h.post(f"/api/v1/conversations/{conv['id']}/assign", {"agent_id": h.user_ids["ana"]}, who="ana")
    await h.post(f"/api/v1/conversations/{conv['id']}/close", who="ana")
    await h.drain()
    assert h.kolmeya.state.sent[-1].text == "Nota de 1 a 5?"
    await h.kolmeya.send_reply(h.kolmeya.state.sent[-1].id, "4", received_at=datetime.now(UTC))
    await h.kolmeya.send_reply(h.kolmeya.state.sent[-1].id, "Rápido e gentil", received_at=datetime.now(UTC))
    panel = (await ana.get(f"/conversations/{conv['id']}")).text
    assert 'data-testid="csat"' in panel and "★★★★☆" in panel and "Rápido e gentil" in panel
    assert "esta conversa" in panel
    assert "★★★★☆" in (await sup.get(f"/contacts/{conv['contact']['id']}")).text
