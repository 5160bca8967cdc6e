"""Keyset pages: opaque cursors and the plain values every list renders (no database access here).

Kept apart from db/queries so that other readers (search) share them without importing the queries.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from decimal import Decimal
from typing import Any

from atende.domain.ids import MAX_ID, parse_int

MAX_CURSOR = 200


def cursor_id(text: str) -> int:
    """A 64-bit id inside a cursor (ASCII digits only: "²".isdigit() is True)."""
    value = parse_int(text, low=0, high=MAX_ID)
    if value is None:
        raise BadCursor("cursor inválido")
    return value


def cursor_time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise BadCursor("cursor inválido") from None
    if value.tzinfo is None:
        raise BadCursor("cursor inválido")
    return value


def like_pattern(q: str) -> str:
    """`%q%` for LIKE … ESCAPE '\\': the user's own % and _ match themselves, not anything."""
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class BadCursor(ValueError):
    pass


def encode_cursor(*parts: Any) -> str:
    raw = "|".join(p.isoformat() if isinstance(p, datetime) else str(p) for p in parts)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, n: int) -> list[str]:
    if len(cursor) > MAX_CURSOR:
        raise BadCursor("cursor inválido")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadCursor("cursor inválido") from None
    parts = raw.split("|")
    if len(parts) != n:
        raise BadCursor("cursor inválido")
    return parts


def money(value: Decimal | None) -> str | None:
    return None if value is None else format(value.quantize(Decimal("0.0001")).normalize(), "f")


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None
