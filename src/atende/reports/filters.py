"""What a report is narrowed to: the query's filters and the viewer's teams, as SQL conditions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from atende.actions.errors import Invalid
from atende.db.tables import attendances, metadata

KNOWN_CHANNELS = ("sms", "whatsapp", "instagram", "messenger", "sandbox")
NO_TEAM = 0  # the default queue (conversations no team serves), as the counters store it


@dataclass(frozen=True, slots=True)
class Filters:
    channel: str | None = None
    connector_id: int | None = None
    team_id: int | None = None
    agent_id: int | None = None
    tag_id: int | None = None
    tag: str | None = None  # as asked (for links and CSV names)
    # The viewer's scope: None = every team (admins); else the teams they see, NO_TEAM included.
    teams: frozenset[int] | None = None

    def query(self) -> dict[str, Any]:
        """The query-string form (without the scope, which is the viewer's, not the link's)."""
        values = {"channel": self.channel, "connector_id": self.connector_id, "team_id": self.team_id,
                  "agent_id": self.agent_id, "tag": self.tag}
        return {k: v for k, v in values.items() if v not in (None, "")}

    # -- conditions ---------------------------------------------------------------------------------

    def _tagged(self, column: Any) -> ColumnElement[bool]:
        tags = metadata.tables["conversation_tags"]
        return column.in_(select(tags.c.conversation_id).where(tags.c.tag_id == self.tag_id))

    def counters(self, t: Any, *, by_author: bool = True) -> ColumnElement[bool]:
        """On report_activity / report_daily (team and agent 0 = none)."""
        conds: list[ColumnElement[bool]] = []
        if self.channel:
            conds.append(t.c.channel == self.channel)
        if self.connector_id is not None:
            conds.append(t.c.connector_id == self.connector_id)
        if self.team_id is not None:
            conds.append(t.c.team_id == self.team_id)
        if self.agent_id is not None and by_author:
            conds.append(t.c.agent_id == self.agent_id)
        if self.teams is not None:
            conds.append(t.c.team_id.in_(sorted(self.teams)))
        if self.tag_id is not None and "conversation_id" in t.c:
            conds.append(self._tagged(t.c.conversation_id))
        return and_(true(), *conds)

    def on_attendances(self) -> ColumnElement[bool]:
        """On attendances: an agent's are those they held, and those they gave the first response of."""
        t = attendances
        conds: list[ColumnElement[bool]] = []
        if self.channel:
            conds.append(t.c.channel == self.channel)
        if self.connector_id is not None:
            conds.append(t.c.connector_id == self.connector_id)
        if self.team_id is not None:
            conds.append(t.c.team_id == self.team_id)
        if self.agent_id is not None:
            conds.append(or_(t.c.assignee_id == self.agent_id, t.c.first_response_by == self.agent_id))
        if self.teams is not None:
            real = sorted(self.teams - {NO_TEAM})
            conds.append(or_(t.c.team_id.in_(real), *([t.c.team_id.is_(None)] if NO_TEAM in self.teams else [])))
        if self.tag_id is not None:
            conds.append(self._tagged(t.c.conversation_id))
        return and_(true(), *conds)


async def parse_filters(conn: AsyncConnection, *, channel: str | None, connector_id: int | None,
                        team_id: int | None, agent_id: int | None, tag: str | None,
                        teams: frozenset[int] | None) -> Filters:
    channel = (channel or "").strip().lower() or None
    if channel is not None and channel not in KNOWN_CHANNELS:
        raise Invalid(f"canal desconhecido: {channel} (use {', '.join(KNOWN_CHANNELS)})", code="bad_channel")
    tag = (tag or "").strip() or None
    tag_id = None
    if tag is not None:
        tag_id = await _tag_id(conn, tag)
    return Filters(channel, connector_id, team_id, agent_id, tag_id, tag, teams)


async def _tag_id(conn: AsyncConnection, tag: str) -> int:
    """A tag by name (any case) or id."""
    tags = metadata.tables.get("tags")
    if tags is None:
        raise Invalid("esta instalação ainda não tem etiquetas", code="bad_tag")
    from sqlalchemy import func

    cond = func.lower(tags.c.name) == tag.lower()
    if tag.isascii() and tag.isdigit() and len(tag) < 19:
        cond = or_(cond, tags.c.id == int(tag))
    found = await conn.scalar(select(tags.c.id).where(cond).limit(1))
    if found is None:
        raise Invalid(f"etiqueta desconhecida: {tag}", code="bad_tag")
    return int(found)
