"""Satisfaction survey answers: is this message a rating from 1 to 5? Pure, no I/O.

Accepted (accents, case, spaces and punctuation around ignored): "4", "nota 4", "4/5", "4 de 5",
"4 estrelas", "quatro", "4️⃣", "⭐⭐⭐⭐". Anything else (a sentence, "10", "45", "4 reais") is not a
rating: the customer is talking, and the conversation follows its normal course.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["DEFAULT_QUESTION", "parse_rating"]

DEFAULT_QUESTION = "De 1 a 5, como você avalia nosso atendimento?"

_WORDS = {"um": 1, "uma": 1, "dois": 2, "duas": 2, "tres": 3, "quatro": 4, "cinco": 5}
_RATING = re.compile(
    r"^(?:(?:minha\s+)?nota\s*:?\s*|dou\s+(?:nota\s+)?)?"
    r"(?P<value>[1-5]|um|uma|dois|duas|tres|quatro|cinco)"
    r"(?:\s*(?:/|de)\s*5)?(?:\s*(?:estrelas?|pontos?))?$"
)
_STARS = re.compile(r"^(?:⭐|🌟|★){1,5}$")


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch) and ch not in "\ufe0f\u20e3")
    return re.sub(r"\s+", " ", plain).strip(" .!,;:-)(\"'")


def parse_rating(text: str | None) -> int | None:
    """The rating 1..5 the message gives, or None when it is not (only) a rating."""
    if not text or len(text) > 40:
        return None
    stripped = "".join(text.split()).replace("\ufe0f", "")
    if _STARS.match(stripped):
        return len(stripped)
    match = _RATING.match(_plain(text))
    if match is None:
        return None
    value = match.group("value")
    return int(value) if value.isdigit() else _WORDS[value]
