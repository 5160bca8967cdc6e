"""Finding a contact's Odoo partner by phone, and partners by name, CPF or phone.

Odoo keeps phones as people typed them ("(48) 99191-0234", "+55 48 9191-0234"). We ask with every
spelling that can name the same subscriber (9th digit or not) through the fields the installation has:
`phone_sanitized` (E.164, phone_validation), `phone_mobile_search` (compares digits only, Odoo 15's
mail.thread.phone) and ChatRoom's `conv_standard_numbers`; then keep only the candidates whose own
numbers really are ours, since a digits search also finds longer numbers that contain them.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from atende.domain.phones import InvalidPhone, canonical_phone, normalize_phone, phone_variants
from atende.integrations.odoo.client import OdooClient

MODEL = "res.partner"
BASE_FIELDS = ("name", "email", "vat", "phone", "mobile")
OPTIONAL_FIELDS = ("phone_sanitized", "conv_standard_numbers")
SEARCH_LIMIT = 20
_DIGITS = re.compile(r"\D")


@dataclass(frozen=True, slots=True)
class PartnerInfo:
    id: int
    name: str
    email: str | None = None
    vat: str | None = None
    phone: str | None = None
    mobile: str | None = None

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> PartnerInfo:
        def text(key: str) -> str | None:
            value = record.get(key)
            return str(value).strip() or None if value not in (None, False) else None

        return cls(id=int(record["id"]), name=text("name") or "", email=text("email"), vat=text("vat"),
                   phone=text("phone"), mobile=text("mobile"))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _or(terms: list[list[Any]]) -> list[Any]:
    """Odoo's prefix notation for term₁ OR term₂ OR …"""
    return ["|"] * (len(terms) - 1) + terms if terms else []


def national_digits(e164: str) -> str:
    """+5548991910234 → 48991910234 (what phone_mobile_search compares, without the country)."""
    digits = _DIGITS.sub("", e164)
    return digits[2:] if digits.startswith("55") else digits


def canonical_of(raw: str | None) -> str | None:
    """A phone as stored in Odoo → our canonical E.164 (None when it is not a phone)."""
    if not raw:
        return None
    try:
        return canonical_phone(normalize_phone(raw, strict=False))
    except InvalidPhone:
        return None


async def available_fields(client: OdooClient) -> set[str]:
    return set(await client.fields(MODEL))


def phone_domain(phones: list[str], fields: set[str]) -> list[Any]:
    """The OR of every way this installation can find these numbers."""
    variants = sorted({v for p in phones for v in phone_variants(p)})
    terms: list[list[Any]] = []
    if "phone_sanitized" in fields:
        terms.append(["phone_sanitized", "in", variants])
    if "phone_mobile_search" in fields:
        terms.extend(["phone_mobile_search", "ilike", national_digits(v)] for v in variants)
    else:  # old installations: formatted text, so the last four digits, checked afterwards
        for suffix in sorted({_DIGITS.sub("", v)[-4:] for v in variants}):
            terms.extend([["mobile", "ilike", suffix], ["phone", "ilike", suffix]])
    if "conv_standard_numbers" in fields:
        terms.extend(["conv_standard_numbers", "like", _DIGITS.sub("", v)] for v in variants)
    return _or(terms)


def matches(record: dict[str, Any], phones: list[str]) -> bool:
    """The partner's own numbers name one of ours (formatting and the 9th digit aside)."""
    wanted = {canonical_phone(p) for p in phones}
    candidates = [record.get("mobile"), record.get("phone"), record.get("phone_sanitized")]
    standard = record.get("conv_standard_numbers")
    if isinstance(standard, str):
        candidates.extend("+" + n.strip() for n in standard.split(",") if n.strip())
    return any(canonical_of(c) in wanted for c in candidates if isinstance(c, str))


async def find_by_phone(client: OdooClient, phones: list[str]) -> list[PartnerInfo]:
    """Partners whose numbers are these phones, best first (exact E.164 match, then oldest)."""
    if not phones:
        return []
    fields = await available_fields(client)
    read = [*BASE_FIELDS, *(f for f in OPTIONAL_FIELDS if f in fields)]
    records = await client.search_read(MODEL, phone_domain(phones, fields), read, limit=50, order="id")
    found = [r for r in records if matches(r, phones)]
    exact = set(phones)
    found.sort(key=lambda r: (r.get("phone_sanitized") not in exact, int(r["id"])))
    return [PartnerInfo.from_record(r) for r in found]


def search_domain(query: str, fields: set[str]) -> list[Any]:
    """Name, e-mail, CPF/CNPJ or phone."""
    q = query.strip()
    digits = _DIGITS.sub("", q)
    terms: list[list[Any]] = [["name", "ilike", q], ["email", "ilike", q]]
    if digits and len(digits) >= 3 and not re.search(r"[A-Za-zÀ-ÿ]", q):
        vats = {digits}
        if len(digits) == 11:
            vats.add(f"{digits[:3]}.{digits[3:6]}.{digits[6:9]}-{digits[9:]}")
        if len(digits) == 14:
            vats.add(f"{digits[:2]}.{digits[2:5]}.{digits[5:8]}/{digits[8:12]}-{digits[12:]}")
        terms = [["vat", "ilike", v] for v in sorted(vats)]
        if len(digits) >= 8:
            try:
                phones = [canonical_phone(normalize_phone(q, strict=False))]
            except InvalidPhone:
                phones = []
            if phones:
                return ["|", *_or(terms), *phone_domain(phones, fields)]
            if "phone_mobile_search" in fields:
                terms.append(["phone_mobile_search", "ilike", digits])
    else:
        terms.append(["vat", "ilike", q])
    return _or(terms)


async def search(client: OdooClient, query: str, *, limit: int = SEARCH_LIMIT) -> list[PartnerInfo]:
    if len(query.strip()) < 2:
        return []
    fields = await available_fields(client)
    records = await client.search_read(MODEL, search_domain(query, fields), list(BASE_FIELDS), limit=limit,
                                       order="name")
    return [PartnerInfo.from_record(r) for r in records]


async def read(client: OdooClient, partner_id: int) -> PartnerInfo | None:
    records = await client.search_read(MODEL, [["id", "=", int(partner_id)]], list(BASE_FIELDS), limit=1,
                                       context={"active_test": False})
    return PartnerInfo.from_record(records[0]) if records else None


async def read_many(client: OdooClient, partner_ids: list[int]) -> dict[int, PartnerInfo]:
    if not partner_ids:
        return {}
    records = await client.search_read(MODEL, [["id", "in", sorted(set(partner_ids))]], list(BASE_FIELDS),
                                       context={"active_test": False})
    return {int(r["id"]): PartnerInfo.from_record(r) for r in records}


async def create(client: OdooClient, *, name: str, phone: str) -> PartnerInfo:
    values = {"name": name or phone, "mobile": phone}
    partner_id = await client.create(MODEL, values)
    return PartnerInfo(id=partner_id, name=values["name"], mobile=phone)
