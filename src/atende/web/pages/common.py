"""Conversation filters and lifecycle moves shared by the board and the inbox."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query

from atende.actions import close_reasons
from atende.actions import conversations as conv_actions
from atende.auth import policy
from atende.auth.policy import Viewer
from atende.db import queries
from atende.domain.priority import rank as priority_rank
from atende.runtime import Runtime
from atende.web.auth import CurrentUser
from atende.web.pages.core import PageError
from atende.web.pages.i18n import _
from atende.web.params import RowId

CHANNEL_FILTERS = ("whatsapp", "sms", "instagram", "messenger")
FILTERS = ("all", "mine", "unassigned", *CHANNEL_FILTERS)
STATUSES = ("new", "open", "done")
SORTS = ("recent", "priority")
PAGE_SIZE = 25


async def team_chips(conn: Any, who: Viewer) -> list[dict[str, Any]]:
    """The teams whose queues `who` sees: the team filters of the board and the inbox."""
    allowed = policy.queue_scope(who)
    return [t for t in await queries.team_list(conn) if allowed is None or t["id"] in allowed]


def filter_labels() -> dict[str, str]:
    return {
        "mine": _("Minhas conversas"),
        "all": _("Todos os canais"),
        "whatsapp": "WhatsApp",
        "sms": "SMS",
        "instagram": "Instagram",
        "messenger": "Messenger",
        "unassigned": _("Não atribuídas"),
    }


def sort_labels() -> dict[str, str]:
    return {"recent": _("Mais recentes"), "priority": _("Prioridade")}


def status_labels() -> dict[str, str]:
    return {"new": _("Novo"), "open": _("Em atendimento"), "done": _("Concluído")}


def _small_id(value: str | None) -> int | None:
    """A team or tag id from a query string; anything else is no filter."""
    if value and value.isascii() and value.isdigit() and len(value) < 19:
        return int(value)
    return None


@dataclass(frozen=True)
class ConvFilter:
    key: str = "all"
    q: str = ""
    team: int | None = None  # a team's id; 0 = the default queue
    tag: int | None = None  # a tag's id
    sort: str = "recent"  # or "priority"

    @classmethod
    def parse(cls, f: str | None, q: str | None, team: str | None = None, tag: str | None = None,
              sort: str | None = None) -> ConvFilter:
        return cls(f if f in FILTERS else "all", (q or "").strip()[:200], _small_id(team), _small_id(tag),
                   sort if sort in SORTS else "recent")

    def list_args(self, user: Viewer) -> dict[str, Any]:
        """Arguments of queries.list_conversations: the quick filter within what `user` may see."""
        args: dict[str, Any] = {"scope": policy.conversation_scope(user)}
        if self.key in CHANNEL_FILTERS:
            args["channel"] = self.key
        elif self.key == "mine":
            args["assignee"] = user.id
        elif self.key == "unassigned":
            args["unassigned"] = True
        if self.team is not None:
            args.update({"team_id": self.team} if self.team else {"no_team": True})
        if self.tag is not None:
            args["tag_id"] = self.tag
        if self.q:
            args["q"] = self.q
        return args

    @property
    def s(self) -> str | None:
        """The sort as a query parameter (None: the default)."""
        return None if self.sort == "recent" else self.sort

    def list_order(self, default: str = "activity") -> str:
        """queries.list_conversations' order: the chosen sort, else the list's own."""
        return "priority" if self.sort == "priority" else default

    def count_args(self, user: Viewer) -> dict[str, Any]:
        return {k: v for k, v in self.list_args(user).items() if k not in ("q", "tag_id")}

    @property
    def counts_on_screen(self) -> bool:
        """The counters know nothing of searches and tags: count what is shown instead."""
        return bool(self.q or self.tag)

    def api_query(self) -> str:
        """The same filter in /api/v1/conversations/counts terms."""
        params: dict[str, Any] = {}
        if self.key in CHANNEL_FILTERS:
            params["channel"] = self.key
        elif self.key in ("mine", "unassigned"):
            params["assignee"] = {"mine": "me", "unassigned": "none"}[self.key]
        if self.team is not None:
            params["team_id"] = self.team
        return urlencode(params)

    def query(self, **extra: Any) -> str:
        params = {"f": self.key, **({"q": self.q} if self.q else {}),
                  **({"team": self.team} if self.team is not None else {}),
                  **({"tag": self.tag} if self.tag is not None else {}),
                  **({"s": self.sort} if self.sort != "recent" else {}), **extra}
        return urlencode({k: v for k, v in params.items() if v not in (None, "")})

    def sort_key(self, conv: dict[str, Any]) -> str:
        return sort_key(conv, self.sort)

    def matches(self, conv: dict[str, Any], user: CurrentUser | Viewer) -> bool:
        assignee = conv["assignee"]["id"] if conv["assignee"] else None
        if self.key in CHANNEL_FILTERS and conv["channel"] != self.key:
            return False
        if self.team is not None and conv.get("team_id") != (self.team or None):
            return False
        if self.tag is not None and self.tag not in {t["id"] for t in conv.get("tags", [])}:
            return False
        if self.key == "mine" and assignee != user.id:
            return False
        if self.key == "unassigned" and assignee is not None:
            return False
        if self.q:
            needle = self.q.lower()
            digits = "".join(ch for ch in self.q if ch.isdigit())
            haystack = f"{conv['contact']['name']} {conv['last_message_preview']}".lower()
            if needle not in haystack and not (len(digits) >= 4 and digits in conv["contact"]["address"]):
                return False
        return True


async def load_conversation(rt: Runtime, conversation_id: RowId, viewer: Viewer | None = None) -> dict[str, Any]:
    """The conversation, if `viewer` may read it (auth.policy); 404 otherwise."""
    async with rt.read() as conn:
        conv = await queries.conversation(conn, conversation_id)
        if conv is not None and viewer is not None and not await policy.may_read(conn, viewer, conv):
            conv = None
    if conv is None:
        raise PageError(404, _("Conversa não encontrada."))
    return conv


def holder(conv: dict[str, Any]) -> int | None:
    return conv["assignee"]["id"] if conv["assignee"] else None


async def move(rt: Runtime, user: Viewer, conversation_id: RowId, to: str,
               reason_id: int | None = None) -> dict[str, Any]:
    """A card dropped on a column (or an action button): take, close (with an optional close reason),
    reopen or release. The actions ask the policy; this only picks the action."""
    if to not in STATUSES:
        raise PageError(422, _("Coluna inválida."))
    conv = await load_conversation(rt, conversation_id, user)
    if conv["status"] == to and (to != "open" or holder(conv) == user.id):
        return conv
    async with rt.write() as tx:
        if to == "open":
            await conv_actions.assign(tx, conversation_id, user.id, by=user)
        elif to == "done":
            await close_reasons.close(tx, conversation_id, reason_id=reason_id, by=user)
        elif conv["status"] == "done":
            await conv_actions.reopen(tx, conversation_id, by=user)
        else:
            await conv_actions.release(tx, conversation_id, by=user)
    try:
        return await load_conversation(rt, conversation_id, user)
    except PageError:
        return await load_conversation(rt, conversation_id)  # moved out of sight by this very move


def sort_key(conv: dict[str, Any], sort: str = "recent") -> str:
    """A card's place among the loaded ones (bigger comes first), as the server's order would put it.
    By priority the level leads; milliseconds keep the number exact in JavaScript (below 2**53)."""
    from atende.web.pages.i18n import as_datetime

    moment = as_datetime(conv["last_message_at"])
    if sort == "priority":
        millis = int(moment.timestamp() * 1000) if moment else 0
        return str(priority_rank(conv.get("priority") or "normal") * 10**13 + millis)
    return str(int(moment.timestamp() * 1_000_000)) if moment else "0"


def wait_key(conv: dict[str, Any]) -> str:
    """The Novo column's order: since when the customer waits (oldest first)."""
    from atende.web.pages.i18n import as_datetime

    moment = as_datetime(conv.get("waiting_since"))
    return str(int(moment.timestamp() * 1_000_000)) if moment else "0"


# Query parameters shared by the board and the inbox.
FilterQ = Annotated[str | None, Query(max_length=20)]
SearchQ = Annotated[str | None, Query(max_length=200)]
SortQ = Annotated[str | None, Query(max_length=20)]
TeamQ = Annotated[str | None, Query(max_length=20)]
TagQ = Annotated[str | None, Query(max_length=20)]
