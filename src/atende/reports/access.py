"""Who sees the dashboard and the reports, and of which teams.

Supervisors and admins; agents get 403. Admins see every team; supervisors their own teams and the
default queue (conversations no team serves), the same reach `auth.policy` gives them over
conversations. Until teams exist (issue 8) there is only the default queue, so both see everything.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from atende.actions.errors import Forbidden
from atende.db.tables import metadata
from atende.reports.filters import NO_TEAM
from atende.web.auth import CurrentUser

DENIED = "o painel e os relatórios são para supervisores e administradores"


async def report_scope(conn: AsyncConnection, user: CurrentUser) -> frozenset[int] | None:
    """None: every team; else the team ids (NO_TEAM: the default queue) the user's reports cover."""
    if not user.at_least("supervisor"):
        raise Forbidden(DENIED)
    members = metadata.tables.get("team_members")
    if user.at_least("admin") or members is None:
        return None
    rows = await conn.execute(select(members.c.team_id).where(members.c.user_id == user.id))
    return frozenset({NO_TEAM, *(int(r.team_id) for r in rows)})


def require_team(scope: frozenset[int] | None, team_id: int | None) -> None:
    """A team filter outside the viewer's teams is refused, not silently emptied."""
    if team_id is not None and scope is not None and team_id not in scope:
        raise Forbidden("você só vê os relatórios das suas equipes")
