"""What a provider reports beyond messages and statuses, applied in one transaction: template
status and category (WhatsApp), account alerts, a whole send request rejected (Kolmeya).

The caller (the `provider_event` job) names the connectors concerned: an event about a WhatsApp
Business Account concerns every connector of that account, which only the runtime can tell (their
configs are encrypted).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import select

from atende.actions import alerts as alert_actions
from atende.actions import templates as template_actions
from atende.actions.references import reference_of
from atende.actions.statuses import apply_status
from atende.channels.base import StatusUpdate
from atende.db.tables import messages
from atende.db.tx import Tx

log = structlog.get_logger(__name__)
#: Events that concern every connector of the same provider account group (WhatsApp's WABA).
ACCOUNT_WIDE = frozenset({"template_status", "account_alert"})


async def apply_provider_event(tx: Tx, kind: str, data: Mapping[str, Any], connector_ids: Sequence[int]) -> int:
    """Apply one event to the connectors it concerns; returns how many rows it changed."""
    if kind == "template_status":
        return len(await template_actions.apply_template_event(tx, connector_ids, data))
    if kind == "account_alert":
        return len(await alert_actions.record_alert(tx, connector_ids, data))
    if kind == "account_error":
        errors = [e for e in data.get("errors") or [] if isinstance(e, dict)]
        detail = "; ".join(str(e.get("reason") or e.get("title") or e.get("code")) for e in errors)
        return len(await alert_actions.record_alert(tx, connector_ids, {
            "type": "account_error", "severity": "warning", "detail": detail or "erro da conta no provedor",
            "at": data.get("at")}))
    if kind == "request_rejected" and data.get("request_id"):
        return await _request_rejected(tx, connector_ids, data)
    log.info("provider event", type=kind, connectors=list(connector_ids))
    return 0


async def _request_rejected(tx: Tx, connector_ids: Sequence[int], data: Mapping[str, Any]) -> int:
    """Kolmeya refused a whole /sms/store request in homologation: each of its messages failed."""
    changed = 0
    for connector_id in connector_ids:
        rows = list(await tx.conn.execute(select(messages.c.id, messages.c.reference).where(
            messages.c.connector_id == connector_id, messages.c.provider_request_id == str(data["request_id"]))))
        for row in rows:
            changed += await apply_status(tx, connector_id, StatusUpdate(
                status="failed", timestamp=datetime.now(UTC), raw=dict(data), reference=reference_of(row),
                error=str(data.get("status_message") or "envio rejeitado pelo provedor")))
    return changed
