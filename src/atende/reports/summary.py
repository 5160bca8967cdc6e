"""GET /api/v1/reports/summary: a period's figures, whole and per channel, agent and team.

Two sources, both kept by the actions (never a scan of messages):
- `report_activity` (hourly): messages, SMS and active conversations, each counted in the period of
  its own moment;
- `attendances` (one row per new→open→done cycle): an attendance belongs to the day it started, and
  brings its closing, first response, resolution and SLA with it (the same rows as conversations.csv).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from atende.actions.rollups import parse_hours
from atende.actions.sla_targets import targets as sla_targets
from atende.db.tables import attendances, metadata, report_activity, users
from atende.db.types import utcnow
from atende.domain.business_time import Hours, open_seconds
from atende.reports.filters import NO_TEAM, Filters
from atende.reports.period import Period
from atende.reports.stats import Durations, Ratings

ALWAYS_CHANNELS = ("sms", "whatsapp")
_ACTIVITY_SUMS = ("messages_in", "messages_out", "messages_agent", "sms_sent", "sms_segments", "sms_cost",
                  "sms_delivered", "sms_failed")


def money(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01")), "f")


def rate(part: int, whole: int) -> float | None:
    """A percentage with one decimal (None when there is nothing to divide)."""
    return None if whole == 0 else round(100 * part / whole, 1)


@dataclass
class Sla:
    target_s: int | None = None
    met: int = 0
    breached: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"target_s": self.target_s, "met": self.met, "breached": self.breached,
                "attainment_pct": rate(self.met, self.met + self.breached)}

    def add(self, other: Sla) -> None:
        self.met += other.met
        self.breached += other.breached


@dataclass
class Block:
    """The figures of one slice (everything, a channel, a team, an agent)."""

    opened: int = 0
    closed: int = 0
    reopened: int = 0
    active: int = 0
    messages_in: int = 0
    messages_out: int = 0
    messages_agent: int = 0
    sms_sent: int = 0
    sms_segments: int = 0
    sms_cost: Decimal = Decimal(0)
    sms_delivered: int = 0
    sms_failed: int = 0
    first_response: Durations = field(default_factory=Durations)
    resolution: Durations = field(default_factory=Durations)
    sla: Sla = field(default_factory=Sla)
    csat: Ratings = field(default_factory=Ratings)

    def add_sums(self, row: Any) -> None:
        self.messages_in += int(row.messages_in or 0)
        self.messages_out += int(row.messages_out or 0)
        self.messages_agent += int(row.messages_agent or 0)
        self.sms_sent += int(row.sms_sent or 0)
        self.sms_segments += int(row.sms_segments or 0)
        self.sms_cost += row.sms_cost or Decimal(0)
        self.sms_delivered += int(row.sms_delivered or 0)
        self.sms_failed += int(row.sms_failed or 0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "conversations": {"opened": self.opened, "closed": self.closed, "reopened": self.reopened,
                              "active": self.active},
            "messages": {"in": self.messages_in, "out": self.messages_out, "out_by_agents": self.messages_agent},
            "first_response_s": self.first_response.summary(),
            "resolution_s": self.resolution.summary(),
            "sms": {"messages": self.sms_sent, "segments": self.sms_segments, "cost": money(self.sms_cost),
                    "delivered": self.sms_delivered, "failed": self.sms_failed,
                    "delivery_rate": rate(self.sms_delivered, self.sms_sent)},
            "csat": self.csat.summary(),
        }


@dataclass
class TeamRules:
    """What the SLA needs of each team: a first-response target and business hours."""

    targets: dict[int, int] = field(default_factory=dict)
    hours: dict[int, Hours | None] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)


async def team_rules(conn: AsyncConnection, zone: str | None = None) -> TeamRules:
    """Every team's name, SLA target and hours (none before teams exist)."""
    teams = metadata.tables.get("teams")
    rules = TeamRules(targets=await sla_targets(conn))
    if teams is None:
        return rules
    zone = zone or "America/Sao_Paulo"  # only for hours naming no zone (teams stores them with one)
    for row in await conn.execute(select(teams)):
        rules.names[int(row.id)] = str(row.name)
        rules.hours[int(row.id)] = parse_hours(getattr(row, "business_hours", None), zone)
    return rules


def sla_outcome(row: Any, target: int, hours: Hours | None, now: datetime) -> bool | None:
    """True: answered within the target (business seconds); False: answered late, or still waiting
    past it; None: still waiting within it, or no customer message to answer."""
    if row.customer_at is None:
        return None
    if row.first_response_at is not None:
        waited = row.first_response_business_s
        if waited is None:
            waited = open_seconds(hours, row.customer_at, row.first_response_at)
        return bool(waited <= target)
    until = row.closed_at or now
    return False if open_seconds(hours, row.customer_at, until) > target else None


_COHORT_COLS = (attendances.c.id, attendances.c.channel, attendances.c.team_id, attendances.c.assignee_id,
                attendances.c.first_response_by, attendances.c.reopened, attendances.c.started_at,
                attendances.c.customer_at, attendances.c.first_response_at, attendances.c.first_response_business_s,
                attendances.c.closed_at, attendances.c.csat_rating)


def cohort(period: Period, flt: Filters) -> Any:
    """The attendances that started in the period (the rows of conversations.csv)."""
    return select(*_COHORT_COLS).where(attendances.c.started_at >= period.start,
                                       attendances.c.started_at < period.end, flt.on_attendances())


def first_response_s(row: Any) -> int | None:
    if row.first_response_at is None or row.customer_at is None:
        return None
    return max(0, int((row.first_response_at - row.customer_at).total_seconds()))


def business_wait(row: Any) -> int | None:
    """The first response's wait counting only the team's business hours (as stored when it was given)."""
    if row.first_response_at is None or row.customer_at is None:
        return None
    return None if row.first_response_business_s is None else int(row.first_response_business_s)


def resolution_s(row: Any) -> int | None:
    if row.closed_at is None:
        return None
    return max(0, int((row.closed_at - row.started_at).total_seconds()))


class Summary:
    def __init__(self, flt: Filters, rules: TeamRules) -> None:
        self.flt = flt
        self.rules = rules
        self.total = Block()
        self.channels: dict[str, Block] = defaultdict(Block)
        self.teams: dict[int, Block] = defaultdict(Block)
        self.agents: dict[int, Block] = defaultdict(Block)
        for channel in ALWAYS_CHANNELS:
            self.channels[channel] = Block()

    def slices(self, channel: str | None, team_id: int | None) -> Iterable[Block]:
        yield self.total
        if channel:
            yield self.channels[channel]
        yield self.teams[team_id or NO_TEAM]

    def add_attendance(self, row: Any, now: datetime) -> None:
        agent = self.flt.agent_id
        held = agent is None or row.assignee_id == agent
        answered = agent is None or row.first_response_by == agent
        fr, res = first_response_s(row), resolution_s(row)
        team = row.team_id or NO_TEAM
        target = self.rules.targets.get(team)
        outcome = None if target is None else sla_outcome(row, target, self.rules.hours.get(team), now)
        for block in self.slices(row.channel, row.team_id):
            if held:
                _count_held(block, row, res, outcome)
            if answered and fr is not None:
                block.first_response.add(fr)
        if row.assignee_id is not None:
            _count_held(self.agents[int(row.assignee_id)], row, res, outcome)
        if row.first_response_by is not None and fr is not None:
            self.agents[int(row.first_response_by)].first_response.add(fr)


def _count_held(block: Block, row: Any, res: int | None, outcome: bool | None) -> None:
    block.opened += 1
    block.reopened += bool(row.reopened)
    if row.closed_at is not None:
        block.closed += 1
    if res is not None:
        block.resolution.add(res)
    if outcome is True:
        block.sla.met += 1
    elif outcome is False:
        block.sla.breached += 1
    if row.csat_rating is not None:  # the survey judges the attendance, so the agent who held it
        block.csat.add(int(row.csat_rating))


async def _activity(conn: AsyncConnection, period: Period, flt: Filters, s: Summary) -> None:
    where = (report_activity.c.hour >= period.start, report_activity.c.hour < period.end,
             flt.counters(report_activity))
    t = report_activity
    sums = select(t.c.channel, t.c.team_id, t.c.agent_id,
                  *(func.sum(t.c[name]).label(name) for name in _ACTIVITY_SUMS)).where(*where) \
        .group_by(t.c.channel, t.c.team_id, t.c.agent_id)
    for row in await conn.execute(sums):
        for block in s.slices(row.channel, row.team_id):
            block.add_sums(row)
        if row.agent_id:
            s.agents[int(row.agent_id)].messages_agent += int(row.messages_agent or 0)
    s.total.active = int(await conn.scalar(select(func.count(distinct(t.c.conversation_id))).where(*where)) or 0)
    by = select(t.c.channel, func.count(distinct(t.c.conversation_id))).where(*where).group_by(t.c.channel)
    for channel, n in await conn.execute(by):
        s.channels[channel].active = int(n)
    by = select(t.c.team_id, func.count(distinct(t.c.conversation_id))).where(*where).group_by(t.c.team_id)
    for team, n in await conn.execute(by):
        s.teams[int(team)].active = int(n)
    by = select(t.c.agent_id, func.count(distinct(t.c.conversation_id))).where(*where, t.c.agent_id != 0) \
        .group_by(t.c.agent_id)
    for agent, n in await conn.execute(by):
        s.agents[int(agent)].active = int(n)


async def compute(conn: AsyncConnection, period: Period, flt: Filters) -> Summary:
    rules = await team_rules(conn)
    s = Summary(flt, rules)
    await _activity(conn, period, flt, s)
    now = utcnow()
    result = await conn.stream(cohort(period, flt))
    async for rows in result.partitions(2000):  # one hop to the driver per batch, not per row
        for row in rows:
            s.add_attendance(row, now)
    return s


async def _names(conn: AsyncConnection, ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await conn.execute(select(users.c.id, users.c.name).where(users.c.id.in_(wanted)))
    return {int(r.id): str(r.name) for r in rows}


async def summary(conn: AsyncConnection, period: Period, flt: Filters) -> dict[str, Any]:
    return await as_dict(conn, period, flt, await compute(conn, period, flt))


async def as_dict(conn: AsyncConnection, period: Period, flt: Filters, s: Summary) -> dict[str, Any]:
    """The API's answer from a computed summary."""
    names = await _names(conn, s.agents)
    overall = Sla()
    for team, block in s.teams.items():
        block.sla.target_s = s.rules.targets.get(team)
        overall.add(block.sla)
    by_agent = []
    for agent_id, block in sorted(s.agents.items(), key=lambda kv: (names.get(kv[0], ""), kv[0])):
        if flt.agent_id is not None and agent_id != flt.agent_id:
            continue
        by_agent.append({
            "agent_id": agent_id, "name": names.get(agent_id, f"#{agent_id}"), "conversations": block.opened,
            "closed": block.closed, "active": block.active, "messages_out": block.messages_agent,
            "first_response_s": block.first_response.summary(), "resolution_s": block.resolution.summary(),
            "csat": block.csat.summary(),
        })
    by_team = [{"team_id": None if team == NO_TEAM else team,
                "name": s.rules.names.get(team, "Sem equipe" if team == NO_TEAM else f"#{team}"),
                **block.as_dict(), "sla": block.sla.as_dict()}
               for team, block in sorted(s.teams.items(), key=lambda kv: (kv[0] != NO_TEAM, kv[0]))]
    return {
        "period": {"from": period.first.isoformat(), "to": period.last.isoformat(), "tz": period.tz.key},
        "filters": flt.query(),
        **s.total.as_dict(),
        "sla": overall.as_dict(),
        "by_channel": {channel: block.as_dict() for channel, block in sorted(s.channels.items())},
        "by_agent": by_agent,
        "by_team": by_team,
    }
