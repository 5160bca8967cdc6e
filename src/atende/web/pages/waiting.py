"""Waiting-time colours on cards and list items: each conversation's thresholds (its team's, or the
installation's), its waiting clock, and the attributes static/js/waiting.js keeps current."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup, escape

from atende.domain.waiting import Level, Thresholds, level_since
from atende.web.pages.i18n import as_datetime


def waiting_since(conv: dict[str, Any]) -> str | None:
    """When the customer started waiting for an answer (None: nobody waits). A closed conversation
    waits for no one; otherwise the customer waits since their last message went unanswered."""
    if conv.get("status") == "done":
        return None
    if "waiting_since" in conv:
        return conv["waiting_since"]
    return conv.get("last_inbound_at") if conv.get("last_message_direction") == "in" else None


@dataclass
class WaitBook:
    defaults: Thresholds
    teams: dict[int, Thresholds] = field(default_factory=dict)
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def of(self, conv: dict[str, Any]) -> Thresholds:
        team = conv.get("team_id")
        return self.teams.get(team, self.defaults) if team is not None else self.defaults

    def level(self, conv: dict[str, Any]) -> Level:
        return level_since(as_datetime(waiting_since(conv)), self.now, self.of(conv))

    def css(self, conv: dict[str, Any]) -> str:
        found = self.level(conv)
        return f" wait-{found}" if found else ""

    def attrs(self, conv: dict[str, Any]) -> Markup:
        since = waiting_since(conv)
        if not since:
            return Markup("")
        t = self.of(conv)
        return Markup(' data-waiting-since="{}" data-wait-warn="{}" data-wait-late="{}" data-wait-level="{}"').format(
            escape(since), t.warn_s, t.late_s, self.level(conv))
