from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atende.domain.money import format_brl, parse_brl


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("R$9.397,30", Decimal("9397.30")),
        ("R$ 9.397,30", Decimal("9397.30")),
        ("R$\u00a09.397,30", Decimal("9397.30")),  # Babel's non-breaking space
        ("r$ 9.397,30", Decimal("9397.30")),
        ("9397.30", Decimal("9397.30")),
        ("9397,30", Decimal("9397.30")),
        ("1500.50", Decimal("1500.50")),
        ("1.500", Decimal("1500")),  # pt-BR thousands
        ("1.500.000", Decimal("1500000")),
        ("1.500.000,99", Decimal("1500000.99")),
        ("9,397.30", Decimal("9397.30")),  # en-US spelling
        ("1,500,000", Decimal("1500000")),
        ("1,5", Decimal("1.5")),
        ("1,500", Decimal("1.5")),  # one comma is always the pt-BR decimal comma
        ("0.045", Decimal("0.045")),
        ("0,045", Decimal("0.045")),
        ("1500.500", Decimal("1500.5")),
        ("-R$ 3,00", Decimal("-3.00")),
        ("-R$\u00a03,00", Decimal("-3.00")),
        ("R$ -3,00", Decimal("-3.00")),
        ("\u2212R$ 3,00", Decimal("-3.00")),  # unicode minus
        ("+10", Decimal("10")),
        ("  42 ", Decimal("42")),
        (1500.5, Decimal("1500.5")),
        (0.1, Decimal("0.1")),
        (1500, Decimal("1500")),
        (-3, Decimal("-3")),
        (Decimal("9397.30"), Decimal("9397.30")),
    ],
)
def test_parse_brl(value: str | int | float | Decimal, expected: Decimal) -> None:
    result = parse_brl(value)
    assert isinstance(result, Decimal)
    assert result == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "abc",
        "R$",
        "R$ abc",
        "US$ 10,00",
        "1.2.3,4,5",
        "1,2,3",
        "1.50.0",
        "12,34.5",
        "1.500,",
        "1.500.",
        ",50",
        "--3",
        "-R$ -3,00",
        "1 500,00",
        "10e3",
        "NaN",
        "Infinity",
        "3,00 R$",
        float("nan"),
        float("inf"),
        Decimal("NaN"),
        Decimal("-Infinity"),
        True,
        None,
        [],
    ],
)
def test_parse_brl_rejects_garbage(value: object) -> None:
    with pytest.raises(ValueError):
        parse_brl(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("9397.30"), "R$ 9.397,30"),
        (Decimal("9397.3"), "R$ 9.397,30"),
        (Decimal("0"), "R$ 0,00"),
        (Decimal("-3"), "-R$ 3,00"),
        (Decimal("1234567.89"), "R$ 1.234.567,89"),
        (Decimal("0.045"), "R$ 0,05"),  # ROUND_HALF_UP (Babel alone would say 0,04)
        (Decimal("0.005"), "R$ 0,01"),
        (Decimal("-0.001"), "R$ 0,00"),  # no "-R$ 0,00"
        (7, "R$ 7,00"),
    ],
)
def test_format_brl(value: Decimal, expected: str) -> None:
    assert format_brl(value) == expected


def test_format_brl_exact_keeps_decimals() -> None:
    assert format_brl(Decimal("0.045"), exact=True) == "R$ 0,045"
    assert format_brl(Decimal("9397.3"), exact=True) == "R$ 9.397,30"
    assert format_brl(Decimal("-0.1235"), exact=True) == "-R$ 0,1235"


def test_format_brl_uses_plain_spaces_and_rejects_floats() -> None:
    assert "\u00a0" not in format_brl(Decimal("1"))
    with pytest.raises(TypeError):
        format_brl(1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        format_brl(Decimal("NaN"))


two_decimals = st.integers(-(10**13), 10**13).map(lambda cents: Decimal(cents).scaleb(-2))


@given(two_decimals)
def test_format_then_parse_round_trips(value: Decimal) -> None:
    text = format_brl(value)
    assert text.startswith(("R$ ", "-R$ "))
    parsed = parse_brl(text)
    assert parsed == value
    assert parsed.as_tuple().exponent == -2


@given(st.integers(-(10**9), 10**9).map(lambda units: Decimal(units).scaleb(-4)))
def test_exact_format_round_trips_4_decimal_prices(value: Decimal) -> None:
    assert parse_brl(format_brl(value, exact=True)) == value


@given(two_decimals)
def test_plain_decimal_strings_parse(value: Decimal) -> None:
    assert parse_brl(f"{value:f}") == value
    assert parse_brl(f"{value:f}".replace(".", ",")) == value


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12))
def test_floats_parse_through_their_repr(value: float) -> None:
    assert float(parse_brl(value)) == value
