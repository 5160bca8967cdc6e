"""The satisfaction survey's question, sent a moment after a conversation closes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from atende.actions import csat
from atende.db.tables import conversations
from atende.jobs.common import sendable

if TYPE_CHECKING:
    from atende.jobs.worker import Handler
    from atende.runtime import Runtime


async def csat_survey(rt: Runtime, job: Any) -> None:
    conversation_id = int(job.payload["conversation_id"])
    async with rt.read() as conn:
        connector_id = await conn.scalar(select(conversations.c.connector_id).where(
            conversations.c.id == conversation_id))
    loaded = await rt.connector(int(connector_id)) if connector_id is not None else None
    if loaded is None or not loaded.active:
        return
    async with rt.write() as tx:
        await csat.ask(tx, sendable(loaded), conversation_id, int(job.payload["attendance_id"]))


HANDLERS: dict[str, Handler] = {csat.SURVEY_JOB: csat_survey}
