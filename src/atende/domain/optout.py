"""Opt-out / opt-in keywords in inbound messages ("SAIR", "PARE", …). Pure, no I/O.

A message matches when, once normalised, it IS the keyword: "Sair", " sair! ", "PARE.", "👋 stop"
match; "não quero sair agora" does not (a keyword inside a sentence is not a request).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from functools import lru_cache

__all__ = [
    "DEFAULT_OPT_IN_KEYWORDS",
    "DEFAULT_OPT_OUT_KEYWORDS",
    "is_opt_in",
    "is_opt_out",
    "matches_keyword",
    "normalize_keyword_text",
]

DEFAULT_OPT_OUT_KEYWORDS: tuple[str, ...] = ("SAIR", "PARE", "STOP", "CANCELAR")
DEFAULT_OPT_IN_KEYWORDS: tuple[str, ...] = ("VOLTAR", "START", "ATIVAR")


def _is_word_char(ch: str) -> bool:
    return unicodedata.category(ch)[0] in ("L", "N")


def normalize_keyword_text(text: str) -> str:
    """Accents removed (NFKD, combining marks dropped), upper case, inner whitespace collapsed, and
    everything that is not a letter or a digit (spaces, punctuation, emoji, …) stripped from both
    ends. ``" Não, pare! 🙏 "`` → ``"NAO, PARE"``."""
    decomposed = unicodedata.normalize("NFKD", text)
    no_marks = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    upper = " ".join(no_marks.upper().split())
    start, end = 0, len(upper)
    while start < end and not _is_word_char(upper[start]):
        start += 1
    while end > start and not _is_word_char(upper[end - 1]):
        end -= 1
    return upper[start:end]


@lru_cache(maxsize=256)
def _normalized(keywords: tuple[str, ...]) -> frozenset[str]:
    # Every inbound SMS is checked against the same few lists: normalise each list once.
    return frozenset(normalize_keyword_text(keyword) for keyword in keywords)


def matches_keyword(text: str, keywords: Iterable[str]) -> bool:
    """True when the normalised message equals one of the normalised keywords."""
    message = normalize_keyword_text(text)
    if not message:
        return False
    return message in _normalized(tuple(keywords))


def is_opt_out(text: str, keywords: Iterable[str] = DEFAULT_OPT_OUT_KEYWORDS) -> bool:
    """``matches_keyword`` with the opt-out keywords (default: SAIR, PARE, STOP, CANCELAR)."""
    return matches_keyword(text, keywords)


def is_opt_in(text: str, keywords: Iterable[str] = DEFAULT_OPT_IN_KEYWORDS) -> bool:
    """``matches_keyword`` with the opt-in keywords (default: VOLTAR, START, ATIVAR)."""
    return matches_keyword(text, keywords)
