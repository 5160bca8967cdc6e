"""CSV exports, streamed page by page: a year of data never sits in memory.

- conversations.csv: one row per attendance that started in the period (the summary's cohort);
- messages.csv: one row per message of the period (what the summary's messages and SMS count);
- agents.csv: one row per agent (the summary's by_agent).
Headers in Portuguese, or English with `lang=en`. Times in the report's zone, ISO 8601 with offset.
The file starts with a UTF-8 byte order mark, so spreadsheet programs read the accents right.
"""

from __future__ import annotations

import csv
import io
from array import array
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from atende.actions.rollups import NOT_MESSAGES
from atende.db.tables import (
    attendances,
    connectors,
    contacts,
    conversations,
    messages,
    metadata,
    report_activity,
    users,
)
from atende.db.types import utcnow
from atende.reports.filters import NO_TEAM, Filters
from atende.reports.period import Period
from atende.reports.summary import (
    business_wait,
    first_response_s,
    money,
    resolution_s,
    sla_outcome,
    summary,
    team_rules,
)

PAGE = 1000
CONVERSATION_BATCH = 500
BOM = "\ufeff"

HEADERS: dict[str, dict[str, tuple[str, str]]] = {
    # column: (Português, English)
    "conversations": {
        "id": ("atendimento", "attendance_id"), "conversation_id": ("conversa", "conversation_id"),
        "channel": ("canal", "channel"), "connector": ("conector", "connector"),
        "contact_id": ("contato_id", "contact_id"), "contact": ("contato", "contact"),
        "team": ("equipe", "team"), "agent": ("agente", "agent"), "opened_at": ("aberto_em", "opened_at"),
        "reopened": ("reaberto", "reopened"), "first_response_s": ("primeira_resposta_s", "first_response_s"),
        "closed_at": ("concluido_em", "closed_at"), "resolution_s": ("resolucao_s", "resolution_s"),
        "messages_in": ("mensagens_recebidas", "messages_in"), "messages_out": ("mensagens_enviadas", "messages_out"),
        "segments": ("segmentos", "segments"), "cost": ("custo", "cost"), "tags": ("etiquetas", "tags"),
        "first_response_business_s": ("primeira_resposta_em_horario_s", "first_response_business_hours_s"),
        "sla": ("sla", "sla"), "csat": ("satisfacao", "csat"),
    },
    "messages": {
        "id": ("mensagem", "message_id"), "conversation_id": ("conversa", "conversation_id"),
        "channel": ("canal", "channel"), "connector": ("conector", "connector"),
        "contact_id": ("contato_id", "contact_id"), "contact": ("contato", "contact"), "team": ("equipe", "team"),
        "direction": ("direcao", "direction"), "kind": ("tipo", "kind"), "author": ("autor", "author"),
        "created_at": ("criada_em", "created_at"), "status": ("status", "status"),
        "accepted": ("aceita_pelo_provedor", "accepted_by_provider"), "segments": ("segmentos", "segments"),
        "cost": ("custo", "cost"),
    },
    "agents": {
        "agent_id": ("agente_id", "agent_id"), "name": ("nome", "name"),
        "conversations": ("atendimentos", "attendances"), "closed": ("concluidos", "closed"),
        "active": ("conversas_ativas", "active_conversations"), "messages_out": ("mensagens_enviadas", "messages_out"),
        "fr_median": ("primeira_resposta_mediana_s", "first_response_median_s"),
        "fr_p90": ("primeira_resposta_p90_s", "first_response_p90_s"),
        "fr_count": ("primeiras_respostas", "first_responses"),
        "res_median": ("resolucao_mediana_s", "resolution_median_s"),
        "res_p90": ("resolucao_p90_s", "resolution_p90_s"), "res_count": ("resolucoes", "resolutions"),
        "csat_average": ("satisfacao_media", "csat_average"), "csat_responses": ("avaliacoes", "csat_responses"),
    },
}
WORDS = {"pt": {True: "sim", False: "não", "in": "recebida", "out": "enviada", "met": "no prazo",
                "breached": "fora do prazo"},
         "en": {True: "yes", False: "no", "in": "in", "out": "out", "met": "met", "breached": "breached"}}
KINDS = tuple(HEADERS)


def header(kind: str, lang: str) -> list[str]:
    index = 1 if lang == "en" else 0
    return [labels[index] for labels in HEADERS[kind].values()]


class _Writer:
    """Rows to CSV text, one chunk per page."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()
        self.csv = csv.writer(self.buffer, lineterminator="\r\n")

    def rows(self, rows: Iterable[Sequence[Any]]) -> str:
        self.csv.writerows(rows)
        text = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return text


def _when(value: datetime | None, period: Period) -> str:
    return "" if value is None else value.astimezone(period.tz).isoformat()


def _num(value: float | None) -> str:
    return "" if value is None else str(value)


async def _names(conn: AsyncConnection) -> dict[str, dict[int, str]]:
    """Connectors, people and teams by id: a few hundred rows, read once per export."""
    names: dict[str, dict[int, str]] = {
        "connector": {int(r.id): str(r.name) for r in await conn.execute(select(connectors.c.id, connectors.c.name))},
        "user": {int(r.id): str(r.name) for r in await conn.execute(select(users.c.id, users.c.name))},
        "team": {},
    }
    teams = metadata.tables.get("teams")
    if teams is not None:
        names["team"] = {int(r.id): str(r.name) for r in await conn.execute(select(teams.c.id, teams.c.name))}
    return names


async def _tags(conn: AsyncConnection, conversation_ids: Sequence[int]) -> dict[int, list[str]]:
    tags, links = metadata.tables.get("tags"), metadata.tables.get("conversation_tags")
    if tags is None or links is None or not conversation_ids:
        return {}
    out: dict[int, list[str]] = {}
    rows = await conn.execute(select(links.c.conversation_id, tags.c.name)
                              .select_from(links.join(tags, tags.c.id == links.c.tag_id))
                              .where(links.c.conversation_id.in_(sorted(set(conversation_ids))))
                              .order_by(links.c.conversation_id, tags.c.name))
    for conversation_id, name in rows:
        out.setdefault(int(conversation_id), []).append(str(name))
    return out


def _team_name(names: dict[str, dict[int, str]], team_id: int | None) -> str:
    return "" if team_id is None else names["team"].get(int(team_id), f"#{team_id}")


def _person(names: dict[str, dict[int, str]], user_id: int | None) -> str:
    return "" if user_id is None else names["user"].get(int(user_id), f"#{user_id}")


# ---- conversations.csv ---------------------------------------------------------------------------

async def conversations_csv(conn: AsyncConnection, period: Period, flt: Filters, lang: str) -> AsyncIterator[str]:
    names = await _names(conn)
    rules = await team_rules(conn)
    now = utcnow()
    words = WORDS["en" if lang == "en" else "pt"]
    out = _Writer()
    yield BOM + out.rows([header("conversations", lang)])
    t = attendances

    def sla(r: Any) -> str:
        """As the summary judges it: against the target of the attendance's team, if it has one."""
        team = int(r.team_id or NO_TEAM)
        target = rules.targets.get(team)
        outcome = None if target is None else sla_outcome(r, target, rules.hours.get(team), now)
        return "" if outcome is None else words["met" if outcome else "breached"]

    base = select(
        t.c.id, t.c.conversation_id, t.c.channel, t.c.connector_id, t.c.team_id, t.c.assignee_id, t.c.reopened,
        t.c.started_at, t.c.customer_at, t.c.first_response_at, t.c.first_response_business_s, t.c.closed_at,
        t.c.messages_in, t.c.messages_out, t.c.csat_rating,
        t.c.sms_segments, t.c.sms_cost, conversations.c.contact_id, contacts.c.name.label("contact_name"),
        conversations.c.address,
    ).select_from(t.join(conversations, conversations.c.id == t.c.conversation_id)
                  .join(contacts, contacts.c.id == conversations.c.contact_id)
                  ).where(t.c.started_at >= period.start, t.c.started_at < period.end, flt.on_attendances()) \
        .order_by(t.c.started_at, t.c.id).limit(PAGE)
    after: tuple[datetime, int] | None = None
    while True:
        stmt = base if after is None else base.where(or_(
            t.c.started_at > after[0], and_(t.c.started_at == after[0], t.c.id > after[1])))
        page = list(await conn.execute(stmt))
        if not page:
            return
        tags = await _tags(conn, [int(r.conversation_id) for r in page])
        yield out.rows([
            r.id, r.conversation_id, r.channel, names["connector"].get(int(r.connector_id or 0), ""),
            r.contact_id, r.contact_name or r.address, _team_name(names, r.team_id), _person(names, r.assignee_id),
            _when(r.started_at, period), words[bool(r.reopened)], _num(first_response_s(r)),
            _when(r.closed_at, period), _num(resolution_s(r)), r.messages_in, r.messages_out, r.sms_segments,
            money(r.sms_cost or Decimal(0)), "; ".join(tags.get(int(r.conversation_id), [])),
            _num(business_wait(r)), sla(r), _num(r.csat_rating),
        ] for r in page)
        if len(page) < PAGE:
            return
        after = (page[-1].started_at, int(page[-1].id))


# ---- messages.csv --------------------------------------------------------------------------------

async def _active_conversations(conn: AsyncConnection, period: Period, flt: Filters) -> array[int]:
    """The conversations with counted messages in the period (8 bytes each, in id order)."""
    t = report_activity
    ids: array[int] = array("q")
    result = await conn.stream(select(t.c.conversation_id).distinct().where(
        t.c.hour >= period.start, t.c.hour < period.end, flt.counters(t)).order_by(t.c.conversation_id))
    async for (conversation_id,) in result:
        ids.append(int(conversation_id))
    return ids


def _message_filter(flt: Filters) -> list[Any]:
    m = messages
    conds: list[Any] = [m.c.kind.not_in(sorted(NOT_MESSAGES))]
    if flt.channel:
        conds.append(conversations.c.channel == flt.channel)
    if flt.connector_id is not None:
        conds.append(m.c.connector_id == flt.connector_id)
    if flt.team_id is not None:
        conds.append(m.c.team_id == flt.team_id)
    if flt.agent_id is not None:
        conds.append(and_(m.c.direction == "out", m.c.author_id == flt.agent_id))
    if flt.teams is not None:
        real = sorted(flt.teams - {0})
        conds.append(or_(m.c.team_id.in_(real), *([m.c.team_id.is_(None)] if 0 in flt.teams else [])))
    return conds


async def messages_csv(conn: AsyncConnection, period: Period, flt: Filters, lang: str) -> AsyncIterator[str]:
    names = await _names(conn)
    words = WORDS["en" if lang == "en" else "pt"]
    out = _Writer()
    yield BOM + out.rows([header("messages", lang)])
    ids = await _active_conversations(conn, period, flt)
    m = messages
    conds = _message_filter(flt)
    for start in range(0, len(ids), CONVERSATION_BATCH):
        batch = list(ids[start:start + CONVERSATION_BATCH])
        rows = await conn.execute(
            select(m.c.id, m.c.conversation_id, conversations.c.channel, m.c.connector_id, m.c.contact_id,
                   contacts.c.name.label("contact_name"), conversations.c.address, m.c.team_id, m.c.direction,
                   m.c.kind, m.c.author_id, m.c.created_at, m.c.status, m.c.sent_at, m.c.segments, m.c.cost)
            .select_from(m.join(conversations, conversations.c.id == m.c.conversation_id)
                         .join(contacts, contacts.c.id == m.c.contact_id))
            .where(m.c.conversation_id.in_(batch), m.c.created_at >= period.start, m.c.created_at < period.end,
                   *conds)
            .order_by(m.c.conversation_id, m.c.created_at, m.c.id))
        lines = []
        for r in rows:
            sms_out = r.direction == "out" and r.segments is not None
            accepted = sms_out and r.sent_at is not None
            lines.append([
                r.id, r.conversation_id, r.channel, names["connector"].get(int(r.connector_id), ""), r.contact_id,
                r.contact_name or r.address, _team_name(names, r.team_id), words[r.direction], r.kind,
                _person(names, r.author_id), _when(r.created_at, period), r.status,
                words[accepted] if sms_out else "", r.segments if sms_out else "",
                money(r.cost or Decimal(0)) if accepted else ("0.00" if sms_out else ""),
            ])
        if lines:
            yield out.rows(lines)


# ---- agents.csv ----------------------------------------------------------------------------------

async def agents_csv(conn: AsyncConnection, period: Period, flt: Filters, lang: str) -> AsyncIterator[str]:
    data = await summary(conn, period, flt)
    out = _Writer()
    yield BOM + out.rows([header("agents", lang)])
    yield out.rows([
        a["agent_id"], a["name"], a["conversations"], a["closed"], a["active"], a["messages_out"],
        _num(a["first_response_s"]["median"]), _num(a["first_response_s"]["p90"]), a["first_response_s"]["count"],
        _num(a["resolution_s"]["median"]), _num(a["resolution_s"]["p90"]), a["resolution_s"]["count"],
        _num(a["csat"]["average"]), a["csat"]["responses"],
    ] for a in data["by_agent"])


EXPORTS = {"conversations": conversations_csv, "messages": messages_csv, "agents": agents_csv}
