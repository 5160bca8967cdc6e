"""The `provider_event` job: find the connectors an event concerns, then apply it through
`atende.actions.provider_events` in one transaction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import select

from atende.actions.provider_events import ACCOUNT_WIDE, apply_provider_event
from atende.db.tables import connectors
from atende.jobs.common import loaded_connector

if TYPE_CHECKING:
    from atende.runtime import LoadedConnector, Runtime

log = structlog.get_logger(__name__)


def _group(config: Any) -> str | None:
    group = getattr(config, "account_group", None)
    return group if isinstance(group, str) and group else None


async def account_connectors(rt: Runtime, connector: LoadedConnector, data: Mapping[str, Any]) -> list[int]:
    """The connectors an account-wide event is about: every connector of this provider in the
    event's account group (WhatsApp: the WABA, `entry.id`). The connector that received it counts
    too when it names no group; one configured for another group does not. Configs are encrypted:
    they are read through the runtime's loader."""
    own = _group(connector.config)
    event_group = data.get("waba_id") or data.get("account_group")
    group = event_group if isinstance(event_group, str) and event_group else own
    if not group:
        return [connector.id]
    async with rt.read() as conn:
        ids = [int(r.id) for r in await conn.execute(
            select(connectors.c.id).where(connectors.c.provider == connector.provider_name))]
    targets: set[int] = {connector.id} if own is None or own == group else set()
    for connector_id in ids:
        if connector_id == connector.id:
            continue
        try:
            loaded = await rt.connector(connector_id)
        except Exception:  # one unreadable config must not keep the others stale
            log.warning("connector config unreadable", connector_id=connector_id, exc_info=True)
            continue
        if loaded is not None and _group(loaded.config) == group:
            targets.add(connector_id)
    return sorted(targets)


async def provider_event(rt: Runtime, job: Any) -> None:
    connector = await loaded_connector(rt, int(job.payload["connector_id"]))
    kind, data = str(job.payload["type"]), dict(job.payload["data"])
    targets = await account_connectors(rt, connector, data) if kind in ACCOUNT_WIDE else [connector.id]
    if not targets:
        log.warning("provider event for an account no connector has", connector_id=connector.id, type=kind)
        return
    async with rt.write() as tx:
        changed = await apply_provider_event(tx, kind, data, targets)
    log.info("provider event applied", connector_id=connector.id, type=kind, connectors=targets, changed=changed)
