"""Conversation filters and lifecycle moves shared by the board and the inbox."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query

from atende.actions import close_reasons
from atende.actions import conversations as conv_actions
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


@dataclass(frozen=True)
class ConvFilter:
    key: str = "all"
    q: str = ""
    sort: str = "recent"

    @classmethod
    def parse(cls, f: str | None, q: str | None, s: str | None = None) -> ConvFilter:
        return cls(f if f in FILTERS else "all", (q or "").strip()[:200], s if s in SORTS else "recent")

    def list_args(self, user: CurrentUser) -> dict[str, Any]:
        args: dict[str, Any] = {}
        if self.key in CHANNEL_FILTERS:
            args["channel"] = self.key
        elif self.key == "mine":
            args["assignee"] = user.id
        elif self.key == "unassigned":
            args["unassigned"] = True
        if self.q:
            args["q"] = self.q
        if self.sort != "recent":
            args["sort"] = self.sort
        return args

    def count_args(self, user: CurrentUser) -> dict[str, Any]:
        return {k: v for k, v in self.list_args(user).items() if k not in ("q", "sort")}

    def api_query(self) -> str:
        """The same filter in /api/v1/conversations/counts terms."""
        if self.key in CHANNEL_FILTERS:
            return urlencode({"channel": self.key})
        return urlencode({"assignee": {"mine": "me", "unassigned": "none"}.get(self.key, "")}) \
            if self.key in ("mine", "unassigned") else ""

    def query(self, **extra: Any) -> str:
        params = {"f": self.key, **({"q": self.q} if self.q else {}),
                  **({"s": self.sort} if self.sort != "recent" else {}), **extra}
        return urlencode({k: v for k, v in params.items() if v not in (None, "")})

    def sort_key(self, conv: dict[str, Any]) -> str:
        return sort_key(conv, self.sort)

    def matches(self, conv: dict[str, Any], user: CurrentUser) -> bool:
        assignee = conv["assignee"]["id"] if conv["assignee"] else None
        if self.key in CHANNEL_FILTERS and conv["channel"] != self.key:
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


async def load_conversation(rt: Runtime, conversation_id: RowId) -> dict[str, Any]:
    async with rt.read() as conn:
        conv = await queries.conversation(conn, conversation_id)
    if conv is None:
        raise PageError(404, _("Conversa não encontrada."))
    return conv


def holder(conv: dict[str, Any]) -> int | None:
    return conv["assignee"]["id"] if conv["assignee"] else None


def ensure_may_handle(user: CurrentUser, conv: dict[str, Any]) -> None:
    """Agents act on unassigned conversations and their own; supervisors on any."""
    if not user.may_handle(holder(conv)):
        raise PageError(403, _("Esta conversa está com outro agente."))


async def move(rt: Runtime, user: CurrentUser, conversation_id: RowId, to: str,
               reason_id: int | None = None) -> dict[str, Any]:
    """A card dropped on a column (or an action button): take, close (with an optional close reason),
    reopen or release."""
    if to not in STATUSES:
        raise PageError(422, _("Coluna inválida."))
    conv = await load_conversation(rt, conversation_id)
    if conv["status"] == to and (to != "open" or holder(conv) == user.id):
        return conv
    async with rt.write() as tx:
        if to == "open":
            ensure_may_handle(user, conv)
            await conv_actions.assign(tx, conversation_id, user.id, actor_id=user.id)
        elif to == "done":
            ensure_may_handle(user, conv)
            await close_reasons.close(tx, conversation_id, actor_id=user.id, reason_id=reason_id)
        elif conv["status"] == "done":
            await conv_actions.reopen(tx, conversation_id, actor_id=user.id)
        else:
            ensure_may_handle(user, conv)
            await conv_actions.release(tx, conversation_id, actor_id=user.id)
    return await load_conversation(rt, conversation_id)


def sort_key(conv: dict[str, Any], sort: str = "recent") -> str:
    """A card's place among the loaded ones (bigger comes first), as the server's order would put it.
    By priority the level leads; milliseconds keep the number exact in JavaScript (below 2**53)."""
    from atende.web.pages.i18n import as_datetime

    moment = as_datetime(conv["last_message_at"])
    if sort == "priority":
        millis = int(moment.timestamp() * 1000) if moment else 0
        return str(priority_rank(conv.get("priority") or "normal") * 10**13 + millis)
    return str(int(moment.timestamp() * 1_000_000)) if moment else "0"


# Query parameters shared by the board and the inbox.
FilterQ = Annotated[str | None, Query(max_length=20)]
SearchQ = Annotated[str | None, Query(max_length=200)]
SortQ = Annotated[str | None, Query(max_length=20)]
