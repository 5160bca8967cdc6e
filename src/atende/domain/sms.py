"""SMS length: encoding (GSM-7 or UCS-2), number of parts (segments) and cost.

The rule (3GPP TS 23.038 alphabets, TS 23.040 concatenation), mirrored by the browser twin
``atende/web/static/js/sms-segments.js`` (keep both in step; ``tests/domain/test_sms_js_parity.py``
compares them):

- **GSM-7** when every character is in the GSM 03.38 default alphabet or its extension table.
  Units are septets: 1 per default-alphabet character, 2 per extension character
  (``^ { } \\ [ ~ ] | €`` and form feed, sent as ESC + code). One SMS holds 160 septets; a
  multi-part SMS holds 153 per part (7 septets go to the concatenation header).
- **UCS-2** as soon as one character is outside both tables (``ã õ ç á í ó ú â ê ô``, emoji, …).
  Units are UTF-16 code units (an emoji outside the BMP is 2). One SMS holds 70; a part holds 67.
- Parts are filled character by character and a character is never split across parts: a GSM-7
  extension character's two septets stay together (a part may then hold 152) and a UTF-16 surrogate
  pair stays together (a part may then hold 66). That is why the count is a fill, not a division.
- The empty text is 0 units and **0 segments** (nothing is sent, nothing is billed); its
  ``per_segment`` is 160 and ``remaining`` 160, what the composer shows before typing.

Kolmeya's own counting/billing rule is not published (providers/kolmeya.md §4); this is the standard
one that handsets and most gateways apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

__all__ = [
    "GSM7_BASIC",
    "GSM7_EXTENSION",
    "SmsCount",
    "count_segments",
    "is_gsm7",
    "sms_cost",
    "text_units",
]

# GSM 03.38 default alphabet, in code order 0x00-0x7F (0x1B is the escape to the extension table,
# not a character, so it is left out).
GSM7_BASIC: frozenset[str] = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"  # 0x00-0x0F
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"  # 0x10-0x1F (0x1B = ESC, left out)
    " !\"#¤%&'()*+,-./"  # 0x20-0x2F (0x24 is ¤, the dollar sign is 0x02)
    "0123456789:;<=>?"  # 0x30-0x3F
    "¡ABCDEFGHIJKLMNO"  # 0x40-0x4F
    "PQRSTUVWXYZÄÖÑÜ§"  # 0x50-0x5F
    "¿abcdefghijklmno"  # 0x60-0x6F
    "pqrstuvwxyzäöñüà"  # 0x70-0x7F
)

# GSM 03.38 extension table (each one costs ESC + code = 2 septets): form feed 0x0A, ^ 0x14,
# { 0x28, } 0x29, \ 0x2F, [ 0x3C, ~ 0x3D, ] 0x3E, | 0x40, € 0x65.
GSM7_EXTENSION: frozenset[str] = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE = 160
GSM7_MULTI = 153
UCS2_SINGLE = 70
UCS2_MULTI = 67


@dataclass(frozen=True)
class SmsCount:
    """Result of :func:`count_segments`.

    ``units``: septets (gsm7) or UTF-16 code units (ucs2) of the whole text.
    ``segments``: SMS parts billed (0 for the empty text).
    ``per_segment``: capacity in force: 160/153 (gsm7) or 70/67 (ucs2), single-part vs multi-part.
    ``remaining``: units still free in the current (last) part.
    """

    encoding: Literal["gsm7", "ucs2"]
    segments: int
    units: int
    per_segment: int
    remaining: int


def is_gsm7(text: str) -> bool:
    """True when every character of ``text`` is in the GSM-7 default alphabet or extension table."""
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def _unit_costs(text: str, encoding: Literal["gsm7", "ucs2"]) -> list[int]:
    if encoding == "gsm7":
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    # A Python str holds code points; outside the BMP one code point is a UTF-16 surrogate pair.
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def text_units(text: str) -> int:
    """Units of ``text`` in the encoding it needs (septets for gsm7, UTF-16 code units for ucs2)."""
    return count_segments(text).units


_GSM7_ALL: frozenset[str] = GSM7_BASIC | GSM7_EXTENSION


def count_segments(text: str) -> SmsCount:
    """Encoding, parts and units of an SMS body (see the module docstring for the exact rule)."""
    chars = set(text)
    encoding: Literal["gsm7", "ucs2"] = "gsm7" if chars <= _GSM7_ALL else "ucs2"
    single, multi = (GSM7_SINGLE, GSM7_MULTI) if encoding == "gsm7" else (UCS2_SINGLE, UCS2_MULTI)
    one_unit_each = not (chars & GSM7_EXTENSION) if encoding == "gsm7" else max(map(ord, chars)) <= 0xFFFF
    if one_unit_each:
        # Every character is one unit, so the fill is a division (campaigns count 100,000 texts).
        units = len(text)
        if units == 0:
            return SmsCount(encoding, 0, 0, single, single)
        if units <= single:
            return SmsCount(encoding, 1, units, single, single - units)
        segments = -(-units // multi)
        return SmsCount(encoding, segments, units, multi, multi - (units - (segments - 1) * multi))
    costs = _unit_costs(text, encoding)
    units = sum(costs)
    if units == 0:
        return SmsCount(encoding, 0, 0, single, single)
    if units <= single:
        return SmsCount(encoding, 1, units, single, single - units)
    segments, used = 1, 0
    for cost in costs:
        if used + cost > multi:  # never split an extension pair or a surrogate pair
            segments += 1
            used = 0
        used += cost
    return SmsCount(encoding, segments, units, multi, multi - used)


_COST_PLACES = Decimal("0.0001")


def sms_cost(segments: int, price_per_segment: Decimal) -> Decimal:
    """Cost of ``segments`` parts at ``price_per_segment`` BRL each.

    Returned with exactly 4 decimal places (ROUND_HALF_UP): per-SMS prices such as R$ 0,045 exist,
    so rounding each message to centavos would lose money over a campaign. Round totals to centavos
    only when showing them (``money.format_brl``).
    """
    if isinstance(segments, bool) or not isinstance(segments, int):
        raise TypeError("segments must be an int")
    if not isinstance(price_per_segment, Decimal):
        raise TypeError("price_per_segment must be a Decimal (never a float)")
    if segments < 0:
        raise ValueError("segments cannot be negative")
    if not price_per_segment.is_finite() or price_per_segment < 0:
        raise ValueError(f"invalid price per segment: {price_per_segment}")
    return (price_per_segment * segments).quantize(_COST_PLACES, rounding=ROUND_HALF_UP)
