"""UI language: Babel .po catalogs read at runtime (no compiled .mo in git), per request.

Strings are written in pt-BR (the default language) and translated to English in
src/atende/locale/en/LC_MESSAGES/messages.po. The current translation lives in a context
variable set for each request, so Jinja's i18n extension and Python code share it.
"""

from __future__ import annotations

import gettext as _gettext
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_date, format_datetime, format_time, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal

LOCALE_DIR = Path(__file__).resolve().parents[2] / "locale"
LANGUAGES: dict[str, str] = {"pt_BR": "Português (Brasil)", "en": "English"}
DEFAULT_LANGUAGE = "pt_BR"
DEFAULT_TIMEZONE = "America/Sao_Paulo"


def normalize_language(value: str | None) -> str:
    """'pt-BR', 'pt_br', 'pt' → 'pt_BR'; 'en-US' → 'en'; anything else → the default."""
    if not value:
        return DEFAULT_LANGUAGE
    low = value.strip().replace("-", "_").lower()
    if low.startswith("en"):
        return "en"
    return DEFAULT_LANGUAGE


@cache
def translations(language: str) -> _gettext.NullTranslations:
    po = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if not po.is_file():
        return _gettext.NullTranslations()
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


_current: ContextVar[_gettext.NullTranslations] = ContextVar("atende_translations")


def activate(language: str) -> None:
    _current.set(translations(normalize_language(language)))


def gettext(message: str) -> str:
    return _current.get(translations(DEFAULT_LANGUAGE)).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _current.get(translations(DEFAULT_LANGUAGE)).ngettext(singular, plural, n)


_ = gettext


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def as_datetime(value: datetime | str | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


When = datetime | str | None


class Formatter:
    """Times in the user's zone, numbers and money in the user's language."""

    def __init__(self, language: str, timezone: str) -> None:
        self.language = normalize_language(language)
        self.locale = Locale.parse(self.language)
        self.tz = zone(timezone)
        self.html_lang = "pt-BR" if self.language == "pt_BR" else "en"

    def now(self) -> datetime:
        return datetime.now(UTC)

    def time(self, value: When) -> str:
        """'14:05' today, '03/02 14:05' on another day (in the user's zone)."""
        moment = as_datetime(value)
        if moment is None:
            return ""
        local = moment.astimezone(self.tz)
        if local.date() == self.now().astimezone(self.tz).date():
            return format_time(local, "short", locale=self.locale)
        return format_datetime(local, "short", locale=self.locale)

    def datetime(self, value: When) -> str:
        moment = as_datetime(value)
        return format_datetime(moment.astimezone(self.tz), "medium", locale=self.locale) if moment else ""

    def date(self, value: When) -> str:
        moment = as_datetime(value)
        return format_date(moment.astimezone(self.tz), "medium", locale=self.locale) if moment else ""

    def iso(self, value: When) -> str:
        moment = as_datetime(value)
        return moment.isoformat() if moment else ""

    def ago(self, value: When) -> str:
        moment = as_datetime(value)
        if moment is None:
            return ""
        delta = max(self.now() - moment, timedelta(0))
        return format_timedelta(delta, threshold=1.0, format="narrow", locale=self.locale)

    def duration(self, seconds: int | float | None) -> str:
        """A wait, in the unit that fits ("3 min", "2 h")."""
        return format_timedelta(timedelta(seconds=max(0, int(seconds or 0))), threshold=1.0, format="narrow",
                                locale=self.locale)

    def money(self, value: Decimal | str | int | None) -> str:
        amount = Decimal(str(value or 0))
        return format_currency(amount, "BRL", locale=self.locale).replace("\xa0", " ")

    def currency(self, value: Decimal | str | int | None, code: str) -> str:
        """An amount in any currency (WhatsApp orders carry theirs), in the user's language."""
        amount = Decimal(str(value or 0))
        try:
            return format_currency(amount, code, locale=self.locale).replace("\xa0", " ")
        except (ValueError, KeyError):
            return f"{code} {amount:.2f}"

    def number(self, value: int | Decimal | None) -> str:
        return format_decimal(value or 0, locale=self.locale)

    def span(self, seconds: int | None) -> str:
        """A report's wait or handling time: '45 s', '4 min', '1 h 05 min', '26 h'; '—' when there is none."""
        if seconds is None:
            return "—"
        seconds = max(0, int(seconds))
        if seconds < 60:
            return f"{seconds} s"
        minutes = seconds // 60
        if minutes < 60:
            return f"{minutes} min"
        hours, rest = divmod(minutes, 60)
        return f"{hours} h" if hours >= 10 or rest == 0 else f"{hours} h {rest:02d} min"

    def percent(self, value: float | None) -> str:
        return "—" if value is None else format_decimal(value, format="#,##0.0", locale=self.locale) + " %"

    def rating(self, value: float | None) -> str:
        """An average satisfaction score (1 to 5) with one decimal; '—' when nobody answered."""
        return "—" if value is None else format_decimal(value, format="0.0", locale=self.locale)
