"""Retention policy (LGPD): how long messages, media, events and finished jobs are kept. Pure.

`None` days means "keep": the default for messages. A connector may override messages and media;
a key left out of its override inherits the installation's value.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

MAX_DAYS = 36_500  # a century: beyond that "keep" is what is meant
Days = Annotated[int, Field(ge=1, le=MAX_DAYS)] | None

DEFAULTS: dict[str, int | None] = {"messages_days": None, "media_days": 365, "events_days": 90, "jobs_days": 30}


class ConnectorRetention(BaseModel):
    """Per-connector override: only the keys given apply."""

    model_config = ConfigDict(extra="forbid")
    messages_days: Days = None
    media_days: Days = None

    def given(self) -> dict[str, int | None]:
        return {k: getattr(self, k) for k in sorted(self.model_fields_set)}


class RetentionPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    messages_days: Days = DEFAULTS["messages_days"]
    media_days: Days = DEFAULTS["media_days"]
    events_days: Days = DEFAULTS["events_days"]
    jobs_days: Days = DEFAULTS["jobs_days"]
    per_connector: dict[int, ConnectorRetention] = Field(default_factory=dict, max_length=1000)

    def days(self, what: str, connector_id: int | None = None) -> int | None:
        """`messages_days` / `media_days` for a connector (its override, else the installation's)."""
        override = self.per_connector.get(connector_id) if connector_id is not None else None
        if override is not None and what in override.model_fields_set:
            return getattr(override, what)
        return getattr(self, what)

    def cutoffs(self, what: str, now: datetime, connector_ids: list[int]) -> dict[int | None, datetime | None]:
        """What is older than the returned instant expires: None (key) is every connector without an
        override of `what`; a None instant means "keep"."""
        out: dict[int | None, datetime | None] = {None: cutoff(getattr(self, what), now)}
        for cid in connector_ids:
            override = self.per_connector.get(cid)
            if override is not None and what in override.model_fields_set:
                out[cid] = cutoff(getattr(override, what), now)
        return out

    def to_json(self) -> dict[str, Any]:
        return {"messages_days": self.messages_days, "media_days": self.media_days,
                "events_days": self.events_days, "jobs_days": self.jobs_days,
                "per_connector": {str(k): v.given() for k, v in sorted(self.per_connector.items())}}


def cutoff(days: int | None, now: datetime) -> datetime | None:
    return None if days is None else now - timedelta(days=days)


def load(value: Any) -> RetentionPolicy:
    """The stored document (or nothing) as a policy; a broken document falls back to the defaults."""
    if not isinstance(value, dict):
        return RetentionPolicy()
    try:
        return RetentionPolicy.model_validate(value)
    except ValueError:
        return RetentionPolicy()
