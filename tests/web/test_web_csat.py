"""CSAT in the workspace: the settings tab, and the rating on the conversation's contact panel."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from tests.support.harness import Harness
from tests.teams.kit import make_team
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


async def test_team_surveys_are_set_by_the_team_supervisor_only(harness: Harness, pages: Pages) -> None:
    h = harness
    own = await h.post("/api/v1/teams", {"name": "Cobrança", "member_ids": [h.user_ids["supervisor"]]})
    other = await h.post("/api/v1/teams", {"name": "Vendas", "member_ids": [h.user_ids["bruno"]]})
    assert own.status_code == 201 and other.status_code == 201, (own.text, other.text)
    own_id, other_id = own.json()["id"], other.json()["id"]
    sup = await pages("supervisor")
    page = (await sup.get("/settings/csat")).text
    assert f'data-testid="csat-team-{own_id}"' in page and f'data-testid="csat-team-{other_id}"' not in page
    r = await sup.post(f"/settings/csat/team/{own_id}", {"enabled": "1", "question": "Como foi?", "window_hours": "3"})
    assert r.status_code == 204 and r.headers["HX-Redirect"] == f"/settings/csat?saved_team={own_id}"
    assert (await h.get(f"/api/v1/teams/{own_id}/csat")).json() == {
        "team_id": own_id, "enabled": True, "question": "Como foi?", "window_hours": 3}
    # Another team's survey: 403 for a supervisor outside it, 404 for a team that does not exist.
    assert (await sup.post(f"/settings/csat/team/{other_id}", {"enabled": "1"})).status_code == 403
    assert (await h.get(f"/api/v1/teams/{other_id}/csat")).json()["enabled"] is False
    assert (await sup.post("/settings/csat/team/999999", {"enabled": "1"})).status_code == 404
    assert (await (await pages("ana")).post(f"/settings/csat/team/{own_id}", {"enabled": ""})).status_code == 403
    admin = await pages("admin")
    assert f'data-testid="csat-team-{other_id}"' in (await admin.get("/settings/csat")).text
    r = await admin.post(f"/settings/csat/team/{other_id}", {"enabled": "", "window_hours": "24"})
    assert r.status_code == 204


async def test_a_supervisor_sets_surveys_only_on_connectors_their_teams_serve(harness: Harness, pages: Pages) -> None:
    h = harness
    free = await h.kolmeya_connector()
    theirs = await h.whatsapp_connector()
    await make_team(h, "Vendas", ["bruno"], [theirs])  # another team's connector
    body = {"enabled": True}
    assert (await h.client.put(f"/api/v1/connectors/{free['id']}/csat", json=body,
                               headers=h.auth("supervisor"))).status_code == 200
    refused = await h.client.put(f"/api/v1/connectors/{theirs['id']}/csat", json=body, headers=h.auth("supervisor"))
    assert refused.status_code == 403 and refused.json()["detail"] == "este conector atende outra equipe"
    assert (await h.get(f"/api/v1/connectors/{theirs['id']}/csat")).json()["enabled"] is False
    assert (await h.client.put(f"/api/v1/connectors/{theirs['id']}/csat", json=body,
                               headers=h.auth("admin"))).status_code == 200
    sup = await pages("supervisor")
    page = (await sup.get("/settings/csat")).text
    assert f'action="/settings/csat/{free["id"]}"' in page and f'action="/settings/csat/{theirs["id"]}"' not in page
    assert (await sup.post(f"/settings/csat/{theirs['id']}", {"enabled": ""})).status_code == 403
