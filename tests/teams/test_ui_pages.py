"""The workspace's team pages: the presence reminder, the queue view, team and bot settings, the transfer
dialog, tags in the chat header."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from tests.support.harness import Harness
from tests.teams.kit import conv, kolmeya, make_team, online, sms_in
from tests.web.pagekit import PageClient

Pages = Callable[[str], Awaitable[PageClient]]


async def test_presence_reminder_when_offline_and_work_waits(harness: Harness, pages: Pages) -> None:
    h = harness
    c = await h.kolmeya_connector()
    ana = await pages("ana")
    assert 'data-testid="presence-reminder"' not in (await ana.get("/board")).text  # nothing waits
    await sms_in(h, c, "+5511911110001")
    await sms_in(h, c, "+5511911110002")
    board = (await ana.get("/board")).text
    reminder = re.search(r'data-testid="presence-reminder">([^<]+)<', board)
    assert reminder and "2 conversas esperando" in reminder.group(1)
    fragment = await ana.get("/presence")
    assert fragment.status_code == 200 and "2 conversas esperando" in fragment.text
    online_now = await ana.post("/presence", {"presence": "online"})
    assert 'data-presence="online"' in online_now.text and "presence-reminder" not in online_now.text


async def test_queue_page_shows_each_queue_with_its_waits(harness: Harness, pages: Pages) -> None:
    h = harness
    a, b = await kolmeya(h, 1), await kolmeya(h, 2)
    fin = await make_team(h, "Financeiro", ["ana"], [a])
    await make_team(h, "Suporte", ["bruno"], [b])
    first = await sms_in(h, a, "+5511911110001", "boleto")
    second = await sms_in(h, a, "+5511911110002", "fatura")
    await sms_in(h, b, "+5511922220001", "senha")
    html = (await (await pages("ana")).get("/queue")).text
    section = html[html.index(f'data-testid="queue-{fin["id"]}"'):]
    assert "Financeiro" in section and "2 esperando" in section
    assert section.index(f'data-id="{first}"') < section.index(f'data-id="{second}"')  # oldest first
    assert "Suporte" not in html and "senha" not in html
    assert 'class="wait"' in section


async def test_team_settings_for_admins_and_supervisors(harness: Harness, pages: Pages) -> None:
    h = harness
    a = await kolmeya(h, 1)
    admin = await pages("admin")
    r = await admin.post("/settings/teams", {"name": "Cobrança"})
    assert r.status_code == 204 and r.headers["HX-Redirect"].startswith("/settings/teams/")
    team_id = int(r.headers["HX-Redirect"].split("/")[3].split("?")[0])
    page = (await admin.get(f"/settings/teams/{team_id}")).text
    assert 'data-testid="team-form"' in page and "Menor carga" in page
    form = {"name": "Cobrança", "policy": "round_robin", "visibility": "team",
            "member_ids": [str(h.user_ids["ana"]), str(h.user_ids["supervisor"])], "connector_ids": str(a["id"]),
            "hours_on": "1", "hours_mon": "08:00-12:00, 13:00-18:00", "hours_sat": "09:00-13:00",
            "timezone": "America/Sao_Paulo", "holidays": "2026-12-25\n2027-01-01",
            "out_of_hours_message": "Voltamos amanhã.", "release_after_min": "10", "auto_close_after_min": "",
            "closing_message": "", "fallback_agent_id": ""}
    r = await admin.post(f"/settings/teams/{team_id}", form)
    assert r.status_code == 204, r.text
    team = (await h.get(f"/api/v1/teams/{team_id}")).json()
    assert team["policy"] == "round_robin" and team["visibility"] == "team" and team["connector_ids"] == [a["id"]]
    assert team["business_hours"]["weekly"] == {"mon": [["08:00", "12:00"], ["13:00", "18:00"]],
                                                "sat": [["09:00", "13:00"]]}
    assert team["business_hours"]["holidays"] == ["2026-12-25", "2027-01-01"] and team["release_after_s"] == 600
    bad = await admin.post(f"/settings/teams/{team_id}", {**form, "hours_tue": "18:00-08:00"})
    assert bad.status_code == 422 and "deve ser depois" in bad.text
    # The supervisor of the team: members and their capacity, nothing else.
    sup = await pages("supervisor")
    r = await sup.post(f"/settings/teams/{team_id}", {"member_ids": [str(h.user_ids["supervisor"]),
                                                                      str(h.user_ids["bruno"])],
                                                       "capacity_" + str(h.user_ids["supervisor"]): "3",
                                                       "policy": "manual"})
    assert r.status_code == 204, r.text
    team = (await h.get(f"/api/v1/teams/{team_id}")).json()
    assert team["member_ids"] == sorted([h.user_ids["supervisor"], h.user_ids["bruno"]])
    assert team["policy"] == "round_robin"  # not the supervisor's to change
    assert (await h.get("/api/v1/me", who="supervisor")).json()["capacity"] == 3
    other = await make_team(h, "Outra", ["bruno"], [])
    r = await sup.post(f"/settings/teams/{other['id']}", {"member_ids": [str(h.user_ids["supervisor"])]})
    assert r.status_code == 403
    assert (await (await pages("ana")).get("/settings/teams")).status_code == 403


async def test_bot_editor_on_the_connector_page(harness: Harness, pages: Pages) -> None:
    h = harness
    c = await kolmeya(h, 1)
    team = await make_team(h, "Financeiro", ["ana"], [])
    admin = await pages("admin")
    page = (await admin.get(f"/settings/connectors/{c['id']}")).text
    assert 'data-testid="bot-form"' in page and page.count('name="opt_label_') == 9
    form = {"enabled": "1", "greeting": "Olá!", "invalid_reply": "Opção inválida.", "timeout_min": "5",
            "opt_key_0": "1", "opt_label_0": "Financeiro", "opt_team_0": str(team["id"]), "opt_tag_0": "fin",
            "opt_key_1": "2", "opt_label_1": "Endereço", "opt_reply_1": "Rua A, 1."}
    r = await admin.post(f"/settings/connectors/{c['id']}/bot", form)
    assert r.status_code == 204, r.text
    bot = (await h.get(f"/api/v1/connectors/{c['id']}/bot")).json()
    assert bot["enabled"] is True and bot["timeout_s"] == 300
    assert bot["options"] == [{"key": "1", "label": "Financeiro", "team_id": team["id"], "tag": "fin"},
                              {"key": "2", "label": "Endereço", "reply": "Rua A, 1."}]
    page = (await admin.get(f"/settings/connectors/{c['id']}")).text
    assert 'value="Endereço"' in page and f'<option value="{team["id"]}" selected>' in page
    bad = await admin.post(f"/settings/connectors/{c['id']}/bot", {**form, "opt_team_1": "", "opt_reply_1": ""})
    assert bad.status_code == 422 and "team_id ou reply" in bad.text
    r = await (await pages("supervisor")).post(f"/settings/connectors/{c['id']}/bot", form)
    assert r.status_code == 403


async def test_transfer_dialog_to_a_team_with_a_note_and_tags_in_the_header(harness: Harness, pages: Pages) -> None:
    h = harness
    a, b = await kolmeya(h, 1), await kolmeya(h, 2)
    await make_team(h, "Financeiro", ["ana"], [a])
    support = await make_team(h, "Suporte", ["bruno"], [b])
    x = await sms_in(h, a, "+5511911110001")
    ana = await pages("ana")
    await ana.post(f"/conversations/{x}/take")
    header = (await ana.get(f"/conversations/{x}/header")).text
    assert f'value="team:{support["id"]}"' in header and 'name="note"' in header
    r = await ana.post(f"/conversations/{x}/tags", {"name": "VIP"})
    assert r.status_code == 200 and re.search(r'class="tag" data-tag-colour="#64748b">VIP', r.text)
    tag_id = (await conv(h, x))["tags"][0]["id"]
    r = await ana.post(f"/conversations/{x}/tags/{tag_id}/delete")
    assert r.status_code == 200 and (await conv(h, x))["tags"] == []
    r = await ana.post(f"/conversations/{x}/transfer", {"target": f"team:{support['id']}", "note": "é com vocês"})
    assert r.status_code == 200, r.text
    moved = await conv(h, x)
    assert moved["team_id"] == support["id"] and moved["status"] == "new"
    bruno = await pages("bruno")
    await online(h, "bruno")
    await h.drain()
    thread = (await bruno.get(f"/conversations/{x}")).text
    assert "Ana transferiu a conversa para a equipe Suporte" in thread and "é com vocês" in thread
    assert (await ana.post(f"/conversations/{x}/transfer", {"target": "nada"})).status_code == 422
