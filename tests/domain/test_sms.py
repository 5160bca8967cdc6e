from __future__ import annotations

import math
import string
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atende.domain.sms import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    SmsCount,
    count_segments,
    is_gsm7,
    sms_cost,
    text_units,
)

GSM_ALPHABET = "".join(sorted(GSM7_BASIC | GSM7_EXTENSION))
NOT_GSM = "ãõçáíóúâêôÁÍÓÚÂÊÔÃÕ`\tðþœ😀漢"

# ---------------------------------------------------------------- tables


def test_table_sizes() -> None:
    assert len(GSM7_BASIC) == 127  # 128 codes minus ESC
    assert len(GSM7_EXTENSION) == 10
    assert not GSM7_BASIC & GSM7_EXTENSION


@pytest.mark.parametrize("ch", list("éèùìòÇØøÅåÄÖÑÜ§¿¡ßÆæÉΔΦΓΛΩΠΨΣΘΞäöñüà£¥¤@$_\n\r"))
def test_in_gsm7_basic(ch: str) -> None:
    assert ch in GSM7_BASIC
    assert count_segments(ch) == SmsCount("gsm7", 1, 1, 160, 159)


@pytest.mark.parametrize("ch", list("^{}\\[~]|€\f"))
def test_in_gsm7_extension_costs_two(ch: str) -> None:
    assert count_segments(ch) == SmsCount("gsm7", 1, 2, 160, 158)


@pytest.mark.parametrize("ch", [*"ãõçáíóúâêôÁÃÕÂÊÔÍÓÚ`\tœ漢", "😀"])
def test_outside_gsm7_switches_to_ucs2(ch: str) -> None:
    assert not is_gsm7(ch)
    result = count_segments("Olá mundo " + ch)
    assert result.encoding == "ucs2"
    assert result.per_segment == 70


# ---------------------------------------------------------------- examples and boundaries


def test_empty_text_is_zero_segments() -> None:
    assert count_segments("") == SmsCount("gsm7", 0, 0, 160, 160)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a" * 160, SmsCount("gsm7", 1, 160, 160, 0)),
        ("a" * 161, SmsCount("gsm7", 2, 161, 153, 145)),
        ("a" * 306, SmsCount("gsm7", 2, 306, 153, 0)),
        ("a" * 307, SmsCount("gsm7", 3, 307, 153, 152)),
        ("€" * 80, SmsCount("gsm7", 1, 160, 160, 0)),
        ("€" * 81, SmsCount("gsm7", 2, 162, 153, 143)),  # parts of 152 + 10
        # 152 septets then an extension char: it does not fit the 1 septet left -> new part
        ("a" * 152 + "€" + "a" * 7, SmsCount("gsm7", 2, 161, 153, 144)),
        ("a" * 151 + "€" + "a" * 8, SmsCount("gsm7", 2, 161, 153, 145)),
        ("ã" * 70, SmsCount("ucs2", 1, 70, 70, 0)),
        ("ã" * 71, SmsCount("ucs2", 2, 71, 67, 63)),
        ("ã" * 134, SmsCount("ucs2", 2, 134, 67, 0)),
        ("ã" * 135, SmsCount("ucs2", 3, 135, 67, 66)),
        ("😀" * 35, SmsCount("ucs2", 1, 70, 70, 0)),
        ("😀" * 36, SmsCount("ucs2", 2, 72, 67, 61)),  # first part holds 33 emoji = 66 units
        # 66 units then an emoji: the surrogate pair is not split -> new part
        ("ã" * 66 + "😀" + "ã" * 3, SmsCount("ucs2", 2, 71, 67, 62)),
        ("ã" * 65 + "😀" + "ã" * 4, SmsCount("ucs2", 2, 71, 67, 63)),
        ("Olá", SmsCount("ucs2", 1, 3, 70, 67)),
        ("Hello {name}", SmsCount("gsm7", 1, 14, 160, 146)),
    ],
    ids=lambda value: f"{value[:4]}..{len(value)}" if isinstance(value, str) else "",
)
def test_boundaries(text: str, expected: SmsCount) -> None:
    assert count_segments(text) == expected
    assert text_units(text) == expected.units


def test_typical_portuguese_message() -> None:
    text = "Olá! Seu boleto de R$ 120,00 vence amanhã. Responda SAIR para não receber mais mensagens."
    result = count_segments(text)
    assert result.encoding == "ucs2"
    assert result.units == len(text)
    assert result.segments == 2


def test_count_is_frozen() -> None:
    result = count_segments("x")
    with pytest.raises(AttributeError):
        result.segments = 9  # type: ignore[misc]


# ---------------------------------------------------------------- cost


@pytest.mark.parametrize(
    ("segments", "price", "expected"),
    [
        (0, Decimal("0.08"), Decimal("0.0000")),
        (1, Decimal("0.08"), Decimal("0.0800")),
        (3, Decimal("0.045"), Decimal("0.1350")),
        (1000, Decimal("0.045"), Decimal("45.0000")),
        (1, Decimal("0.00005"), Decimal("0.0001")),  # ROUND_HALF_UP
        (1, Decimal("0.00004"), Decimal("0.0000")),
        (7, Decimal("0.123456"), Decimal("0.8642")),
    ],
)
def test_sms_cost(segments: int, price: Decimal, expected: Decimal) -> None:
    cost = sms_cost(segments, price)
    assert cost == expected
    assert cost.as_tuple().exponent == -4


def test_sms_cost_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        sms_cost(-1, Decimal("0.1"))
    with pytest.raises(ValueError):
        sms_cost(1, Decimal("-0.1"))
    with pytest.raises(ValueError):
        sms_cost(1, Decimal("NaN"))
    with pytest.raises(TypeError):
        sms_cost(1, 0.1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        sms_cost(True, Decimal("0.1"))


@given(st.integers(0, 10_000), st.decimals(min_value=0, max_value=10, places=4))
def test_sms_cost_is_exact_for_4_decimal_prices(segments: int, price: Decimal) -> None:
    assert sms_cost(segments, price) == price * segments


# ---------------------------------------------------------------- properties

printable_ascii_gsm = st.text(st.sampled_from([c for c in string.printable if c not in "`\t\x0b"]))
gsm_text = st.text(st.sampled_from(GSM_ALPHABET), max_size=400)
any_text = st.text(max_size=400)
mixed_text = st.text(st.sampled_from(GSM_ALPHABET + "ãçõé😀🇧🇷€^{}" + "漢"), max_size=400)


@given(printable_ascii_gsm)
def test_printable_ascii_is_gsm7(text: str) -> None:
    # Every printable ASCII character is GSM-7 except the backtick (and tab / vertical tab).
    assert count_segments(text).encoding == "gsm7"


def test_backtick_is_the_printable_ascii_exception() -> None:
    assert [c for c in string.printable if not is_gsm7(c)] == ["`", "\t", "\x0b"]


@given(any_text, st.sampled_from(NOT_GSM), st.integers(0, 400))
def test_one_non_gsm_char_makes_ucs2(text: str, ch: str, at: int) -> None:
    at = min(at, len(text))
    assert count_segments(text[:at] + ch + text[at:]).encoding == "ucs2"


@given(gsm_text)
def test_gsm_only_text_is_gsm7(text: str) -> None:
    result = count_segments(text)
    assert result.encoding == "gsm7"
    assert result.units == len(text) + sum(ch in GSM7_EXTENSION for ch in text)


@given(st.one_of(mixed_text, any_text), st.characters())
def test_appending_never_decreases_segments(text: str, ch: str) -> None:
    assert count_segments(text + ch).segments >= count_segments(text).segments
    assert count_segments(text + ch).units > count_segments(text).units or (
        count_segments(text).encoding != count_segments(text + ch).encoding
    )


@given(st.one_of(mixed_text, any_text))
def test_single_segment_exactly_up_to_the_limit(text: str) -> None:
    result = count_segments(text)
    single = 160 if result.encoding == "gsm7" else 70
    assert (result.segments == 1) == (0 < result.units <= single)
    assert (result.segments == 0) == (text == "")
    assert result.per_segment == (single if result.segments <= 1 else (153 if single == 160 else 67))
    assert 0 <= result.remaining <= result.per_segment


def _encoded_units(text: str, encoding: str) -> list[str]:
    """The text as the handset encodes it, one item per unit, built independently of sms.py."""
    if encoding == "ucs2":
        raw = text.encode("utf-16-be", "surrogatepass")
        return [raw[i : i + 2].hex() for i in range(0, len(raw), 2)]
    units: list[str] = []
    for ch in text:
        if ch in "^{}\\[~]|€\f":
            units += ["ESC", ch]
        else:
            units.append(ch)
    return units


def _split_parts(units: list[str], encoding: str) -> list[list[str]]:
    """Cut an encoded unit list into parts the way a handset does (brute force)."""
    size = 153 if encoding == "gsm7" else 67
    parts: list[list[str]] = []
    rest = units
    while rest:
        part = rest[:size]
        last = part[-1]
        broken_pair = (encoding == "gsm7" and last == "ESC") or (
            encoding == "ucs2" and "d800" <= last <= "dbff" and len(rest) > len(part)
        )
        if broken_pair:
            part = part[:-1]
        parts.append(part)
        rest = rest[len(part) :]
    return parts


def _check_against_brute_force(text: str) -> None:
    result = count_segments(text)
    units = _encoded_units(text, result.encoding)
    assert result.units == len(units)
    single = 160 if result.encoding == "gsm7" else 70
    if len(units) <= single:
        assert result.segments == (1 if units else 0)
        return
    parts = _split_parts(units, result.encoding)
    assert [unit for part in parts for unit in part] == units
    assert result.segments == len(parts)
    assert result.remaining == result.per_segment - len(parts[-1])
    assert math.ceil(len(units) / result.per_segment) <= result.segments
    assert result.segments <= math.ceil(len(units) / (result.per_segment - 1))


@given(st.one_of(mixed_text, any_text, gsm_text))
def test_segments_match_a_brute_force_split(text: str) -> None:
    _check_against_brute_force(text)


@given(st.lists(st.sampled_from(["a", "€", "ã", "😀"]), min_size=140, max_size=330).map("".join))
def test_boundary_heavy_texts_match_brute_force(text: str) -> None:
    _check_against_brute_force(text)


@given(st.lists(st.sampled_from(["a", "€", "^"]), min_size=150, max_size=330).map("".join))
def test_boundary_heavy_gsm_texts_match_brute_force(text: str) -> None:
    _check_against_brute_force(text)
