"""Who may read or do what: THE authorization layer (design.md rule 9).

The API, the pages, the event stream, search and exports all ask here; a route never re-implements
a rule. Actions call the write checks on the row they locked, so a rule holds on every surface by
construction.

Who sees what (issue 8):
- admins: everything;
- supervisors: everything of their teams, the default queue (conversations of connectors no team
  serves), and what they hold;
- agents: what is assigned to them; the unassigned conversations waiting in the queues of their teams
  (and in the default queue); every conversation of a team whose visibility is "team"; what they
  handled before (read-only); and, for a contact they serve now, that contact's whole timeline.
With no team configured this is today's single queue made safe: an agent reads what they hold plus
the unassigned queue.

Who may do what (issue 7 §3): acting on a conversation (send, take, close, release, reopen, transfer,
mark read, retry, react, tag) needs it to be yours, or unassigned in a queue you serve; supervisors act
on everything of their teams. Taking is a compare-and-set: a conversation in service with someone else
answers 409. Notes need read access that is not read-only. Only supervisors and admins lift an opt-out.

Denials: what a viewer may not read is "not found" (404), so ids reveal nothing; what they may read but
not change is "forbidden" (403).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from atende.actions.errors import Conflict, Forbidden, NotFound
from atende.db.tables import (
    connectors,
    conversation_counts,
    conversation_handlers,
    conversations,
    media,
    messages,
    team_connectors,
    team_members,
    teams,
    users,
)

ROLE_RANK = {"agent": 1, "supervisor": 2, "admin": 3}
STATUSES = ("new", "open", "done")

NOT_FOUND = "conversa não encontrada"
HELD_BY_OTHER = "conversa atribuída a outro agente"
READ_ONLY = "você só pode ler esta conversa"


# ---- who is asking ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Viewer:
    """The person behind a request, with what the rules need to know about them."""

    id: int
    role: str  # agent | supervisor | admin
    teams: frozenset[int] = frozenset()  # teams they are a member of
    team_wide: frozenset[int] = frozenset()  # of those, the ones with visibility "team"
    ip: str | None = None  # where the request came from (audit entries)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_staff(self) -> bool:
        """Supervisors and admins."""
        return ROLE_RANK.get(self.role, 0) >= ROLE_RANK["supervisor"]

    def at_least(self, role: str) -> bool:
        return ROLE_RANK.get(self.role, 0) >= ROLE_RANK[role]


async def load_viewer(conn: AsyncConnection, user_id: int, role: str, *, ip: str | None = None) -> Viewer:
    rows = await conn.execute(
        select(team_members.c.team_id, teams.c.visibility)
        .select_from(team_members.join(teams, teams.c.id == team_members.c.team_id))
        .where(team_members.c.user_id == user_id))
    member: set[int] = set()
    wide: set[int] = set()
    for row in rows:
        member.add(int(row.team_id))
        if row.visibility == "team":
            wide.add(int(row.team_id))
    return Viewer(user_id, role, frozenset(member), frozenset(wide), ip)


async def viewer_by_id(conn: AsyncConnection, user_id: int, *, ip: str | None = None) -> Viewer | None:
    role = await conn.scalar(select(users.c.role).where(users.c.id == user_id, users.c.active.is_(True)))
    return None if role is None else await load_viewer(conn, user_id, str(role), ip=ip)


# ---- a conversation, as the rules see it --------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ConvFacts:
    id: int | None
    team_id: int | None
    assignee_id: int | None
    status: str | None
    contact_id: int | None = None


def facts(conv: Any) -> ConvFacts:
    """From a conversations row, or a conversation as the API returns it."""
    if isinstance(conv, ConvFacts):
        return conv
    if isinstance(conv, Mapping):
        assignee = conv.get("assignee")
        assignee_id = assignee.get("id") if isinstance(assignee, Mapping) else conv.get("assignee_id")
        contact = conv.get("contact")
        contact_id = contact.get("id") if isinstance(contact, Mapping) else conv.get("contact_id")
        return ConvFacts(conv.get("id"), conv.get("team_id"), assignee_id, conv.get("status"), contact_id)
    return ConvFacts(conv.id, conv.team_id, conv.assignee_id, conv.status, getattr(conv, "contact_id", None))


def _in_queue_of(v: Viewer, team_id: int | None) -> bool:
    """The default queue (no team) belongs to everyone; a team's queue to its members."""
    return team_id is None or team_id in v.teams


def can_read(v: Viewer, conv: Any) -> bool:
    """May `v` read this conversation (without the "handled before" rule, which needs a query)?"""
    c = facts(conv)
    if v.is_admin:
        return True
    if c.assignee_id == v.id:
        return True
    if v.is_staff:
        return _in_queue_of(v, c.team_id)
    if c.team_id is not None and c.team_id in v.team_wide:
        return True
    return c.assignee_id is None and c.status == "new" and _in_queue_of(v, c.team_id)


def can_act(v: Viewer, conv: Any) -> bool:
    """May `v` work this conversation: answer, take, close, release, reopen, transfer, mark read?"""
    c = facts(conv)
    if v.is_admin or c.assignee_id == v.id:
        return True
    if v.is_staff:
        return _in_queue_of(v, c.team_id)
    if c.assignee_id is not None:
        return False
    return _in_queue_of(v, c.team_id) or (c.team_id is not None and c.team_id in v.team_wide)


async def handled(conn: AsyncConnection, v: Viewer, conversation_id: int) -> bool:
    return await conn.scalar(select(conversation_handlers.c.user_id).where(
        conversation_handlers.c.conversation_id == conversation_id,
        conversation_handlers.c.user_id == v.id)) is not None


async def may_read(conn: AsyncConnection, v: Viewer, conv: Any) -> bool:
    c = facts(conv)
    return can_read(v, c) or (c.id is not None and await handled(conn, v, c.id))


async def require_read(conn: AsyncConnection, v: Viewer, conv: Any) -> None:
    if not await may_read(conn, v, conv):
        raise NotFound(NOT_FOUND)


async def _deny(conn: AsyncConnection, v: Viewer, conv: Any, detail: str) -> None:
    """Readable → 403 with `detail`; not even readable → 404."""
    if await may_read(conn, v, conv):
        raise Forbidden(detail)
    raise NotFound(NOT_FOUND)


async def require_act(conn: AsyncConnection, v: Viewer | None, conv: Any) -> None:
    """The write check of every action on a conversation (None: the system itself)."""
    if v is None or can_act(v, conv):
        return
    c = facts(conv)
    await _deny(conn, v, c, HELD_BY_OTHER if c.assignee_id is not None else READ_ONLY)


async def require_take(conn: AsyncConnection, v: Viewer | None, conv: Any, holder_name: str | None) -> None:
    """Taking is a compare-and-set: what is in service with someone else is theirs (409), for everyone;
    supervisors reassign explicitly (assign/transfer). An agent who loses the race for a conversation of
    their queue hears who won; one who never could see it hears "not found"."""
    c = facts(conv)
    if c.status == "open" and c.assignee_id is not None and (v is None or c.assignee_id != v.id):
        if v is None or can_read(v, c) or _in_queue_of(v, c.team_id) or (
                c.id is not None and await handled(conn, v, c.id)):
            raise Conflict(f"já está em atendimento por {holder_name or 'outro agente'}", code="already_taken")
        raise NotFound(NOT_FOUND)
    await require_act(conn, v, c)


async def require_note(conn: AsyncConnection, v: Viewer | None, conv: Any) -> None:
    """Internal notes: whoever reads the conversation, except read-only (handled before) access."""
    if v is None or can_read(v, conv) or can_act(v, conv):
        return
    await _deny(conn, v, conv, READ_ONLY)


# ---- connectors, contacts, media ----------------------------------------------------------------

async def connector_team(conn: AsyncConnection, connector_id: int) -> int | None:
    value = await conn.scalar(select(team_connectors.c.team_id).where(team_connectors.c.connector_id == connector_id))
    return None if value is None else int(value)


async def require_connector(conn: AsyncConnection, v: Viewer | None, connector_id: int) -> None:
    """Starting a conversation (send by address, template send) on a connector: one your teams serve,
    or one no team serves."""
    if v is None or v.is_admin:
        return
    if not _in_queue_of(v, await connector_team(conn, connector_id)):
        exists = await conn.scalar(select(connectors.c.id).where(connectors.c.id == connector_id))
        if exists is None:
            raise NotFound("conector não encontrado")
        raise Forbidden("este conector atende outra equipe")


# What the rules look at in a conversation.
_FACTS = (conversations.c.id, conversations.c.team_id, conversations.c.assignee_id, conversations.c.status,
          conversations.c.contact_id)


async def _contact_conversations(conn: AsyncConnection, contact_id: int) -> list[Any]:
    return list(await conn.execute(select(*_FACTS).where(conversations.c.contact_id == contact_id)))


async def may_read_contact(conn: AsyncConnection, v: Viewer, contact_id: int) -> bool:
    """A contact's card: readable with any of its conversations."""
    if v.is_admin:
        return True
    for row in await _contact_conversations(conn, contact_id):
        if await may_read(conn, v, row):
            return True
    return False


async def require_contact(conn: AsyncConnection, v: Viewer, contact_id: int) -> None:
    if not await may_read_contact(conn, v, contact_id):
        raise NotFound("contato não encontrado")


async def may_read_timeline(conn: AsyncConnection, v: Viewer, contact_id: int) -> bool:
    """The whole timeline (every channel): agents while they serve the contact now; supervisors for the
    contacts of their teams."""
    if v.is_admin:
        return True
    for row in await _contact_conversations(conn, contact_id):
        if v.is_staff and can_read(v, row):
            return True
        if row.assignee_id == v.id and row.status == "open":
            return True
    return False


async def require_timeline(conn: AsyncConnection, v: Viewer, contact_id: int) -> None:
    if not await may_read_timeline(conn, v, contact_id):
        if await may_read_contact(conn, v, contact_id):
            raise Forbidden("o histórico completo é de quem atende o contato agora")
        raise NotFound("contato não encontrado")


async def visible_contact(conn: AsyncConnection, v: Viewer, contact: dict[str, Any]) -> dict[str, Any]:
    """A contact as `v` may see it: its conversations listed only where `v` may read them (all of them for
    whoever may read its whole timeline)."""
    if v.is_admin or await may_read_timeline(conn, v, int(contact["id"])):
        return contact
    shown = [c for c in contact.get("conversations", []) if await may_read(conn, v, c)]
    return {**contact, "conversations": shown}


async def require_contact_edit(conn: AsyncConnection, v: Viewer | None, contact_id: int) -> None:
    """Contact edits (name, opt-out): whoever may act on one of its conversations."""
    if v is None or v.is_admin:
        return
    rows = await _contact_conversations(conn, contact_id)
    if any(can_act(v, row) for row in rows):
        return
    if await may_read_contact(conn, v, contact_id):
        raise Forbidden("só quem atende o contato pode alterá-lo")
    raise NotFound("contato não encontrado")


async def require_contact_merge(conn: AsyncConnection, v: Viewer | None, keep_id: int, merged_id: int) -> None:
    """Merging two contacts into one: supervisors and admins, and only contacts they may read."""
    if v is None:
        return
    require_role(v, "supervisor")
    for contact_id in (keep_id, merged_id):
        await require_contact(conn, v, contact_id)


def may_read_deleted(v: Viewer) -> bool:
    """What a customer deleted stays readable by supervisors and admins (audit); agents see that it was
    deleted, not what it said."""
    return v.is_staff


def require_opt_in(v: Viewer | None) -> None:
    """Lifting an opt-out (the customer asked not to be messaged) is for supervisors and admins."""
    if v is not None and not v.is_staff:
        raise Forbidden("só supervisores ou administradores podem reativar um contato que pediu para sair")


async def may_read_media(conn: AsyncConnection, v: Viewer, media_id: int) -> bool:
    """A file: its uploader, and whoever reads a conversation it was sent or received in."""
    if v.is_admin:
        return True
    if await conn.scalar(select(media.c.uploaded_by).where(media.c.id == media_id)) == v.id:
        return True
    rows = await conn.execute(
        select(*_FACTS).select_from(messages.join(conversations, conversations.c.id == messages.c.conversation_id))
        .where(messages.c.media_id == media_id).limit(50))
    for row in rows:
        if await may_read(conn, v, row):
            return True
    return False


async def require_media(conn: AsyncConnection, v: Viewer, media_id: int) -> None:
    if not await may_read_media(conn, v, media_id):
        raise NotFound("mídia não encontrada")


async def require_message(conn: AsyncConnection, v: Viewer, message_id: int) -> Any:
    """A message's conversation row, when `v` may read it."""
    row = (await conn.execute(
        select(*_FACTS).select_from(messages.join(conversations, conversations.c.id == messages.c.conversation_id))
        .where(messages.c.id == message_id))).first()
    if row is None or not await may_read(conn, v, row):
        raise NotFound("mensagem não encontrada")
    return row


def require_role(v: Viewer, role: str, detail: str = "permissão insuficiente") -> None:
    if not v.at_least(role):
        raise Forbidden(detail)


def may_manage_team(v: Viewer, team_id: int) -> bool:
    """Admins edit every team; supervisors the members of their own teams."""
    return v.is_admin or (v.is_staff and team_id in v.teams)


# ---- lists: the where-clause builder ------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Branch:
    """One indexable piece of a viewer's list scope: equalities only, so each piece reads its own index
    in order and the pieces merge (UNION ALL) without sorting the table. Pieces never overlap."""

    assignee: int | bool | None = True  # True: any; None: unassigned; int: that agent
    team: int | bool | None = True  # True: any; None: the default queue; int: that team
    status: str | None = None  # None: any
    not_teams: frozenset[int] = frozenset()  # excluded teams (covered by another piece)
    not_null_team: bool = False

    def where(self, t: Any = conversations) -> ColumnElement[bool]:
        """The condition on `conversations` (or on a select with the same column names)."""
        conds: list[ColumnElement[bool]] = []
        if self.assignee is None:
            conds.append(t.c.assignee_id.is_(None))
        elif self.assignee is not True:
            conds.append(t.c.assignee_id == self.assignee)
        if self.team is None:
            conds.append(t.c.team_id.is_(None))
        elif self.team is not True:
            conds.append(t.c.team_id == self.team)
        if self.status is not None:
            conds.append(t.c.status == self.status)
        if self.not_teams or self.not_null_team:
            keep = t.c.team_id.not_in(sorted(self.not_teams)) if self.not_teams else true()
            conds.append(and_(t.c.team_id.is_not(None), keep) if self.not_null_team
                         else or_(t.c.team_id.is_(None), keep))
        return and_(true(), *conds)

    def count_where(self) -> ColumnElement[bool]:
        """The same condition on the board counters (0 stands for "none" there)."""
        t = conversation_counts
        conds: list[ColumnElement[bool]] = []
        if self.assignee is not True:
            conds.append(t.c.assignee_id == (self.assignee or 0))
        if self.team is not True:
            conds.append(t.c.team_id == (self.team or 0))
        if self.status is not None:
            conds.append(t.c.status == self.status)
        if self.not_teams:
            conds.append(t.c.team_id.not_in(sorted(self.not_teams)))
        if self.not_null_team:
            conds.append(t.c.team_id != 0)
        return and_(true(), *conds)

    def with_status(self, status: str) -> Branch | None:
        if self.status is not None:
            return self if self.status == status else None
        return Branch(self.assignee, self.team, status, self.not_teams, self.not_null_team)


@dataclass(frozen=True, slots=True)
class Scope:
    """What a viewer's lists may show: None = everything (admins), else the union of the branches."""

    branches: tuple[Branch, ...] | None = None

    @property
    def everything(self) -> bool:
        return self.branches is None

    def where(self, t: Any = conversations) -> ColumnElement[bool]:
        if self.branches is None:
            return true()
        if not self.branches:
            return false()
        return or_(*(b.where(t) for b in self.branches))

    def count_where(self) -> ColumnElement[bool]:
        if self.branches is None:
            return true()
        if not self.branches:
            return false()
        return or_(*(b.count_where() for b in self.branches))

    def split(self, status: str | None) -> list[Branch] | None:
        """The branches for one status (or every status, each branch split per status so that each
        reads its index in order); None when the scope is everything."""
        if self.branches is None:
            return None
        out: list[Branch] = []
        for b in self.branches:
            for s in ([status] if status else ([b.status] if b.status else list(STATUSES))):
                piece = b.with_status(s) if s else b
                if piece is not None:
                    out.append(piece)
        return out


def conversation_scope(v: Viewer) -> Scope:
    if v.is_admin:
        return Scope(None)
    if v.is_staff:
        # Their teams (whole), the default queue (whole), and what they hold elsewhere.
        whole: list[int | None] = [None, *sorted(v.teams)]
        return Scope((*(Branch(team=t) for t in whole),
                      Branch(assignee=v.id, not_teams=v.teams, not_null_team=True)))
    queue_teams = [None, *sorted(v.teams - v.team_wide)]
    return Scope((
        Branch(assignee=v.id, not_teams=v.team_wide),
        *(Branch(assignee=None, team=t, status="new") for t in queue_teams),
        *(Branch(team=t) for t in sorted(v.team_wide)),
    ))


def visible_conversations(v: Viewer) -> ColumnElement[bool] | None:
    """The list scope as one where-clause on `conversations` (search); None: everything."""
    scope = conversation_scope(v)
    return None if scope.everything else scope.where()


def queue_scope(v: Viewer) -> tuple[int | None, ...] | None:
    """The queues (None: the default one) whose waiting list `v` may see; None: all of them."""
    if v.is_admin:
        return None
    return (None, *sorted(v.teams))


# ---- live events --------------------------------------------------------------------------------

# Events anyone signed in may see: who is online, the teams and tags that exist.
PUBLIC_EVENTS = frozenset({"agent.presence", "team.created", "team.updated", "team.deleted", "tag.created",
                           "tag.updated"})


def _event_conv(p: Mapping[str, Any], prefix: str = "") -> ConvFacts | None:
    status_key = "previous_status" if prefix else "conversation_status"
    keys = (f"{prefix}team_id", f"{prefix}assignee_id", status_key)
    if not any(k in p for k in keys):
        return None
    return ConvFacts(p.get("conversation_id") or p.get("id"), p.get(keys[0]), p.get(keys[1]), p.get(keys[2]))


def event_filter(v: Viewer) -> Callable[[Mapping[str, Any]], bool]:
    """A pure, in-memory predicate over events (a row `{type, conversation_id, payload}` or the flat
    `{type, **payload}` a stream sends): no database query per stream per event. Conversation events
    carry their scope (team, assignee, status, and the previous ones on moves, so whoever loses sight
    of a conversation hears that it left); contact events the scopes of the contact's conversations."""
    if v.is_admin:
        return lambda event: True
    staff = v.is_staff

    def visible(event: Mapping[str, Any]) -> bool:
        payload = event.get("payload")
        p: Mapping[str, Any] = payload if isinstance(payload, Mapping) else event
        now = _event_conv(p)
        if now is not None:
            if can_read(v, now):
                return True
            before = _event_conv(p, "previous_")
            return before is not None and can_read(v, before)
        scopes = p.get("contact_conversations")
        if isinstance(scopes, list):
            return any(isinstance(s, Mapping) and can_read(v, facts(s)) for s in scopes)
        if event.get("type") in PUBLIC_EVENTS:
            return True
        if event.get("conversation_id") is not None or p.get("conversation_id") is not None:
            return False  # a conversation event without its scope: only admins
        return staff

    return visible


def event_scope(row: Any) -> dict[str, Any]:
    """What a conversation event must carry for `event_filter` (from a conversations row)."""
    return {"conversation_id": int(row.id), "contact_id": int(row.contact_id), "team_id": row.team_id,
            "assignee_id": row.assignee_id, "conversation_status": row.status}


def contact_event_scope(rows: Iterable[Any]) -> list[dict[str, Any]]:
    return [{"id": int(r.id), "team_id": r.team_id, "assignee_id": r.assignee_id, "status": r.status}
            for r in rows]


async def contact_scope(conn: AsyncConnection, contact_id: int) -> list[dict[str, Any]]:
    return contact_event_scope(await _contact_conversations(conn, contact_id))


__all__ = [
    "Branch", "ConvFacts", "Scope", "Viewer", "can_act", "can_read", "contact_scope", "conversation_scope",
    "event_filter", "event_scope", "facts", "load_viewer", "may_manage_team", "may_read", "may_read_contact",
    "may_read_media", "may_read_timeline", "queue_scope", "require_act", "require_connector", "require_contact",
    "require_contact_edit", "require_media", "require_message", "require_note", "require_opt_in",
    "require_read", "require_role", "require_take", "require_timeline", "viewer_by_id",
]
