""""Economizar SMS": write Portuguese with GSM-7 characters only, so an SMS keeps 160 characters.

One ``ã`` or ``ç`` turns a whole SMS into UCS-2 (70 characters a segment, 67 in a long one), so an
ordinary Portuguese text costs two to three times as much. ``economize`` transliterates what GSM-7
lacks (``á→a``, ``ç→c``, ``“ ”→"``, ``–→-``, ``…→...``) and keeps everything GSM-7 has, accents
included (``é``, ``à``, ``ü``, ``Ç``, ``É``…). Characters with no GSM-7 spelling (emoji, other
scripts) stay as they are: the text then needs UCS-2 anyway, and is still shorter for the rest.

The rule, mirrored by the browser twin ``atende/web/static/js/sms-economy.js`` (keep both in step;
``tests/domain/test_sms_economy_js_parity.py`` compares them character by character):

1. a GSM-7 character (default alphabet or extension table) is kept;
2. a character in ``REPLACEMENTS`` becomes its replacement;
3. a Latin letter (U+00C0–U+024F, U+1E00–U+1EFF: ranges whose decompositions never change between
   Unicode versions, so Python and the browser agree) loses its accents (NFKD without combining marks)
   when what is left is GSM-7;
4. anything else is kept.
"""

from __future__ import annotations

import unicodedata

from atende.domain.sms import GSM7_BASIC, GSM7_EXTENSION, count_segments

__all__ = ["REPLACEMENTS", "cheaper", "economize"]

# Explicit spellings, for what rule 3 does not reach or would get wrong. Keys are single characters.
REPLACEMENTS: dict[str, str] = {
    # quotes and apostrophes
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u00ab": '"', "\u00bb": '"', "\u2033": '"',
    "\u00a8": '"',
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'", "`": "'",
    "\u2039": "'", "\u203a": "'",
    # dashes, ellipsis, bullets
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    "\u2026": "...", "\u2022": "-", "\u00b7": ".", "\u2023": "-", "\u25cf": "-",
    # spaces
    "\u00a0": " ", "\u2002": " ", "\u2003": " ", "\u2007": " ", "\u2009": " ", "\u200a": " ", "\u202f": " ",
    "\u3000": " ", "\t": " ",
    "\u200b": "", "\u200c": "", "\u200d": "", "\u2060": "", "\ufeff": "",
    # Portuguese ordinals and the degree sign (1º, 2ª, 30°)
    "\u00ba": "o", "\u00aa": "a", "\u00b0": "o",
    # symbols
    "\u00b2": "2", "\u00b3": "3", "\u00b9": "1", "\u00bd": "1/2", "\u00bc": "1/4", "\u00be": "3/4",
    "\u00a9": "(c)", "\u00ae": "(R)", "\u2122": "TM", "\u00d7": "x", "\u00f7": "/", "\u00a2": "c",
    "\u02c6": "^", "\u02dc": "~", "\u2248": "~",
    # letters NFKD leaves whole
    "\u00f0": "d", "\u00d0": "D", "\u0111": "d", "\u0110": "D", "\u0142": "l", "\u0141": "L",
    "\u00fe": "th", "\u00de": "Th", "\u0153": "oe", "\u0152": "OE", "\u0131": "i",
}

_GSM7 = GSM7_BASIC | GSM7_EXTENSION
_LATIN_RANGES = ((0x00C0, 0x024F), (0x1E00, 0x1EFF))


def _strip_accents(ch: str) -> str | None:
    code = ord(ch)
    if not any(low <= code <= high for low, high in _LATIN_RANGES):
        return None
    bare = "".join(c for c in unicodedata.normalize("NFKD", ch) if unicodedata.category(c) != "Mn")
    return bare if bare and all(c in _GSM7 for c in bare) else None


def _spell(ch: str) -> str:
    if ch in _GSM7:
        return ch
    if ch in REPLACEMENTS:
        return REPLACEMENTS[ch]
    bare = _strip_accents(ch)
    return ch if bare is None else bare


def economize(text: str) -> str:
    """``text`` in GSM-7 where a GSM-7 spelling exists (see the module docstring for the rule)."""
    return "".join(_spell(ch) for ch in text)


def cheaper(text: str) -> str:
    """The economized text when it takes fewer segments, else ``text`` untouched (accents and all):
    a long run of ``…`` spelled ``...`` can cost more, and saving nothing is no reason to change it."""
    out = economize(text)
    return out if count_segments(out).segments < count_segments(text).segments else text
