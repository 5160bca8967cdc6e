"""Integers from untrusted text: ASCII digits only (`"²".isdigit()` is True, `int("²")` raises) and
within a 64-bit signed column."""

from __future__ import annotations

MAX_ID = 2**63 - 1


def is_ascii_int(value: str, *, signed: bool = False) -> bool:
    digits = value[1:] if signed and value[:1] == "-" else value
    return bool(digits) and digits.isascii() and digits.isdigit()


def parse_id(value: object) -> int | None:
    """A positive database id, or None when `value` is anything else (text or int)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value <= MAX_ID else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not is_ascii_int(text) or len(text) > 19:
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def parse_int(value: str, *, default: int | None = None, low: int | None = None,
              high: int | None = None) -> int | None:
    """A bounded integer from text (headers, form fields); `default` when it is not one."""
    text = value.strip()
    if not is_ascii_int(text, signed=True) or len(text) > 20:
        return default
    number = int(text)
    if (low is not None and number < low) or (high is not None and number > high):
        return default
    return number
