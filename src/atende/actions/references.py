"""The references we hand to providers, who echo them in reports and replies.

Opaque and random (not the sequential message id), so that a forged report or reply cannot name a
message it never saw. Messages sent before migration 0004 went out with their numeric id; those
(reference IS NULL) are still found by it.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import and_, bindparam, or_
from sqlalchemy.sql.elements import ColumnElement

from atende.db.tables import messages
from atende.domain.ids import parse_id

PREFIX = "r"


def new_reference() -> str:
    return PREFIX + secrets.token_urlsafe(15)  # 21 characters, 120 random bits


def reference_of(row: Any) -> str:
    """What to send as the reference of a message row (its numeric id when it predates 0004)."""
    return str(row.reference) if row.reference else str(row.id)


def matches(reference: str) -> ColumnElement[bool] | None:
    """The condition finding our message by a reference a provider echoed, or None if it cannot be ours."""
    if not reference or len(reference) > 64:
        return None
    legacy = parse_id(reference) if reference.isascii() and reference.isdigit() else None
    if legacy is not None:
        return or_(messages.c.reference == reference, and_(messages.c.id == legacy, messages.c.reference.is_(None)))
    return messages.c.reference == reference


# matches() with bound parameters, for hot paths: built once, the reference is a parameter. A
# reference that cannot be a legacy id binds `legacy` to NULL, which matches no id.
BY_REFERENCE = or_(messages.c.reference == bindparam("ref", type_=messages.c.reference.type),
                   and_(messages.c.id == bindparam("legacy", type_=messages.c.id.type), messages.c.reference.is_(None)))


def reference_params(reference: str) -> dict[str, Any] | None:
    """The parameters of BY_REFERENCE for an echoed reference, or None if it cannot be ours."""
    if not reference or len(reference) > 64:
        return None
    legacy = parse_id(reference) if reference.isascii() and reference.isdigit() else None
    return {"ref": reference, "legacy": legacy}
