"""What several jobs need: the connector a job is about, and its views for the actions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from atende.actions.ingest import ConnectorInfo
from atende.channels.base import Capabilities
from atende.jobs.worker import PermanentJobError

if TYPE_CHECKING:
    from atende.runtime import LoadedConnector, Runtime


async def loaded_connector(rt: Runtime, connector_id: int) -> LoadedConnector:
    loaded = await rt.connector(connector_id)
    if loaded is None:
        raise PermanentJobError(f"connector {connector_id} not found")
    return loaded


def connector_info(c: LoadedConnector, *, auto_assign: bool = True) -> ConnectorInfo:
    """What ingest needs to know about the connector a batch arrived on."""
    return ConnectorInfo(
        id=c.id, channel=c.channel, provider=c.provider_name,
        opt_out_keywords=tuple(getattr(c.config, "opt_out_keywords", ()) or ()),
        opt_in_keywords=tuple(getattr(c.config, "opt_in_keywords", ()) or ()),
        auto_assign=auto_assign, signed=c.provider.capabilities.signed_webhooks,
        profiles=c.provider.capabilities.profiles,
    )


class Sendable:
    """A LoadedConnector as `outbound.queue_message` sees it (id, channel, config, capabilities)."""

    def __init__(self, c: LoadedConnector) -> None:
        self.id, self.channel = c.id, c.channel
        self.config: Any = c.config
        self._capabilities = c.provider.capabilities

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities


def sendable(c: LoadedConnector) -> Sendable:
    return Sendable(c)
