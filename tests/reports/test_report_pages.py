"""The dashboard and reports pages (supervisors), the board's "Hoje" line (everyone), as HTML."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from tests.reports.kit import Scene, local
from tests.reports.test_fixture_day_sao_paulo import MONDAY, play_monday
from tests.support.harness import Harness
from tests.web.pagekit import PageClient

Pages = Callable[[str], Awaitable[PageClient]]


def text_of(html: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</', html, re.S)
    assert match, f"no {testid}"
    return re.sub(r"\s+", " ", match.group(1)).strip()


async def test_agents_get_403_pages_supervisors_see_them(harness: Harness, pages: Pages) -> None:
    ana, sup = await pages("ana"), await pages("supervisor")
    for path in ("/dashboard", "/dashboard/live", "/reports"):
        r = await ana.get(path)
        assert r.status_code == 403, path
        assert "supervisores e administradores" in r.text
        assert (await sup.get(path)).status_code == 200, path
    board = (await ana.get("/board")).text
    assert 'href="/dashboard"' not in board and 'href="/reports"' not in board
    assert 'href="/dashboard"' in (await sup.get("/board")).text
    assert (await ana.get("/board/today")).status_code == 200


async def test_board_line_and_dashboard_show_today(harness: Harness, pages: Pages) -> None:
    await play_monday(harness)  # the clock stays at Tuesday 12:00 São Paulo
    ana = await pages("ana")
    line = (await ana.get("/board")).text
    assert text_of(line, "today-total") == "1" and text_of(line, "today-sms") == "0"
    assert text_of(line, "today-whatsapp") == "1"
    assert re.search(r"Hoje:\s*<strong[^>]*>1</strong>\s*conversa ativa", line)
    sup = await pages("supervisor")
    html = (await sup.get("/dashboard")).text
    assert text_of(html, "kpi-active") == "1" and text_of(html, "kpi-waiting") == "1"
    assert text_of(html, "kpi-longest") == "25 h"  # S2 waits since Monday 11:00
    assert text_of(html, "kpi-first-response") == "15 min"  # W2's 900 s, answered on Tuesday
    assert "R$ 0,48" in html  # March's SMS so far
    assert '<script type="module" src="/static/js/dashboard.js">' in html
    live = (await sup.get("/dashboard/live")).text
    assert "<html" not in live and 'data-testid="kpi-active"' in live

    # The customer writes again: the line follows (the page's script fetches this fragment).
    s = Scene(harness, {"id": 1, "webhook_url": (await harness.get("/api/v1/connectors/1")).json()["webhook_url"]})
    await s.sms_in("+5548991910001", "Bom dia de novo", local("2025-03-11 12:30:00"))
    fragment = (await ana.get("/board/today")).text
    assert text_of(fragment, "today-total") == "2" and text_of(fragment, "today-sms") == "1"
    assert "conversas ativas" in fragment


async def test_reports_page_figures_charts_tables_and_definitions(harness: Harness, pages: Pages) -> None:
    await play_monday(harness)
    sup = await pages("supervisor")
    html = (await sup.get("/reports", params=MONDAY)).text
    assert text_of(html, "r-opened") == "5" and text_of(html, "r-active") == "5"
    assert text_of(html, "r-in") == "6" and text_of(html, "r-out") == "7"
    assert text_of(html, "r-fr-median") == "4 min" and text_of(html, "r-res-median") == "30 min"
    assert text_of(html, "r-sms-cost") == "R$ 0,48"
    assert html.count('<svg class="chart"') == 4 and html.count('role="img"') >= 4
    for table in ("chart-volume-table", "chart-heatmap-table", "chart-responses-table", "chart-cost-table",
                  "by-channel", "by-agent", "by-team"):
        assert f'data-testid="{table}"' in html, table
    # The definitions, as the issue states them.
    for sentence in (
        "Primeira resposta é a primeira mensagem de um agente humano depois da primeira mensagem do cliente ainda "
        "sem resposta; respostas do bot, respostas automáticas e modelos enviados por campanhas não contam.",
        "O horário de atendimento pausa o relógio do SLA",
        "Uma conversa reaberta começa um novo atendimento.",
        "Os custos contam só as mensagens que o provedor aceitou.",
        "método do posto mais próximo",
    ):
        assert sentence in html
    assert "/api/v1/reports/conversations.csv?from=2025-03-10&amp;to=2025-03-10&amp;tz=America/Sao_Paulo" in html
    # Monday's heatmap: customers wrote at 09h (×2), 10h, 11h, 15h and 23h São Paulo time.
    heat = re.search(r'data-testid="chart-heatmap-table".*?</table>', html, re.S)
    assert heat is not None
    monday_row = re.search(r"<th scope=\"row\">Seg</th>(.*?)</tr>", heat.group(0), re.S)
    assert monday_row is not None
    cells = [int(v) for v in re.findall(r'<td class="num">(\d+)</td>', monday_row.group(1))]
    assert cells[9] == 2 and cells[10] == 1 and cells[11] == 1 and cells[15] == 1 and cells[23] == 1
    assert sum(cells) == 6

    r = await sup.get("/reports", params={"tz": "Asia/Kolkata"})
    assert r.status_code == 422 and 'data-testid="report-error"' in r.text and "horas inteiras" in r.text
    en = await pages("admin")
    await en.post("/preferences/language", {"language": "en"})
    assert "How we count" in (await en.get("/reports", params=MONDAY)).text


async def test_admins_set_sla_targets_from_the_reports_page(harness: Harness, pages: Pages) -> None:
    await play_monday(harness)
    admin, sup = await pages("admin"), await pages("supervisor")
    assert 'data-testid="sla-form"' in (await admin.get("/reports", params=MONDAY)).text
    assert 'data-testid="sla-form"' not in (await sup.get("/reports", params=MONDAY)).text
    assert (await sup.post("/reports/sla-targets", {"team_id": "0", "minutes": "5"})).status_code == 403
    assert (await admin.post("/reports/sla-targets", {"team_id": "0", "minutes": "abc"})).status_code == 422
    r = await admin.post("/reports/sla-targets", {"team_id": "0", "minutes": "0"})
    assert r.status_code == 422 and "de 1 a 10080 minutos" in r.text
    r = await admin.post("/reports/sla-targets", {"team_id": "0", "minutes": "5"})
    assert r.status_code == 204 and r.headers["hx-redirect"] == "/reports#r-teams"  # the client speaks htmx
    # 5 min against Monday: met S1#1 (240 s) and W1#1 (60 s); late W1#2, W2#1 and S2#1 (unanswered): 40 %.
    html = (await sup.get("/reports", params=MONDAY)).text
    assert text_of(html, "r-sla") == "40,0 %"
    assert "Sem equipe (5 min)" in (await admin.get("/reports", params=MONDAY)).text
