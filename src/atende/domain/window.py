"""WhatsApp customer-service window (CSW). Pure, no I/O.

A customer message (or call) opens a 24 h window, each new one restarts it; inside it any message
may be sent, outside it only approved templates (providers/whatsapp-meta.md §3.1). Our own outbound
messages never open or extend it. Compute from the inbound message's own timestamp and keep a safety
margin so a reply sent at the last second is not refused by Meta (error 131047).
"""

from __future__ import annotations

from datetime import datetime, timedelta

__all__ = ["DEFAULT_MARGIN", "DEFAULT_WINDOW_HOURS", "HUMAN_AGENT_TAG", "is_window_open", "send_allowance",
           "window_closes_at"]

DEFAULT_WINDOW_HOURS = 24
DEFAULT_MARGIN = timedelta(minutes=1)


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got a naive one: {value!r}")


def window_closes_at(last_inbound_at: datetime | None, hours: int = DEFAULT_WINDOW_HOURS) -> datetime | None:
    """When the window opened by the last inbound message closes (``None`` if there was none)."""
    if hours <= 0:
        raise ValueError("hours must be positive")
    if last_inbound_at is None:
        return None
    _require_aware("last_inbound_at", last_inbound_at)
    return last_inbound_at + timedelta(hours=hours)


def is_window_open(
    last_inbound_at: datetime | None,
    now: datetime,
    hours: int = DEFAULT_WINDOW_HOURS,
    margin: timedelta = DEFAULT_MARGIN,
) -> bool:
    """True while ``now`` is strictly before closing time minus ``margin``.

    No inbound message yet (``None``) means closed: the first message must be a template.
    Both datetimes must be timezone-aware (ValueError otherwise).
    """
    _require_aware("now", now)
    if margin < timedelta(0):
        raise ValueError("margin cannot be negative")
    closes_at = window_closes_at(last_inbound_at, hours)
    if closes_at is None:
        return False
    return now < closes_at - margin


HUMAN_AGENT_TAG = "HUMAN_AGENT"


def send_allowance(
    last_inbound_at: datetime | None,
    now: datetime,
    *,
    hours: int | None,
    human_agent_hours: int | None = None,
    human_agent: bool = False,
) -> tuple[bool, str | None]:
    """(may a free-form message go now, message tag to send it under).

    No window (`hours` None): always, untagged. Inside the standard window: untagged. After it,
    Messenger and Instagram let a person (`human_agent`: an agent wrote it and the app has the tag)
    answer with the HUMAN_AGENT tag until `human_agent_hours` (7 days) have passed.
    """
    if not hours or is_window_open(last_inbound_at, now, hours):
        return True, None
    if human_agent and human_agent_hours and is_window_open(last_inbound_at, now, human_agent_hours):
        return True, HUMAN_AGENT_TAG
    return False, None
