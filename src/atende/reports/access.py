"""Who sees the dashboard and the reports, and of which teams: asked of `auth.policy`, the one
authorization layer.

Supervisors and admins; agents get 403. Admins see every team; supervisors their own teams and the
default queue (conversations no team serves), the reach `auth.policy` gives them over conversations.
The board's "Hoje" line is everyone's, over the queues they serve (`policy.queue_scope`).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from atende.actions.errors import Forbidden
from atende.auth import policy
from atende.reports.filters import NO_TEAM
from atende.web.auth import CurrentUser

DENIED = "o painel e os relatórios são para supervisores e administradores"


def _teams(queues: tuple[int | None, ...] | None) -> frozenset[int] | None:
    return None if queues is None else frozenset(NO_TEAM if t is None else t for t in queues)


async def report_scope(conn: AsyncConnection, user: CurrentUser) -> frozenset[int] | None:
    """None: every team; else the team ids (NO_TEAM: the default queue) the user's reports cover."""
    viewer = await policy.load_viewer(conn, user.id, user.role)
    policy.require_role(viewer, "supervisor", DENIED)
    return _teams(policy.queue_scope(viewer))


async def line_scope(conn: AsyncConnection, user: CurrentUser) -> frozenset[int] | None:
    """The board's line: anyone signed in, over the queues they serve (admins: all)."""
    return _teams(policy.queue_scope(await policy.load_viewer(conn, user.id, user.role)))


def require_team(scope: frozenset[int] | None, team_id: int | None) -> None:
    """A team filter outside the viewer's teams is refused, not silently emptied."""
    if team_id is not None and scope is not None and team_id not in scope:
        raise Forbidden("você só vê os relatórios das suas equipes")
