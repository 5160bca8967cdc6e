"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# Integer primary keys: BIGINT on PostgreSQL, INTEGER (rowid alias) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")
Json = JSON().with_variant(JSONB(), "postgresql")

MONEY_SCALE = Decimal("0.0001")
_MONEY_FACTOR = 10_000


class UtcDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC, returned aware: SQLite keeps no zone and PostgreSQL needs none."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # raw SQL paths on SQLite
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC)


class Money(TypeDecorator[Decimal]):
    """BRL as integer ten-thousandths of a real: exact, summable in SQL, same on both databases."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | int | str | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        return int((Decimal(value) * _MONEY_FACTOR).to_integral_value())

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return (Decimal(int(value)) / _MONEY_FACTOR).quantize(MONEY_SCALE)


class _Clock:
    """The application's clock. Tests travel in time by moving `offset` (timers, business hours);
    nothing else ever sets it."""

    offset: timedelta = timedelta(0)


clock = _Clock()


def utcnow() -> datetime:
    return datetime.now(UTC) + clock.offset
