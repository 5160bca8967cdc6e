"""Who may read or do what: THE authorization layer (design.md rule 9).

The API, the pages, the event stream, search and exports all ask here; a route never re-implements
a rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from atende.actions.errors import Forbidden
from atende.db.tables import messages


class HasRole(Protocol):
    @property
    def role(self) -> str: ...


# ---- LGPD (issue 15) ----------------------------------------------------------------------------
# The `dpo` role (encarregado de dados): answers data-subject requests (export, erasure, the request
# log), keeps the retention policy and reads the access log. It does not work conversations.

PRIVACY_ROLES = frozenset({"admin", "dpo"})
HIDDEN_READERS = frozenset({"supervisor", "admin", "dpo"})
LEGAL_HOLDERS = frozenset({"supervisor", "admin", "dpo"})


def may_handle_data_requests(v: HasRole) -> bool:
    """Exports, erasures and the request log: admins and the DPO."""
    return v.role in PRIVACY_ROLES


def require_data_requests(v: HasRole) -> None:
    if not may_handle_data_requests(v):
        raise Forbidden("só administradores ou o encarregado de dados (DPO) atendem pedidos de titulares")


def require_privacy_settings(v: HasRole) -> None:
    """The retention policy and preview masking: admins and the DPO."""
    if v.role not in PRIVACY_ROLES:
        raise Forbidden("só administradores ou o encarregado de dados (DPO) alteram a política de privacidade")


def may_read_audit(v: HasRole) -> bool:
    """The audit log (and with it "who looked at this customer"): admins and the DPO."""
    return v.role in PRIVACY_ROLES


def may_read_hidden(v: HasRole) -> bool:
    """A message an agent hid ("ocultar") stays readable for supervisors, admins and the DPO."""
    return v.role in HIDDEN_READERS


async def media_withheld(conn: AsyncConnection, v: HasRole, media_id: int) -> bool:
    """A file only hidden messages show is withheld from agents like the messages themselves."""
    if may_read_hidden(v):
        return False
    rows = list(await conn.execute(select(messages.c.hidden_at).where(messages.c.media_id == media_id).limit(50)))
    return bool(rows) and all(r.hidden_at is not None for r in rows)


def require_unhide(v: HasRole) -> None:
    """Agents hide; only those who still read hidden messages may show one again."""
    if not may_read_hidden(v):
        raise Forbidden("só supervisores podem mostrar de novo uma mensagem oculta")


def may_set_legal_hold(v: HasRole) -> bool:
    """Legal hold (retention skips the conversation): supervisors, admins and the DPO."""
    return v.role in LEGAL_HOLDERS


def require_legal_hold(v: HasRole) -> None:
    if not may_set_legal_hold(v):
        raise Forbidden("só supervisores podem pôr ou tirar uma conversa de retenção legal")


# What a reader without access still sees of a hidden message: that it exists, and when.
_KEPT_WHEN_HIDDEN = ("type",)


def visible_message(msg: Mapping[str, Any], v: HasRole) -> dict[str, Any]:
    """A message as `v` may see it: hidden content is withheld from agents (read-only for them)."""
    if msg.get("hidden_at") is None or may_read_hidden(v):
        return dict(msg)
    attributes = msg.get("attributes") or {}
    return {**msg, "text": None, "media_id": None, "content_withheld": True,
            "attributes": {k: attributes[k] for k in _KEPT_WHEN_HIDDEN if k in attributes}}
