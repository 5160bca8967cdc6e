"""Money in BRL: reading the many ways amounts arrive, and showing them the Brazilian way.

Amounts are :class:`~decimal.Decimal` everywhere (never float). Pure functions, no I/O.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import format_currency

__all__ = ["format_brl", "parse_brl"]

_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2007": " ", "\u2009": " "})
_MINUS = str.maketrans({"\u2212": "-", "\u2013": "-"})
_AMOUNT_RE = re.compile(r"^(?P<sign1>[-+]?)\s*(?P<cur>R\$)?\s*(?P<sign2>[-+]?)\s*(?P<num>\d[\d.,]*)$", re.IGNORECASE)
_GROUPED_RE = {sep: re.compile(r"^\d{1,3}(?:" + re.escape(sep) + r"\d{3})+$") for sep in ".,"}
_ONE_DOT_THOUSANDS_RE = re.compile(r"^[1-9]\d{0,2}\.\d{3}$")
_CENTS = Decimal("0.01")


def parse_brl(value: str | int | float | Decimal) -> Decimal:
    """Read an amount in reais.

    Accepts ``Decimal``, ``int``, finite ``float`` (through its shortest repr, so ``1500.5`` is
    ``Decimal("1500.5")``) and strings such as ``"R$9.397,30"``, ``"R$ 9.397,30"``, ``"-R$ 3,00"``,
    ``"R$ -3,00"``, ``"9397.30"``, ``"0.045"``, ``"1.500"``.

    Separators in strings:

    - both ``.`` and ``,``: the last one is the decimal separator (``9.397,30``, ``9,397.30``);
    - only ``,``: one comma is the decimal separator (``3,5`` = 3.5, also ``1,500`` = 1.5, as in
      pt-BR); several commas are thousands groups (``1,500,000``);
    - only ``.``: several dots are thousands groups (``1.500.000``); one dot followed by exactly
      three digits after a 1-3 digit integer part not starting with 0 is a thousands separator
      (``1.500`` = 1500, pt-BR); any other single dot is the decimal point (``9397.30``, ``0.045``).

    The result keeps the precision given (no rounding). Raises ``ValueError`` on anything else.
    """
    if isinstance(value, bool):
        raise ValueError("not an amount: a bool")
    if isinstance(value, Decimal):
        return _finite(value, value)
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return _finite(Decimal(repr(value)), value)
    if not isinstance(value, str):
        raise ValueError(f"not an amount: {type(value).__name__}")

    text = value.translate(_SPACES).translate(_MINUS).strip()
    match = _AMOUNT_RE.match(text)
    if not match:
        raise ValueError(f"not an amount in BRL: {value!r}")
    if match["sign1"] and match["sign2"]:
        raise ValueError(f"two signs in amount: {value!r}")
    negative = "-" in (match["sign1"], match["sign2"])
    try:
        amount = Decimal(_plain_number(match["num"], value))
    except InvalidOperation as exc:  # pragma: no cover - _plain_number only yields digits and one '.'
        raise ValueError(f"not an amount in BRL: {value!r}") from exc
    return -amount if negative else amount


def _plain_number(num: str, original: str) -> str:
    """'9.397,30' → '9397.30' following the separator rules of :func:`parse_brl`."""
    if num[-1] not in "0123456789":
        raise ValueError(f"amount ends with a separator: {original!r}")
    has_dot, has_comma = "." in num, "," in num
    if has_dot and has_comma:
        decimal_sep = "." if num.rfind(".") > num.rfind(",") else ","
        group_sep = "," if decimal_sep == "." else "."
        integer, _, fraction = num.rpartition(decimal_sep)
        if decimal_sep in integer or decimal_sep in fraction or group_sep in fraction:
            raise ValueError(f"misplaced separators in amount: {original!r}")
        _check_groups(integer, group_sep, original)
        return integer.replace(group_sep, "") + "." + fraction
    if has_comma:
        if num.count(",") == 1:
            return num.replace(",", ".")
        _check_groups(num, ",", original)
        return num.replace(",", "")
    if has_dot:
        if num.count(".") > 1:
            _check_groups(num, ".", original)
            return num.replace(".", "")
        if _ONE_DOT_THOUSANDS_RE.match(num):
            return num.replace(".", "")
        return num
    return num


def _check_groups(integer: str, group_sep: str, original: str) -> None:
    if group_sep in integer and not _GROUPED_RE[group_sep].match(integer):
        raise ValueError(f"bad thousands grouping in amount: {original!r}")


def _finite(amount: Decimal, original: object) -> Decimal:
    if not amount.is_finite():
        raise ValueError(f"not a finite amount: {original!r}")
    return amount


def format_brl(value: Decimal | int, *, exact: bool = False) -> str:
    """``Decimal("9397.3")`` → ``"R$ 9.397,30"``; negative: ``"-R$ 3,00"``.

    Uses Babel's pt_BR currency format with the non-breaking spaces turned into plain spaces.
    By default the value is rounded to centavos with ROUND_HALF_UP (Babel alone would round half to
    even: R$ 0,045 would show as R$ 0,04); ``exact=True`` keeps every decimal (at least two), for
    per-SMS prices such as ``"R$ 0,045"``. A value that rounds to zero never shows as ``-R$ 0,00``.
    """
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(f"format_brl needs a Decimal or an int, got {type(value).__name__}")
    amount = _finite(Decimal(value), value)
    if not exact:
        amount = amount.quantize(_CENTS, rounding=ROUND_HALF_UP)
    if amount == 0:
        amount = abs(amount)
    text = format_currency(amount, "BRL", locale="pt_BR", decimal_quantization=not exact)
    return text.translate(_SPACES)
