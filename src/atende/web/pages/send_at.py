"""The composer's "send at" field: a `datetime-local` value read in the agent's time zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from atende.web.pages.core import PageError
from atende.web.pages.i18n import _


def local_send_at(value: str, timezone: str) -> datetime | None:
    """The composer's `datetime-local` value ("2025-12-01T09:30"), read in the agent's time zone."""
    text = value.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise PageError(422, _("Data e hora do agendamento inválidas.")) from None
    if moment.tzinfo is None:
        try:
            moment = moment.replace(tzinfo=ZoneInfo(timezone))
        except (ZoneInfoNotFoundError, ValueError):
            moment = moment.replace(tzinfo=ZoneInfo("America/Sao_Paulo"))
    return moment
