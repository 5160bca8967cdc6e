from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atende.domain.phones import (
    InvalidPhone,
    canonical_phone,
    digits,
    format_phone_display,
    is_bsuid,
    normalize_phone,
    phone_variants,
    wa_id_variants,
)

# The 67 Brazilian DDDs (Anatel).
_DDD_TEXT = (
    "11 12 13 14 15 16 17 18 19 21 22 24 27 28 31 32 33 34 35 37 38 41 42 43 44 45 46 47 48 49 "
    "51 53 54 55 61 62 63 64 65 66 67 68 69 71 73 74 75 77 79 81 82 83 84 85 86 87 88 89 "
    "91 92 93 94 95 96 97 98 99"
)
BR_DDDS = tuple(_DDD_TEXT.split())
assert len(BR_DDDS) == 67

ddds = st.sampled_from(BR_DDDS)
old_mobile_local = st.from_regex(r"\A[6-9][0-9]{7}\Z")  # 8-digit mobile from before the 9th digit
landline_local = st.from_regex(r"\A[2-5][0-9]{7}\Z")


# ---------------------------------------------------------------- normalize_phone: examples


@pytest.mark.parametrize(
    "raw",
    [
        "+55 (48) 99191-0234",
        "+55 48 99191-0234",
        "+5548991910234",
        "5548991910234",
        "48991910234",
        "(48) 99191-0234",
        "048991910234",
        "0 21 48 99191-0234",  # national long distance with carrier code 21
        "0055 48 99191-0234",
        "tel:+55-48-99191-0234",
        48991910234,  # Kolmeya returns national-format ints
        5548991910234,
        "  +55 48 99191 0234\n",
    ],
)
def test_normalize_accepts_usual_spellings(raw: str | int) -> None:
    assert normalize_phone(raw) == "+5548991910234"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("554881910234", "+5548981910234"),  # 12 digits, mobile without the 9
        ("+55 48 8191-0234", "+5548981910234"),
        ("4881910234", "+5548981910234"),
        (4861910234, "+5548961910234"),
        ("+55 11 7123-4567", "+5511971234567"),
    ],
)
def test_normalize_restores_br_ninth_digit(raw: str | int, expected: str) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+55 48 3222-1234", "+554832221234"),
        ("554832221234", "+554832221234"),
        ("4832221234", "+554832221234"),
        ("(11) 2345-6789", "+551123456789"),
        ("+55 51 5123-4567", "+555151234567"),
    ],
)
def test_normalize_leaves_br_landlines_alone(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


def test_national_number_with_ddd_55_is_not_read_as_country_code() -> None:
    # DDD 55 (Santa Maria, RS): 11 national digits, not "+55" + 9 digits.
    assert normalize_phone("55991234567") == "+5555991234567"
    assert normalize_phone("5555991234567") == "+5555991234567"


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+52 1 55 1234 5678", "BR", "+525512345678"),  # old Mexican mobile form loses the 1
        ("+52 55 1234 5678", "BR", "+525512345678"),
        ("55 1234 5678", "MX", "+525512345678"),
        ("+54 9 11 2345-6789", "BR", "+5491123456789"),
        ("011 15 2345-6789", "AR", "+5491123456789"),  # national mobile with the 15 prefix
        ("+54 11 2345-6789", "BR", "+541123456789"),  # kept: could be a landline
        ("+1 202-555-0123", "BR", "+12025550123"),
        ("(202) 555-0123", "US", "+12025550123"),
        ("48 99191-0234", "br", "+5548991910234"),  # region case does not matter
        ("+44 20 7946 0958", "BR", "+442079460958"),
        ("+39 06 1234 5678", "BR", "+390612345678"),  # Italian leading zero kept
        ("+351 912 345 678", "BR", "+351912345678"),
    ],
)
def test_normalize_other_countries(raw: str, region: str, expected: str) -> None:
    assert normalize_phone(raw, region) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "abc",
        "tel:",
        "12",
        "+55 11 1234",  # too short
        "+55 48 99191-0234 ext 12",  # letters
        "48 9919l-0234",  # a letter l instead of a 1
        "99191-0234",  # no DDD
        "3222-1234",
        "+55 00 99191-0234",  # DDD 00
        "+55 11 81234-5678",  # 9-digit local number must start with 9
        "+999 1234567",  # no such country code
        "+0 123 4567",
        "9" * 30,
        "+55 48 99191-0234 #",
        "++5548991910234",
        "5548991910234+",
        "+1 555-123-4567",  # impossible US area code 555
    ],
)
def test_normalize_rejects_garbage(raw: str) -> None:
    with pytest.raises(InvalidPhone):
        normalize_phone(raw)


@pytest.mark.parametrize("raw", [0, -48991910234, True, 3.5, None, b"5548991910234"])
def test_normalize_rejects_wrong_types(raw: object) -> None:
    with pytest.raises(InvalidPhone):
        normalize_phone(raw)  # type: ignore[arg-type]


def test_invalid_phone_is_a_value_error_with_a_message() -> None:
    with pytest.raises(ValueError, match="too short"):
        normalize_phone("+55 11 1234")
    with pytest.raises(InvalidPhone, match="unexpected characters"):
        normalize_phone("call me")


def test_non_strict_accepts_possible_but_unallocated_numbers() -> None:
    with pytest.raises(InvalidPhone):
        normalize_phone("+1 555-123-4567")
    assert normalize_phone("+1 555-123-4567", strict=False) == "+15551234567"
    with pytest.raises(InvalidPhone, match="too short"):
        normalize_phone("+55 11 1234", strict=False)


# ---------------------------------------------------------------- variants: examples


@pytest.mark.parametrize(
    ("e164", "expected"),
    [
        ("+5548991910234", ("+5548991910234", "+554891910234")),
        ("+554891910234", ("+5548991910234", "+554891910234")),
        ("+5511961234567", ("+5511961234567", "+551161234567")),
        ("+5511912345678", ("+5511912345678",)),  # new-range mobile: never had an 8-digit form
        ("+554832221234", ("+554832221234",)),  # landline
        ("+525512345678", ("+525512345678", "+5215512345678")),
        ("+5215512345678", ("+525512345678", "+5215512345678")),
        ("+5491123456789", ("+5491123456789", "+541123456789")),
        ("+541123456789", ("+5491123456789", "+541123456789")),
        ("+12025550123", ("+12025550123",)),
        ("+442079460958", ("+442079460958",)),
        ("5548991910234", ("5548991910234",)),  # not E.164 (no '+'): left alone
        ("US.13491208655302741918", ("US.13491208655302741918",)),
        ("", ("",)),
    ],
)
def test_phone_variants(e164: str, expected: tuple[str, ...]) -> None:
    assert phone_variants(e164) == expected
    assert canonical_phone(e164) == expected[0]


@pytest.mark.parametrize(
    ("wa_id", "expected"),
    [
        ("554891910234", ("554891910234", "5548991910234")),  # received form first
        ("5548991910234", ("5548991910234", "554891910234")),
        ("5215512345678", ("5215512345678", "525512345678")),
        ("525512345678", ("525512345678", "5215512345678")),
        ("5491123456789", ("5491123456789", "541123456789")),
        ("541123456789", ("541123456789", "5491123456789")),
        ("554832221234", ("554832221234",)),
        ("16505551234", ("16505551234",)),
        ("US.13491208655302741918", ("US.13491208655302741918",)),
        ("BR.ENT.abc", ("BR.ENT.abc",)),
        ("+5548991910234", ("+5548991910234",)),
    ],
)
def test_wa_id_variants(wa_id: str, expected: tuple[str, ...]) -> None:
    assert wa_id_variants(wa_id) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("US.13491208655302741918", True),
        ("BR.ENT.abc", True),
        ("US.ENT.1234abcd", True),
        ("5548991910234", False),
        ("+5548991910234", False),
        ("", False),
        ("US.", False),
        ("U.123", False),
        ("US 123", False),
    ],
)
def test_is_bsuid(value: str, expected: bool) -> None:
    assert is_bsuid(value) is expected


def test_digits_and_display() -> None:
    assert digits("+5548991910234") == "5548991910234"
    assert digits("5548991910234") == "5548991910234"
    assert format_phone_display("+5548991910234") == "+55 48 99191-0234"
    assert format_phone_display("+554832221234") == "+55 48 3222-1234"
    assert format_phone_display("+5491123456789") == "+54 9 11 2345-6789"
    assert format_phone_display("+12025550123") == "+1 202-555-0123"
    # never raises on what it cannot read
    assert format_phone_display("US.13491208655302741918") == "US.13491208655302741918"
    assert format_phone_display("") == ""


# ---------------------------------------------------------------- properties


@st.composite
def br_mobile_spellings(draw: st.DrawFn) -> tuple[str | int, str]:
    """A Brazilian mobile in some spelling, and its canonical E.164."""
    ddd = draw(ddds)
    local = draw(old_mobile_local)
    canonical = f"+55{ddd}9{local}"
    with_nine = draw(st.booleans())
    subscriber = ("9" + local) if with_nine else local
    options: list[str | int] = [
        f"+55{ddd}{subscriber}",
        f"55{ddd}{subscriber}",
        f"{ddd}{subscriber}",
        f"0{ddd}{subscriber}",
        f"+55 ({ddd}) {subscriber[:-4]}-{subscriber[-4:]}",
        f"({ddd}) {subscriber[:-4]}-{subscriber[-4:]}",
        int(f"{ddd}{subscriber}"),
        int(f"55{ddd}{subscriber}"),
    ]
    return draw(st.sampled_from(options)), canonical


@given(br_mobile_spellings())
def test_every_br_mobile_spelling_normalizes_to_the_canonical_form(case: tuple[str | int, str]) -> None:
    raw, canonical = case
    assert normalize_phone(raw) == canonical


@given(ddds, old_mobile_local)
def test_12_and_13_digit_br_mobiles_are_the_same(ddd: str, local: str) -> None:
    twelve, thirteen = f"55{ddd}{local}", f"55{ddd}9{local}"
    assert normalize_phone(twelve) == normalize_phone(thirteen) == normalize_phone("+" + twelve)
    assert normalize_phone(twelve) == f"+{thirteen}"
    assert phone_variants("+" + twelve) == phone_variants("+" + thirteen) == (f"+{thirteen}", f"+{twelve}")


@given(ddds, landline_local)
def test_br_landlines_are_untouched(ddd: str, local: str) -> None:
    assert normalize_phone(f"55{ddd}{local}") == f"+55{ddd}{local}"
    assert phone_variants(f"+55{ddd}{local}") == (f"+55{ddd}{local}",)


@given(st.one_of(br_mobile_spellings().map(lambda case: case[0]), st.text("0123456789 +()-./", max_size=20)))
def test_normalize_is_idempotent_and_only_raises_invalid_phone(raw: str | int) -> None:
    try:
        once = normalize_phone(raw)
    except InvalidPhone:
        return
    assert once.startswith("+") and once[1:].isdigit()
    assert normalize_phone(once) == once
    assert normalize_phone(digits(once)) == once or not once.startswith("+55")


@given(st.text(max_size=40))
def test_normalize_never_raises_anything_but_invalid_phone(raw: str) -> None:
    try:
        result = normalize_phone(raw)
    except InvalidPhone:
        return
    assert result.startswith("+")


# E.164-looking strings biased towards the countries with variants.
e164ish = st.builds(
    lambda prefix, rest: "+" + prefix + rest,
    st.sampled_from(["55", "52", "521", "54", "549", "1", "44", "5511", "5548", "5555"]),
    st.from_regex(r"\A[0-9]{6,12}\Z"),
)


@given(e164ish)
def test_variants_form_one_class_with_one_canonical(e164: str) -> None:
    variants = phone_variants(e164)
    assert e164 in variants
    assert len(set(variants)) == len(variants)
    for member in variants:
        assert set(phone_variants(member)) == set(variants)
        assert phone_variants(member)[0] == variants[0]
        assert canonical_phone(member) == variants[0]
    assert canonical_phone(canonical_phone(e164)) == canonical_phone(e164)


@given(e164ish.map(digits))
def test_wa_id_variants_start_with_the_received_id(wa_id: str) -> None:
    variants = wa_id_variants(wa_id)
    assert variants[0] == wa_id
    assert set(variants) == {digits(v) for v in phone_variants("+" + wa_id)}
    assert len(set(variants)) == len(variants)


@given(st.from_regex(r"\A[A-Z]{2}\.(ENT\.)?[A-Za-z0-9]{1,128}\Z"))
def test_bsuids_have_no_variants(bsuid: str) -> None:
    assert is_bsuid(bsuid)
    assert wa_id_variants(bsuid) == (bsuid,)


@given(ddds, old_mobile_local)
def test_a_valid_normalized_number_is_its_own_canonical(ddd: str, local: str) -> None:
    normalized = normalize_phone(f"{ddd}{local}")
    assert canonical_phone(normalized) == normalized
    assert format_phone_display(normalized) == f"+55 {ddd} 9{local[:4]}-{local[4:]}"
