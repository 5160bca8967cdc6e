"""Campaigns: creating one (a `preparing` row, its recipients and exclusions in chunks, then `draft`)
and its lifecycle: start, pause, resume, cancel. Each function is one transaction's worth of work;
the sending itself is `atende.actions.campaign_sends`, driven by the pacer job (`atende.jobs.campaigns`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, or_, select, update

from atende.actions import audit, consents
from atende.actions.errors import Conflict, Invalid, NotFound
from atende.auth import policy
from atende.auth.policy import Viewer
from atende.db.tables import campaign_exclusions, campaign_recipients, campaigns, contact_identities, contacts, jobs
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.domain.campaign_estimate import Exclusion, Recipient
from atende.domain.campaign_refs import new_key
from atende.domain.campaign_status import FINAL, IllegalTransition, next_status
from atende.jobs.queue import enqueue
from atende.realtime import events

TICK = "campaign_tick"
PROGRESS = "campaign_progress"
#: A provider's permanent refusal of a number stops later campaigns from trying it, for this long.
BLOCK_MEMORY = timedelta(days=30)
#: Provider refusals that mean "this number cannot get messages from this connector".
BLOCKING_CODES = {"blacklist": "número na blacklist da Kolmeya", "not_disturb": "número no cadastro Não Perturbe",
                  "131026": "número sem WhatsApp"}
#: Refusals that are the customer's choice (WhatsApp: stopped marketing messages).
OPT_OUT_CODES = frozenset({"131050"})
STAT_KEYS = ("recipients", "queued", "sent", "delivered", "failed", "limited", "skipped", "replied", "opted_out",
             "segments")


def tick_key(campaign_id: int) -> str:
    return f"campaign:{campaign_id}"


async def load(tx: Tx, campaign_id: int) -> Any:
    row = (await tx.conn.execute(select(campaigns).where(campaigns.c.id == campaign_id).with_for_update())).first()
    if row is None:
        raise NotFound("campanha não encontrada")
    return row


# ---- creation ---------------------------------------------------------------------------------

async def create(tx: Tx, *, name: str, connector_id: int, channel: str, text: str | None,
                 template: Mapping[str, Any] | None, rate_per_minute: int, window: Mapping[str, Any] | None,
                 schedule_at: datetime | None, created_by: int | None) -> int:
    """The campaign row, `preparing` until its list is stored (see `finish_preparing`)."""
    now = utcnow()
    campaign_id = int((await tx.conn.execute(insert(campaigns).values(
        name=name, connector_id=connector_id, channel=channel, status="preparing", text=text,
        template=dict(template) if template else None, rate_per_minute=rate_per_minute,
        send_window=dict(window) if window else None, schedule_at=schedule_at, created_by=created_by,
        ref_key=new_key(), created_at=now, updated_at=now,
    ).returning(campaigns.c.id))).scalar_one())
    return campaign_id


async def screen_lookups(tx: Tx, connector_id: int, channel: str, addresses: Sequence[str]) -> tuple[
        set[str], dict[str, str], dict[str, dict[str, str]]]:
    """What the database knows of these numbers: (opted out, blocked → reason, contact fields)."""
    opted: set[str] = set()
    blocked: dict[str, str] = {}
    known: dict[str, dict[str, str]] = {}
    if not addresses:
        return opted, blocked, known
    rows = await tx.conn.execute(
        select(contact_identities.c.value, contacts.c.name)
        .select_from(contact_identities.join(contacts, contacts.c.id == contact_identities.c.contact_id))
        .where(contact_identities.c.kind == "phone", contact_identities.c.value.in_(list(addresses))))
    for row in rows:
        if row.name:
            known[row.value] = {"nome": row.name}
    # The consent ledger decides (LGPD): live contacts and erased titulars (kept as keyed hashes) alike.
    if channel in consents.CHANNELS:
        opted |= await consents.opted_out_numbers(tx.conn, tx.identity_key, channel, list(addresses))
    codes = [*BLOCKING_CODES, *OPT_OUT_CODES]
    refused = await tx.conn.execute(
        select(campaign_recipients.c.address_key, campaign_recipients.c.error_code).where(
            campaign_recipients.c.address_key.in_(list(addresses)),
            campaign_recipients.c.connector_id == connector_id,
            campaign_recipients.c.error_code.in_(codes),
            campaign_recipients.c.claimed_at > utcnow() - BLOCK_MEMORY))
    for refusal in refused:
        if refusal.error_code in OPT_OUT_CODES:
            opted.add(refusal.address_key)
        else:
            blocked[refusal.address_key] = BLOCKING_CODES[refusal.error_code]
    return opted, blocked, known


async def add_chunk(tx: Tx, campaign_id: int, connector_id: int, items: Iterable[Recipient | Exclusion]) -> None:
    """Store one chunk of the screened list."""
    recipients: list[dict[str, Any]] = []
    excluded: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, Recipient):
            recipients.append({"campaign_id": campaign_id, "connector_id": connector_id, "row_no": item.row_no,
                               "address_key": item.address, "vars": item.values, "text": item.text,
                               "segments": item.segments, "cost": item.cost, "state": "pending"})
        else:
            excluded.append({"campaign_id": campaign_id, "row_no": item.row_no, "phone": item.phone[:100],
                             "reason": item.reason, "detail": item.detail[:300]})
    if recipients:
        await tx.conn.execute(insert(campaign_recipients), recipients)
    if excluded:
        await tx.conn.execute(insert(campaign_exclusions), excluded)


async def finish_preparing(tx: Tx, campaign_id: int, estimate: Mapping[str, Any]) -> None:
    c = await load(tx, campaign_id)
    status = next_status(c.status, "prepared")
    recipients = int(estimate.get("recipients", 0))
    await tx.conn.execute(update(campaigns).where(campaigns.c.id == campaign_id).values(
        status=status, estimate=dict(estimate), recipients=recipients, queued=recipients, updated_at=utcnow()))
    await audit.record(tx, "campaign.create", actor_id=c.created_by, target_type="campaign", target_id=campaign_id,
                       detail={"name": c.name, "recipients": recipients, "cost": str(estimate.get("cost", "0"))})
    await _announce(tx, campaign_id, "campaign.created")


# ---- lifecycle --------------------------------------------------------------------------------

async def _move(tx: Tx, campaign_id: int, action: str, *, now: datetime, actor_id: int | None) -> Any:
    c = await load(tx, campaign_id)
    later = c.schedule_at is not None and c.schedule_at > now
    try:
        status = next_status(c.status, action, later=later)
    except IllegalTransition as exc:
        raise Conflict(str(exc), code="campaign_status") from None
    values: dict[str, Any] = {"status": status, "updated_at": utcnow()}
    if status == "running" and c.started_at is None:
        values["started_at"] = now
    if status in FINAL:
        values["finished_at"] = now
    if action == "resume":
        values["error"] = None
    await tx.conn.execute(update(campaigns).where(campaigns.c.id == campaign_id).values(**values))
    await events.append(tx, "campaign.updated", {"id": campaign_id, "status": status, "previous_status": c.status,
                                                 "actor_id": actor_id})
    if actor_id is not None:  # a person spent (or stopped spending) the SMS budget: evidence
        await audit.record(tx, f"campaign.{action}", actor_id=actor_id, target_type="campaign",
                           target_id=campaign_id, detail={"name": c.name, "recipients": int(c.recipients)})
    return c, status


async def start(tx: Tx, campaign_id: int, *, now: datetime, actor_id: int | None) -> str:
    c = await load(tx, campaign_id)
    if c.status == "draft" and not c.recipients:
        raise Invalid("a campanha não tem destinatários para enviar", code="campaign_empty")
    c, status = await _move(tx, campaign_id, "start", now=now, actor_id=actor_id)
    await wake(tx, campaign_id, c.schedule_at if status == "scheduled" else now)
    return str(status)


async def pause(tx: Tx, campaign_id: int, *, now: datetime, actor_id: int | None, reason: str | None = None) -> None:
    await _move(tx, campaign_id, "pause", now=now, actor_id=actor_id)
    if reason:
        await tx.conn.execute(update(campaigns).where(campaigns.c.id == campaign_id).values(error=reason))


async def resume(tx: Tx, campaign_id: int, *, now: datetime, actor_id: int | None) -> str:
    c, status = await _move(tx, campaign_id, "resume", now=now, actor_id=actor_id)
    await wake(tx, campaign_id, c.schedule_at if status == "scheduled" else now)
    return str(status)


async def cancel(tx: Tx, campaign_id: int, *, now: datetime, actor_id: int | None) -> None:
    """Nothing more is sent. Messages already handed to the provider keep their outcome; the ones
    still waiting count as skipped (their rows stay `pending`: a cancelled campaign never sends)."""
    c, _ = await _move(tx, campaign_id, "cancel", now=now, actor_id=actor_id)
    in_flight = int(await tx.conn.scalar(select(func.count()).select_from(campaign_recipients).where(
        campaign_recipients.c.campaign_id == campaign_id, campaign_recipients.c.state == "sending")) or 0)
    waiting = max(0, int(c.queued) - in_flight)
    await tx.conn.execute(update(campaigns).where(campaigns.c.id == campaign_id).values(
        queued=campaigns.c.queued - waiting, skipped=campaigns.c.skipped + waiting, waiting_until=None))
    await _announce(tx, campaign_id)


ACTIONS = ("start", "pause", "resume", "cancel")


async def act(tx: Tx, campaign_id: int, action: str, *, now: datetime, actor_id: int | None = None,
              by: Viewer | None = None) -> None:
    """One of the people's moves (API and page alike): on a connector `by` may use (auth.policy)."""
    if by is not None:
        await policy.require_connector(tx.conn, by, int((await load(tx, campaign_id)).connector_id))
        actor_id = by.id
    if action == "start":
        await start(tx, campaign_id, now=now, actor_id=actor_id)
    elif action == "pause":
        await pause(tx, campaign_id, now=now, actor_id=actor_id)
    elif action == "resume":
        await resume(tx, campaign_id, now=now, actor_id=actor_id)
    elif action == "cancel":
        await cancel(tx, campaign_id, now=now, actor_id=actor_id)
    else:
        raise NotFound("ação desconhecida")


async def wake(tx: Tx, campaign_id: int, run_at: datetime | None) -> None:
    """Make sure the pacer runs for this campaign at `run_at` (one job per campaign)."""
    when = run_at or utcnow()
    await enqueue(tx, TICK, {"campaign_id": campaign_id}, run_at=when, dedup_key=tick_key(campaign_id))
    await tx.conn.execute(update(jobs).where(jobs.c.dedup_key == tick_key(campaign_id), jobs.c.status == "pending")
                          .values(run_at=when))


async def ensure_ticks(tx: Tx) -> None:
    """After a restart: every campaign that is not over has its pacer job (dedup keys make it idempotent)."""
    rows = await tx.conn.execute(select(campaigns.c.id, campaigns.c.schedule_at, campaigns.c.waiting_until).where(
        campaigns.c.status.in_(("scheduled", "running", "paused"))))
    for row in rows:
        await enqueue(tx, TICK, {"campaign_id": row.id}, run_at=row.waiting_until or row.schedule_at,
                      dedup_key=tick_key(row.id))


# ---- views ------------------------------------------------------------------------------------

def _money(value: Decimal | None) -> str:
    return format((value or Decimal(0)).quantize(Decimal("0.0001")).normalize(), "f")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def stats_of(row: Any) -> dict[str, Any]:
    return {**{key: int(getattr(row, key)) for key in STAT_KEYS}, "cost": _money(row.cost)}


def campaign_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row.id, "name": row.name, "connector_id": row.connector_id, "channel": row.channel,
        "status": row.status, "text": row.text, "template": row.template, "rate_per_minute": row.rate_per_minute,
        "window": row.send_window, "schedule_at": _iso(row.schedule_at), "estimate": row.estimate or {},
        "stats": stats_of(row), "waiting_until": _iso(row.waiting_until), "error": row.error,
        "created_by": row.created_by, "created_at": _iso(row.created_at), "started_at": _iso(row.started_at),
        "finished_at": _iso(row.finished_at), "exclusions_url": f"/api/v1/campaigns/{row.id}/exclusions.csv",
    }


async def _announce(tx: Tx, campaign_id: int, kind: str = "campaign.progress") -> None:
    row = (await tx.conn.execute(select(campaigns).where(campaigns.c.id == campaign_id))).first()
    if row is None:
        return
    now = utcnow()
    await tx.conn.execute(update(campaigns).where(campaigns.c.id == campaign_id).values(progress_at=now))
    await events.append(tx, kind, {"id": campaign_id, "status": row.status, "stats": stats_of(row),
                                   "waiting_until": _iso(row.waiting_until), "error": row.error})


PROGRESS_EVERY = timedelta(seconds=2)


async def announce_progress(tx: Tx, campaign_id: int, *, force: bool = False) -> None:
    """A campaign.progress event for the live page: after every batch, and at most every 2 s for
    the stream of statuses and replies (100,000 statuses must not be 100,000 events)."""
    if not force:
        due = await tx.conn.scalar(select(campaigns.c.id).where(
            campaigns.c.id == campaign_id,
            or_(campaigns.c.progress_at.is_(None), campaigns.c.progress_at < utcnow() - PROGRESS_EVERY)))
        if due is None:  # announced a moment ago: one more event follows shortly with the latest counts
            await enqueue(tx, PROGRESS, {"campaign_id": campaign_id}, run_at=utcnow() + PROGRESS_EVERY,
                          dedup_key=f"campaign-progress:{campaign_id}")
            return
    await _announce(tx, campaign_id)


async def add_counts(tx: Tx, campaign_id: int, deltas: Mapping[str, int | Decimal]) -> None:
    """Apply counter changes (one UPDATE however many recipients moved)."""
    values = {key: getattr(campaigns.c, key) + delta for key, delta in deltas.items() if delta}
    if values:
        await tx.conn.execute(update(campaigns).where(campaigns.c.id == campaign_id).values(
            **values, updated_at=utcnow()))

