"""Message texts with variables: `{{nome}}`, `{{valor}}`, `{{vencimento}}`, `{{agente}}`, contact fields.

Pure, no I/O. Used by saved templates, quick replies, the composer and campaigns; the browser twin
is ``atende/web/static/js/template-vars.js`` (``tests/domain/test_variables_js_parity.py`` compares them).

- A placeholder is ``{{ name }}``: any text without braces between double braces, spaces around
  it ignored.
- Names are compared in a normal form, so ``{{Nome}}``, ``{{ NOME }}`` and a CSV column "Nome"
  meet, and so do ``{{Endereço}}`` and "endereco": accents dropped, lower case, spaces and hyphens
  as ``_``.
- A value that is missing (or blank) leaves the placeholder as written, and its name is reported:
  the text is never sent with a hole in it by accident.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["PLACEHOLDER_RE", "STANDARD", "Rendered", "normal_name", "normal_values", "render", "variables_in"]

PLACEHOLDER_RE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_SEPARATORS = re.compile(r"[\s\-]+")
_NOT_NAME = re.compile(r"[^a-z0-9_]")

#: The variables every text may use, besides the contact's fields and a campaign's CSV columns.
STANDARD: tuple[str, ...] = ("nome", "valor", "vencimento", "agente", "telefone")


def normal_name(name: str) -> str:
    """"Data de Vencimento" → "data_de_vencimento"; "Endereço" → "endereco"."""
    decomposed = unicodedata.normalize("NFKD", name.strip().lower())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NOT_NAME.sub("", _SEPARATORS.sub("_", plain))


def normal_values(values: Mapping[str, object]) -> dict[str, str]:
    """The values by normal name, as text; blank ones are left out (they count as missing)."""
    result: dict[str, str] = {}
    for key, value in values.items():
        if value is None:
            continue
        text = str(value).strip()
        name = normal_name(str(key))
        if text and name and name not in result:
            result[name] = text
    return result


def variables_in(text: str) -> list[str]:
    """The variables a text uses, in normal form, in order of first appearance."""
    seen: list[str] = []
    for raw in PLACEHOLDER_RE.findall(text):
        name = normal_name(raw)
        if name and name not in seen:
            seen.append(name)
    return seen


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    missing: tuple[str, ...]  # variables without a value, in order of first appearance


@lru_cache(maxsize=256)
def _compiled(text: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(literals, placeholders as written, their normal names): a text is parsed once, then filled
    for every row of a campaign."""
    literals: list[str] = []
    written: list[str] = []
    names: list[str] = []
    last = 0
    for match in PLACEHOLDER_RE.finditer(text):
        literals.append(text[last:match.start()])
        written.append(match.group(0))
        names.append(normal_name(match.group(1)))
        last = match.end()
    literals.append(text[last:])
    return tuple(literals), tuple(written), tuple(names)


def render(text: str, values: Mapping[str, str]) -> Rendered:
    """Fill the placeholders of `text` from `values` (keys already in normal form, see normal_values)."""
    if "{{" not in text:  # most texts of a campaign row: nothing to do
        return Rendered(text, ())
    literals, written, names = _compiled(text)
    out = [literals[0]]
    missing: list[str] = []
    for raw, name, literal in zip(written, names, literals[1:], strict=True):
        value = values.get(name) if name else None
        if value:
            out.append(value)
        else:
            out.append(raw)
            if name and name not in missing:
                missing.append(name)
        out.append(literal)
    return Rendered("".join(out), tuple(missing))
