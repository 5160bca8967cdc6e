"""What a search box's text means, without I/O: words, phone-number digits, and marked snippets.

- Words are compared without accents or case ("nao" finds "não"); the last word is a prefix
  ("bolet" finds "boletos": it may still be being typed). Every word must match.
- A run of at least `MIN_DIGITS` digits (spaces, dots, dashes and parentheses allowed between them)
  is also a phone number or part of one: it finds its contact with or without the country code (55)
  and with or without the Brazilian 9th digit.
- Snippets come back from the database with `START`/`STOP` around the matches; `marked()` escapes
  the text for HTML and turns those into `<mark>`.
"""

from __future__ import annotations

import html
import re
import unicodedata

MAX_WORDS = 8
MAX_WORD_CHARS = 40
MIN_DIGITS = 4
START, STOP = "\x02", "\x03"  # never in message text that reaches the index unescaped in the UI

_WORD = re.compile(r"[^\W_]+")  # letters and digits: what both tokenizers keep
_NUMBER = re.compile(r"\+?\d[\d\s().-]*\d")
_BR_DDD = "123456789"
_BR_MOBILE_FIRST = "6789"


def fold(text: str) -> str:
    """Lower case without accents (what both databases' indexes compare)."""
    # Compatibility forms first (𝕬 → A), then case, then once more: case folding can compose again.
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(q: str) -> list[str]:
    """The words of a query, folded, deduplicated, at most MAX_WORDS of at most MAX_WORD_CHARS."""
    out: list[str] = []
    for match in _WORD.finditer(fold(q)):
        word = match.group()[:MAX_WORD_CHARS]
        if word and word not in out:
            out.append(word)
    return out[:MAX_WORDS]


def number_variants(q: str) -> list[str]:
    """Digit strings to look for in contacts' phone numbers (stored as +55DD9XXXXXXXX).

    `(11) 98765-4321`, `11987654321`, `5511987654321` and `1187654321` (no 9th digit) all give
    `11987654321`, which is a substring of the stored number; a fragment like `4321` stays itself.
    """
    found: list[str] = []
    for match in _NUMBER.finditer(q):
        digits = re.sub(r"\D", "", match.group())
        if len(digits) < MIN_DIGITS:
            continue
        for variant in _variants(digits):
            if variant not in found:
                found.append(variant)
    return found[:MAX_WORDS]


def _variants(d: str) -> list[str]:
    if d.startswith("0055"):
        d = d[2:]
    if d.startswith("55") and len(d) in (12, 13):
        d = d[2:]  # the country code: the stored number has it, a substring need not
    elif d.startswith("0") and len(d) in (11, 12):
        d = d[1:]  # trunk prefix: 0 11 98765-4321
    if len(d) == 10 and d[0] in _BR_DDD and d[1] in _BR_DDD and d[2] in _BR_MOBILE_FIRST:
        return [d[:2] + "9" + d[2:]]  # an old 8-digit mobile: stored with its 9th digit
    return [d]


def fts5_query(terms: list[str]) -> str:
    """SQLite FTS5 MATCH text: every word required; the last one as a prefix (the one being typed).
    Prefixes on every word would make a common word expensive (a prefix merges its whole doclist)."""
    return " ".join('"' + t.replace('"', '""') + '"' + ("*" if i == len(terms) - 1 else "")
                    for i, t in enumerate(terms))


def trigram_query(variants: list[str]) -> str:
    """SQLite FTS5 (trigram) MATCH text: any of the digit strings, as substrings."""
    return " OR ".join(f'"{v}"' for v in variants)


def tsquery(terms: list[str]) -> str:
    """PostgreSQL to_tsquery text: every word required, the last one as a prefix (word:*): GIN's fast
    AND skips through a common word's postings only when it is matched exactly. Words are letters and
    digits only, so nothing here is tsquery syntax."""
    return " & ".join(t + (":*" if i == len(terms) - 1 else "") for i, t in enumerate(terms))


def marked(snippet: str) -> str:
    """HTML-escape a snippet and turn the START/STOP sentinels into <mark></mark>."""
    return html.escape(snippet, quote=False).replace(START, "<mark>").replace(STOP, "</mark>")


def mark_words(text: str, terms: list[str]) -> str:
    """`text` with the words that start with one of `terms` (accents and case ignored) marked."""
    def repl(match: re.Match[str]) -> str:
        word = match.group()
        return START + word + STOP if any(fold(word).startswith(t) for t in terms) else word

    return marked(_WORD.sub(repl, text)) if terms else html.escape(text, quote=False)
