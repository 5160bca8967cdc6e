"""A campaign's list of recipients: the CSV file (or a JSON list) read into rows, and each row's phone
checked. Pure, no I/O.

The file: UTF-8 (a BOM is fine), `;` or `,` (or tab) between fields, detected from the header line;
the header names the columns. The phone column is `telefone`, `phone` or `celular` (also `fone`,
`whatsapp`, `mobile`); every other column is a variable the text may use (`{{nome}}`, `{{valor}}`...),
by its normal name (see `atende.domain.variables`).

Phones are read the way `atende.domain.phones.normalize_phone` reads them (strict: a person typed
them). A fast path covers the common spelling of a Brazilian mobile without calling phonenumbers, so
that 100,000 rows take a fraction of a second; a test proves both paths agree.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import phonenumbers
from phonenumbers import PhoneNumberType

from atende.domain.phones import InvalidPhone, normalize_phone
from atende.domain.variables import normal_name, normal_values

__all__ = [
    "MAX_ROWS",
    "PHONE_COLUMNS",
    "CsvError",
    "PhoneCheck",
    "Row",
    "check_phone",
    "quick_br_mobile",
    "read_csv",
    "rows_from_list",
]

MAX_ROWS = 200_000
MAX_FIELD = 1000  # characters kept from one value (a stray blob never becomes a 4 KB SMS)
PHONE_COLUMNS: tuple[str, ...] = ("telefone", "phone", "celular", "fone", "whatsapp", "mobile")
_SEPARATORS = (";", ",", "\t")
_PHONE_PUNCTUATION = re.compile(r"[\s().\-/]")


def _br_mobile_pattern() -> re.Pattern[str]:
    """Brazilian mobile numbers as phonenumbers' metadata describes them (what is_valid_number checks)."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("BR")
    pattern = metadata.mobile.national_number_pattern if metadata and metadata.mobile else None
    return re.compile(pattern or r"(?!)")


_BR_MOBILE = _br_mobile_pattern()
_BR_MOBILE_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)


class CsvError(ValueError):
    """The file cannot be read as a list of recipients (the message says why, in pt-BR)."""


@dataclass(frozen=True, slots=True)
class Row:
    row_no: int  # 1 = first data row (the line after the header)
    phone: str  # as written
    values: dict[str, str]  # variables by normal name, blanks left out


def _separator(header_line: str) -> str:
    counts = {sep: header_line.count(sep) for sep in _SEPARATORS}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def read_csv(text: str, *, max_rows: int = MAX_ROWS) -> tuple[list[str], Iterator[Row]]:
    """The header (normal names) and the rows, read lazily. Raises CsvError for a file without a
    header, without a phone column or with repeated columns; rows beyond `max_rows` raise while
    iterating."""
    text = text.removeprefix("\ufeff")
    first_line = text.split("\n", 1)[0]
    if not first_line.strip():
        raise CsvError("o arquivo está vazio ou a primeira linha (cabeçalho) está em branco")
    reader = csv.reader(io.StringIO(text), delimiter=_separator(first_line))
    header = [normal_name(name) for name in next(reader)]
    phone_at = next((i for i, name in enumerate(header) if name in PHONE_COLUMNS), None)
    if phone_at is None:
        raise CsvError("o arquivo não tem a coluna do telefone: chame-a de telefone, phone ou celular")
    named = [name for name in header if name]
    if len(set(named)) != len(named):
        repeated = sorted({name for name in named if named.count(name) > 1})
        raise CsvError(f"colunas repetidas no cabeçalho: {', '.join(repeated)}")

    def rows() -> Iterator[Row]:
        row_no = 0
        for fields in reader:
            if not any(field.strip() for field in fields):
                continue  # blank lines (often the last one) are not recipients
            row_no += 1
            if row_no > max_rows:
                raise CsvError(f"o arquivo passa de {max_rows} destinatários: divida-o em campanhas menores")
            phone = fields[phone_at].strip() if phone_at < len(fields) else ""
            values = {name: value.strip()[:MAX_FIELD] for name, value in zip(header, fields, strict=False)
                      if name and value.strip() and name not in PHONE_COLUMNS}
            yield Row(row_no, phone[:100], values)

    return header, rows()


def rows_from_list(items: Iterable[Mapping[str, Any]], *, max_rows: int = MAX_ROWS) -> Iterator[Row]:
    """`recipients: [{"phone", "vars"}]` of the API, as rows."""
    for index, item in enumerate(items, start=1):
        if index > max_rows:
            raise CsvError(f"a lista passa de {max_rows} destinatários: divida-a em campanhas menores")
        raw = item.get("phone")
        phone = str(raw).strip() if isinstance(raw, str | int) and not isinstance(raw, bool) else ""
        given = item.get("vars")
        values = normal_values(given) if isinstance(given, Mapping) else {}
        yield Row(index, phone[:100], {k: v[:MAX_FIELD] for k, v in values.items()})


def quick_br_mobile(raw: str) -> str | None:
    """The E.164 form of a Brazilian mobile in its usual spellings ("(48) 99191-0234",
    "5548991910234", "+55 48 99191-0234"), or None to let normalize_phone decide."""
    compact = _PHONE_PUNCTUATION.sub("", raw)
    international = compact.startswith("+")
    digits = compact[1:] if international else compact
    if not digits.isascii() or not digits.isdigit():
        return None
    if len(digits) == 13 and digits.startswith("55"):
        national = digits[2:]
    elif len(digits) == 11 and not international:
        national = digits
    else:
        return None
    if national[2] == "9" and _BR_MOBILE.fullmatch(national):
        return "+55" + national
    return None


@dataclass(frozen=True, slots=True)
class PhoneCheck:
    address: str | None  # canonical E.164, when the number can be sent to
    reason: str | None = None  # "invalid" | "blocked"
    detail: str = ""


def check_phone(raw: str, channel: str) -> PhoneCheck:
    """Can this number receive the campaign on `channel`? SMS goes to Brazilian mobiles only (Kolmeya
    is a Brazilian short code; a landline cannot receive it)."""
    if not raw:
        return PhoneCheck(None, "invalid", "telefone em branco")
    quick = quick_br_mobile(raw)
    if quick is not None:
        return PhoneCheck(quick)
    try:
        e164 = normalize_phone(raw)
    except InvalidPhone:
        return PhoneCheck(None, "invalid", "número de telefone inválido")
    if channel == "sms":
        if not e164.startswith("+55"):
            return PhoneCheck(None, "blocked", "SMS só para celulares do Brasil")
        if phonenumbers.number_type(phonenumbers.parse(e164)) not in _BR_MOBILE_TYPES:
            return PhoneCheck(None, "blocked", "telefone fixo não recebe SMS")
    return PhoneCheck(e164)
