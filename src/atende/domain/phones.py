"""Phone numbers and WhatsApp ids: parsing, canonical form and "same subscriber" variants.

Pure functions, no I/O. Vocabulary:

- **E.164**: ``+`` followed by the country code and the national number, e.g. ``+5548991910234``.
  This is what we store as a contact's phone.
- **wa_id**: WhatsApp's id for a phone user: the same digits without ``+`` (``5548991910234``).
- **BSUID**: WhatsApp's business-scoped user id (``US.13491208655302741918``, ``BR.ENT.abc``).
  It is not a phone number and has no variants.

Some countries have two written forms for the same subscriber, and WhatsApp exposes both:

- Brazil: mobiles gained a leading 9 (``+55 DD 9XXXX-XXXX``, 13 digits), but accounts registered
  before that still arrive as ``55 DD XXXX-XXXX`` (12 digits, first local digit 6-9). Canonical: with
  the 9. Landlines (first local digit 2-5) have a single form.
- Mexico: ``+52 1 XXXXXXXXXX`` (old mobile form, still used by WhatsApp) and ``+52 XXXXXXXXXX``.
  Canonical: without the 1 (the form the numbering plan uses since 2019).
- Argentina: ``+54 9 XXXXXXXXXX`` (mobile, international form) and ``+54 XXXXXXXXXX``.
  Canonical: with the 9.

Matching rule (see providers/whatsapp-meta.md §3.6): match inbound against every variant, reply to
the exact wa_id last received, keep the canonical form as the contact's phone.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

__all__ = [
    "InvalidPhone",
    "canonical_phone",
    "digits",
    "format_phone_display",
    "is_bsuid",
    "normalize_phone",
    "phone_variants",
    "wa_id_variants",
]


class InvalidPhone(ValueError):
    """The value is not a usable phone number (garbage, too short/long, impossible for its country)."""


# A phone as people type it: optional "tel:" and one leading "+", then digits and the usual
# separators. Letters are refused on purpose (phonenumbers would read "1-800-FLOWERS" as digits,
# and a typo like "9919l-0234" would silently lose a digit).
_TYPED_PHONE_RE = re.compile(r"^\+?[\d\s().\-/]+$")
_TEL_PREFIX_RE = re.compile(r"^tel:", re.IGNORECASE)
_BSUID_RE = re.compile(r"^[A-Za-z]{2}\.[A-Za-z0-9][A-Za-z0-9._-]*$")

_POSSIBLE_REASONS = {
    ValidationResult.INVALID_COUNTRY_CODE: "unknown country code",
    ValidationResult.TOO_SHORT: "too short",
    ValidationResult.INVALID_LENGTH: "invalid length",
    ValidationResult.TOO_LONG: "too long",
}

# Brazilian DDD (area code): two digits, neither of them 0.
_BR_DDD = "123456789"
_BR_MOBILE_FIRST = "6789"  # first digit of an 8-digit (pre-9th-digit) mobile number
_MX_AREA_FIRST = "23456789"  # Mexican area codes never start with 0 or 1
_AR_AREA_FIRST = "123"  # Argentine area codes: 11, 2xx(x), 3xx(x)


def normalize_phone(raw: str | int, region: str = "BR", *, strict: bool = True) -> str:
    """Parse a phone number as typed or as a provider sends it and return its canonical E.164 form.

    ``region`` is the ISO 3166 country assumed when the number has no country code. Accepted, for
    example: ``"+55 (48) 99191-0234"``, ``"5548991910234"``, ``"48991910234"``, ``48991910234``
    (Kolmeya returns ints in national form), ``"048991910234"`` (trunk prefix), ``"0 21 48 …"``
    (carrier code), ``"0055 48 …"``, ``"tel:+55…"``.

    Canonicalisation: Brazilian mobiles written without the 9th digit (12 digits with the country
    code, first local digit 6-9) get it back; Mexican numbers lose the old mobile ``1`` after +52.
    Argentine numbers are kept as given: whether a ``+54`` number without the 9 is a mobile cannot be
    told from the digits (use :func:`canonical_phone` for matching keys).

    ``strict=True`` (default) requires a number valid for its country according to phonenumbers'
    metadata (for numbers an agent types). ``strict=False`` only requires a possible length for the
    country, for numbers a provider already delivered to (a wa_id, a Kolmeya reply) so that a stale
    metadata range never makes us drop a real customer.

    Raises :class:`InvalidPhone` with a message saying what is wrong.
    """
    text = _raw_to_text(raw)
    region = region.upper()
    candidate = _TEL_PREFIX_RE.sub("", text.strip()).strip()
    if not candidate:
        raise InvalidPhone("empty phone number")
    if not _TYPED_PHONE_RE.match(candidate):
        raise InvalidPhone(f"not a phone number (unexpected characters): {text!r}")
    only_digits = re.sub(r"\D", "", candidate)
    if len(only_digits) < 3:
        raise InvalidPhone(f"phone number too short: {text!r}")
    if not candidate.startswith("+"):
        candidate = _guess_international(only_digits, region) or candidate
    try:
        number = phonenumbers.parse(candidate, region)
    except NumberParseException as exc:
        raise InvalidPhone(f"not a phone number: {text!r} ({exc})") from exc

    nsn = str(number.national_number)
    if number.country_code == 55 and not number.italian_leading_zero and _is_br_mobile_without_9(nsn):
        number.national_number = int(nsn[:2] + "9" + nsn[2:])
    elif number.country_code == 52 and len(nsn) == 11 and nsn[0] == "1" and nsn[1] in _MX_AREA_FIRST:
        number.national_number = int(nsn[1:])

    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason not in (ValidationResult.IS_POSSIBLE, ValidationResult.IS_POSSIBLE_LOCAL_ONLY):
        raise InvalidPhone(f"impossible phone number ({_POSSIBLE_REASONS.get(reason, 'invalid')}): {text!r}")
    if reason == ValidationResult.IS_POSSIBLE_LOCAL_ONLY:
        raise InvalidPhone(f"phone number lacks the area code: {text!r}")
    if strict and not phonenumbers.is_valid_number(number):
        country = phonenumbers.region_code_for_country_code(number.country_code or 0)
        raise InvalidPhone(f"not a valid phone number for {country} (+{number.country_code}): {text!r}")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _raw_to_text(raw: str | int) -> str:
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise InvalidPhone(f"phone number must be a string or an int, got {type(raw).__name__}")
    if isinstance(raw, int):
        if raw <= 0:
            raise InvalidPhone(f"not a phone number: {raw!r}")
        return str(raw)
    return raw


def _guess_international(only_digits: str, region: str) -> str | None:
    """Digit strings that carry the country code without '+' (what providers and CSV files send)."""
    if region.upper() != "BR":
        return None
    # 55 + DDD + 8/9 digits. National numbers are 10/11 digits, so 12/13 digits starting with 55
    # can only be the international form (DDD 55 exists, but "55 9XXXX-XXXX" national is 11 digits).
    if only_digits.startswith("55") and len(only_digits) in (12, 13):
        return "+" + only_digits
    # "0055 48 99191-0234": written as an international call without a carrier code. In Brazil the
    # strict reading is "carrier 55 calling +48…", which nobody means.
    if only_digits.startswith("0055") and len(only_digits) in (14, 15):
        return "+" + only_digits[2:]
    return None


def _is_br_mobile_without_9(nsn: str) -> bool:
    """10-digit Brazilian national number whose local part is an old 8-digit mobile."""
    return len(nsn) == 10 and nsn[0] in _BR_DDD and nsn[1] in _BR_DDD and nsn[2] in _BR_MOBILE_FIRST


def phone_variants(e164: str) -> tuple[str, ...]:
    """Every E.164 spelling of the same subscriber, canonical first.

    - ``+55 DD 9XXXXXXXX`` ↔ ``+55 DD XXXXXXXX`` (first X in 6-9); canonical: 13 digits.
    - ``+52 1 XXXXXXXXXX`` ↔ ``+52 XXXXXXXXXX``; canonical: without the 1.
    - ``+54 9 XXXXXXXXXX`` ↔ ``+54 XXXXXXXXXX``; canonical: with the 9.
    - anything else: ``(e164,)``.

    Works on the digits only (no validity check), so it also serves raw wa_ids.
    """
    if not e164.startswith("+") or not e164[1:].isdigit() or not e164.isascii():
        return (e164,)
    return tuple("+" + d for d in _digit_variants(e164[1:])) or (e164,)


def _digit_variants(d: str) -> tuple[str, ...]:
    n = len(d)
    if d.startswith("55") and d[2] in _BR_DDD and d[3] in _BR_DDD:
        if n == 13 and d[4] == "9" and d[5] in _BR_MOBILE_FIRST:
            return (d, d[:4] + d[5:])
        if n == 12 and d[4] in _BR_MOBILE_FIRST:
            return (d[:4] + "9" + d[4:], d)
    elif d.startswith("52"):
        if n == 13 and d[2] == "1" and d[3] in _MX_AREA_FIRST:
            return (d[:2] + d[3:], d)
        if n == 12 and d[2] in _MX_AREA_FIRST:
            return (d, d[:2] + "1" + d[2:])
    elif d.startswith("54"):
        if n == 13 and d[2] == "9" and d[3] in _AR_AREA_FIRST:
            return (d, d[:2] + d[3:])
        if n == 12 and d[2] in _AR_AREA_FIRST:
            return (d[:2] + "9" + d[2:], d)
    return (d,)


def canonical_phone(e164: str) -> str:
    """The canonical spelling of ``e164`` (first of :func:`phone_variants`)."""
    return phone_variants(e164)[0]


def is_bsuid(s: str) -> bool:
    """True for a WhatsApp business-scoped user id (``CC.<alnum>``, e.g. ``US.1349…``, ``BR.ENT.abc``)."""
    return bool(_BSUID_RE.match(s))


def wa_id_variants(wa_id: str) -> tuple[str, ...]:
    """Every wa_id spelling of the same WhatsApp user, the received one FIRST, then the others.

    We reply to the exact wa_id last received, so order matters here (unlike
    :func:`phone_variants`, which puts the canonical form first). A BSUID, or anything that is not a
    plain digit string, is returned alone.
    """
    if "." in wa_id or is_bsuid(wa_id) or not (wa_id.isascii() and wa_id.isdigit()):
        return (wa_id,)
    others = tuple(v for v in _digit_variants(wa_id) if v != wa_id)
    return (wa_id, *others)


def digits(e164: str) -> str:
    """``+5548991910234`` → ``5548991910234`` (the wa_id / Kolmeya spelling)."""
    return e164.removeprefix("+")


def format_phone_display(e164: str) -> str:
    """Human spelling, e.g. ``+55 48 99191-0234`` (phonenumbers INTERNATIONAL format).

    Never raises: a value phonenumbers cannot read (a BSUID, garbage) is returned unchanged.
    """
    try:
        number = phonenumbers.parse(e164 if e164.startswith("+") else "+" + e164, None)
    except NumberParseException:
        return e164
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
