"""The `fetch_profile` job: a customer's name and picture by PSID / IGSID, fetched once and kept on
the identity (`atende.actions.contacts.apply_profile`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from atende.actions import contacts as contact_actions
from atende.channels.base import profile_fetcher
from atende.db.tx import Tx
from atende.jobs.common import loaded_connector

if TYPE_CHECKING:
    from atende.runtime import Runtime


async def fetch_profile(rt: Runtime, job: Any) -> None:
    connector = await loaded_connector(rt, int(job.payload["connector_id"]))
    address = str(job.payload["address"])
    fetcher = profile_fetcher(connector.provider)
    if fetcher is None:
        return
    async with rt.read() as conn:
        if await contact_actions.profile_known(Tx(conn), address, connector.channel):
            return
    profile = await fetcher.fetch_profile(address)  # transient errors raise: the worker retries
    async with rt.write() as tx:
        await contact_actions.apply_profile(tx, address, connector.channel, profile)
