"""What a provider says about the account behind a connector (restriction, ban, number quality,
reviews, limits): kept on the connector as `alerts`, newest first, and announced.

A critical alert (sending is, or may soon be, blocked) goes out as a `connector.alert` event that the
supervisors' screens show live; the others only update the connector (`connector.updated`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select, update

from atende.db.tables import connectors
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.realtime import events

MAX_ALERTS = 20
SEVERITIES = ("critical", "warning", "info")


def alert_entry(data: Mapping[str, Any]) -> dict[str, Any]:
    """The public shape of an alert: `{"type", "detail", "at", "severity"}` (no raw payload)."""
    severity = data.get("severity")
    return {
        "type": str(data.get("type") or "unknown")[:60],
        "detail": str(data.get("detail") or "")[:500],
        "at": str(data.get("at") or utcnow().isoformat()),
        "severity": severity if severity in SEVERITIES else "info",
    }


async def record_alert(tx: Tx, connector_ids: Iterable[int], data: Mapping[str, Any]) -> list[int]:
    """Add the alert to each connector (once: a redelivered webhook adds nothing); returns the
    connectors that gained it."""
    entry = alert_entry(data)
    added: list[int] = []
    for connector_id in sorted(set(connector_ids)):
        row = (await tx.conn.execute(select(connectors.c.name, connectors.c.alerts)
                                     .where(connectors.c.id == connector_id).with_for_update())).first()
        if row is None:
            continue
        current = [a for a in row.alerts or [] if isinstance(a, dict)]
        if any((a.get("type"), a.get("at"), a.get("detail")) == (entry["type"], entry["at"], entry["detail"])
               for a in current):
            continue
        alerts = sorted([entry, *current], key=lambda a: str(a.get("at")), reverse=True)[:MAX_ALERTS]
        await tx.conn.execute(update(connectors).where(connectors.c.id == connector_id)
                              .values(alerts=alerts, updated_at=utcnow()))
        if entry["severity"] == "critical":
            # (`alert_type`, not `type`: the event stream puts the event's own type there)
            await events.append(tx, "connector.alert", {
                "connector_id": connector_id, "name": row.name, "alert_type": entry["type"],
                "detail": entry["detail"], "at": entry["at"], "severity": entry["severity"]})
        else:
            await events.append(tx, "connector.updated", {"id": connector_id})
        added.append(connector_id)
    return added
