"""Jobs of the Odoo bridge: find a contact's partner, post an attendance's transcript.

Both run in the worker, never in a webhook's answer. A lookup is cached per phone number; a
transcript is retried until Odoo accepts it and never posted twice (its row says whether it went, and
a retry first looks for the note an interrupted try may have left).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import select

from atende.actions import odoo as odoo_actions
from atende.db.tables import contact_identities, contacts, odoo_transcripts
from atende.domain.phones import canonical_phone, format_phone_display
from atende.integrations.odoo import partners, transcripts
from atende.integrations.odoo.bridge import bridge
from atende.integrations.odoo.client import OdooError
from atende.jobs.worker import PermanentJobError, Retry

if TYPE_CHECKING:
    from atende.jobs.worker import DeadHook, Handler
    from atende.runtime import Runtime

log = structlog.get_logger(__name__)


async def link_partner(rt: Runtime, job: Any) -> None:
    contact_id = int(job.payload["contact_id"])
    b = bridge(rt)
    config = await b.config()
    if config is None or not config.link_partners:
        return
    async with rt.read() as conn:
        row = (await conn.execute(select(contacts.c.odoo_partner_id, contacts.c.name)
                                  .where(contacts.c.id == contact_id))).first()
        phones = [r.value for r in await conn.execute(
            select(contact_identities.c.value).where(contact_identities.c.contact_id == contact_id,
                                                     contact_identities.c.kind == "phone")
            .order_by(contact_identities.c.id))]
    if row is None or row.odoo_partner_id is not None or not phones:
        return
    key = tuple(sorted({canonical_phone(p) for p in phones}))
    hit, found = b.lookups.get(key)
    try:
        if not hit:
            client = await b.client()
            matches = await partners.find_by_phone(client, phones)
            found = matches[0] if matches else None
            if found is None and config.create_partners:
                found = await partners.create(client, name=row.name or format_phone_display(phones[0]),
                                              phone=phones[0])
            b.lookups.put(key, found)
    except OdooError as exc:
        if exc.transient:
            raise Retry(exc.detail) from None
        raise PermanentJobError(exc.detail) from None
    if found is None:
        return
    async with rt.write() as tx:
        await odoo_actions.link_partner(tx, contact_id, found, source="auto", only_if_unlinked=True)


async def post_transcript(rt: Runtime, job: Any) -> None:
    attendance_id = int(job.payload["attendance_id"])
    async with rt.read() as conn:
        row = (await conn.execute(select(odoo_transcripts).where(
            odoo_transcripts.c.attendance_id == attendance_id))).first()
        transcript = await transcripts.gather(conn, attendance_id) if row is not None else None
    if row is None or row.status == "posted":
        return
    if transcript is None:
        async with rt.write() as tx:
            await odoo_actions.transcript_failed(tx, attendance_id, "atendimento não encontrado")
        return
    live = [m for m in transcript.messages if not (m["attributes"] or {}).get("imported")]
    if not live:  # nothing happened here: no messages, or only history imported from ChatRoom
        async with rt.write() as tx:
            await odoo_actions.transcript_skipped(
                tx, attendance_id, "só histórico importado" if transcript.messages else "sem mensagens")
        return
    b = bridge(rt)
    config = await b.config()
    if config is None:
        raise Retry("a integração com o Odoo não está configurada", delay=600)
    body = transcripts.render(transcript, public_url=rt.settings.public_url, timezone=rt.settings.timezone)
    try:
        client = await b.client()
        message_id = None
        if job.attempts > 1:  # an earlier try may have reached Odoo and died before saying so
            earlier = await client.search_read("mail.message", [
                ["model", "=", "res.partner"], ["res_id", "=", int(row.partner_id)],
                ["body", "ilike", transcripts.marker(attendance_id)]], ["id"], limit=1)
            message_id = int(earlier[0]["id"]) if earlier else None
        if message_id is None:
            message_id = await client.message_post("res.partner", int(row.partner_id), body)
    except OdooError as exc:
        if exc.kind == "missing":  # the partner was deleted in Odoo: nowhere to post
            async with rt.write() as tx:
                await odoo_actions.transcript_failed(tx, attendance_id, exc.detail)
            return
        if exc.kind in ("auth", "database", "config"):
            b.forget()  # the admin may be fixing the settings: read them again next time
        raise Retry(exc.detail) from None  # until Odoo accepts it (the job has hundreds of attempts)
    async with rt.write() as tx:
        await odoo_actions.transcript_posted(tx, attendance_id, message_id)


async def post_erasure_note(rt: Runtime, job: Any) -> None:
    """LGPD: tell the partner's chatter that the contact's data left atende, with no content at all
    (Odoo's own copies, earlier transcripts included, are for the company to handle there)."""
    partner_id = int(job.payload["partner_id"])
    mark = transcripts.erasure_marker(int(job.payload["contact_id"]))
    b = bridge(rt)
    if await b.config() is None:
        raise Retry("a integração com o Odoo não está configurada", delay=600)
    try:
        client = await b.client()
        if job.attempts > 1:  # an earlier try may have posted it and died before saying so
            earlier = await client.search_read("mail.message", [
                ["model", "=", "res.partner"], ["res_id", "=", partner_id], ["body", "ilike", mark]], ["id"], limit=1)
            if earlier:
                return
        await client.message_post("res.partner", partner_id, transcripts.erasure_note(
            mark, timezone=rt.settings.timezone))
    except OdooError as exc:
        if exc.kind == "missing":  # the partner is gone in Odoo: nothing to tell
            return
        if exc.kind in ("auth", "database", "config"):
            b.forget()
        raise Retry(exc.detail) from None


async def transcript_dead(rt: Runtime, job: Any, error: str) -> None:
    async with rt.write() as tx:
        await odoo_actions.transcript_failed(tx, int(job.payload["attendance_id"]), error)


HANDLERS: dict[str, Handler] = {"odoo_link_partner": link_partner, "odoo_transcript": post_transcript,
                                "odoo_erasure_note": post_erasure_note}
DEAD_HOOKS: dict[str, DeadHook] = {"odoo_transcript": transcript_dead}
