"""Who may read the dashboard and the reports (agents: 403), bad input (a clear 422, never a 500), and
exports in the audit log."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from atende.db.tables import audit_log
from tests.support.harness import Harness

API = ["/api/v1/dashboard", "/api/v1/reports/summary", "/api/v1/reports/conversations.csv",
       "/api/v1/reports/messages.csv", "/api/v1/reports/agents.csv"]


@pytest.mark.parametrize("path", API)
async def test_agents_are_refused_supervisors_and_admins_read(harness: Harness, path: str) -> None:
    r = await harness.get(path, "ana")
    assert r.status_code == 403, r.text
    assert r.json()["detail"] == "o painel e os relatórios são para supervisores e administradores"
    assert (await harness.client.get(path)).status_code == 401
    for who in ("supervisor", "admin"):
        assert (await harness.get(path, who)).status_code == 200


@pytest.mark.parametrize(("params", "detail"), [
    ({"from": "2025-13-01"}, "from deve ser uma data AAAA-MM-DD"),
    ({"to": "10/03/2025"}, "to deve ser uma data AAAA-MM-DD"),
    ({"from": "2025-03-11", "to": "2025-03-10"}, "from deve ser anterior ou igual a to"),
    ({"from": "2024-01-01", "to": "2025-03-10"}, "o período pode ter no máximo 366 dias"),
    ({"tz": "Mars/Olympus"}, "fuso horário desconhecido: Mars/Olympus"),
    ({"tz": "Asia/Kolkata"},
     "o fuso Asia/Kolkata não tem deslocamento de horas inteiras: os relatórios contam por hora"),
    ({"channel": "fax"}, "canal desconhecido: fax (use sms, whatsapp, instagram, messenger, sandbox)"),
])
async def test_bad_report_parameters_are_422_in_portuguese(harness: Harness, params: dict[str, str],
                                                           detail: str) -> None:
    for path in API[1:]:
        r = await harness.get(path, "supervisor", params=params)
        assert r.status_code == 422, (path, r.text)
        assert r.json()["detail"] == detail


async def test_malformed_ids_and_language_are_422(harness: Harness) -> None:
    for params in ({"connector_id": "abc"}, {"agent_id": "-1"}, {"team_id": "9" * 30}, {"lang": "fr"}):
        r = await harness.get("/api/v1/reports/conversations.csv", "supervisor", params=params)
        assert r.status_code == 422, (params, r.text)
    assert (await harness.get("/api/v1/reports/other.csv", "supervisor")).status_code == 422


async def test_exports_are_audited_summary_is_not(harness: Harness) -> None:
    await harness.get("/api/v1/reports/summary", "supervisor", params={"from": "2025-03-01", "to": "2025-03-31"})
    r = await harness.get("/api/v1/reports/messages.csv", "supervisor",
                          params={"from": "2025-03-01", "to": "2025-03-31", "channel": "sms"})
    assert r.status_code == 200
    async with harness.rt.read() as conn:
        rows = list(await conn.execute(select(audit_log).where(audit_log.c.action.like("report.%"))))
    assert len(rows) == 1
    assert rows[0].action == "report.export" and rows[0].actor_id == harness.user_ids["supervisor"]
    assert rows[0].detail == {"kind": "messages", "from": "2025-03-01", "to": "2025-03-31",
                              "tz": "America/Sao_Paulo", "channel": "sms"}
