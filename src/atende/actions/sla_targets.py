"""First-response SLA targets per team (admins set them; the reports measure attainment against them).

A target is "first response within N minutes of business hours": the team's business hours pause the
clock (atende.domain.business_time). Team 0 is the default queue. Setting no target removes it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select

from atende.actions import audit
from atende.actions.errors import Invalid, NotFound
from atende.db.tables import metadata, report_sla_targets
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.reports.filters import NO_TEAM

MAX_MINUTES = 7 * 24 * 60


async def targets(conn: Any) -> dict[int, int]:
    """Every target, in seconds, by team (NO_TEAM: the default queue)."""
    t = report_sla_targets
    return {int(r.team_id): int(r.first_response_s)
            for r in await conn.execute(select(t.c.team_id, t.c.first_response_s))}


async def set_target(tx: Tx, team_id: int | None, minutes: int | None, *, actor_id: int,
                     ip: str | None = None) -> None:
    """Set (or with `minutes` None, remove) a team's first-response target; audited."""
    if minutes is not None and not 1 <= minutes <= MAX_MINUTES:
        raise Invalid(f"a meta de primeira resposta vai de 1 a {MAX_MINUTES} minutos", code="bad_sla_target")
    team = NO_TEAM if team_id is None else team_id
    if team != NO_TEAM:
        teams = metadata.tables.get("teams")
        if teams is None or await tx.conn.scalar(select(teams.c.id).where(teams.c.id == team)) is None:
            raise NotFound("equipe não encontrada", code="team_not_found")
    t = report_sla_targets
    await tx.conn.execute(delete(t).where(t.c.team_id == team))
    if minutes is not None:
        await tx.conn.execute(insert(t).values(team_id=team, first_response_s=minutes * 60, updated_at=utcnow(),
                                               updated_by=actor_id))
    await audit.record(tx, "report.sla_target", actor_id=actor_id, target_type="team", target_id=team_id, ip=ip,
                       detail={"team_id": team_id, "first_response_min": minutes})
