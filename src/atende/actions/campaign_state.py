"""A campaign recipient's delivery state and its counters: the part of the campaign's bookkeeping
that delivery reports reach (`atende.actions.statuses` hands over the reports no message row claims).
Kept apart from `atende.actions.campaign_sends` so that the statuses module does not depend on
sending, and the sending side may use the statuses module."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, select, update

from atende.actions import campaigns as campaign_actions
from atende.channels.base import StatusUpdate
from atende.db.prepared import hot
from atende.db.tables import campaign_recipients, campaigns
from atende.db.tx import Tx
from atende.domain.campaign_refs import genuine, recipient_id_of
from atende.domain.status import should_apply

#: Meta refuses marketing templates over its limits (131049 per-user ecosystem limit, 131050 the
#: user stopped marketing messages): counted apart, not as failures of ours.
LIMIT_CODES = frozenset({"131049", "131050"})

QUEUED = frozenset({"pending", "sending"})
ACCEPTED = frozenset({"sent", "delivered", "read"})
DELIVERED = frozenset({"delivered", "read"})
AS_DELIVERY = {"pending": "queued", "sending": "sending", "sent": "sent", "delivered": "delivered",
               "read": "read", "failed": "failed"}
COLUMNS = (campaign_recipients.c.id, campaign_recipients.c.campaign_id, campaign_recipients.c.connector_id,
           campaign_recipients.c.address_key, campaign_recipients.c.state, campaign_recipients.c.segments,
           campaign_recipients.c.cost, campaign_recipients.c.text, campaign_recipients.c.vars,
           campaign_recipients.c.batch_no, campaign_recipients.c.message_id, campaign_recipients.c.replied_at,
           campaign_recipients.c.opted_out_at, campaign_recipients.c.sent_at, campaign_recipients.c.delivered_at,
           campaign_recipients.c.provider_message_id, campaign_recipients.c.claimed_at)
#: The recipient's campaign key, beside a row (a subquery: FOR UPDATE then locks the recipient only).
REF_KEY = select(campaigns.c.ref_key).where(campaigns.c.id == campaign_recipients.c.campaign_id) \
    .scalar_subquery().label("ref_key")


def deltas(old: str, new: str, row: Any) -> dict[str, Any]:
    """How the campaign's counters move when one recipient goes from `old` to `new`."""
    d: dict[str, Any] = {}
    if old in QUEUED and new not in QUEUED:
        d["queued"] = -1
    elif old not in QUEUED and new in QUEUED:
        d["queued"] = 1
    if old not in ACCEPTED and new in ACCEPTED:  # billing follows acceptance
        d.update(sent=1, segments=row.segments or 0, cost=row.cost or Decimal(0))
    if old not in DELIVERED and new in DELIVERED:
        d["delivered"] = 1
    for state in ("failed", "limited", "skipped"):
        if new == state and old != state:
            d[state] = 1
    return d


class Counts:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def add(self, more: Mapping[str, Any]) -> None:
        for key, value in more.items():
            self.values[key] = self.values.get(key, 0) + value


# ---- statuses ---------------------------------------------------------------------------------

# Prebuilt and hot (db/prepared.py): every inbound message that answers none of our own messages asks
# whether it answers a campaign, so these run once per webhook.
_BY_PROVIDER_ID = hot(select(*COLUMNS).where(
    campaign_recipients.c.provider_message_id == bindparam("pid"),
    campaign_recipients.c.connector_id == bindparam("cid")).with_for_update())
_BY_ID = hot(select(*COLUMNS, REF_KEY).where(
    campaign_recipients.c.id == bindparam("rid"), campaign_recipients.c.connector_id == bindparam("cid"))
    .with_for_update())


async def find_recipient(tx: Tx, connector_id: int, provider_message_id: str | None, reference: str | None) -> Any:
    if provider_message_id:
        row = (await tx.conn.execute(_BY_PROVIDER_ID, {"pid": provider_message_id, "cid": connector_id})).first()
        if row is not None:
            return row
    recipient_id = recipient_id_of(reference)
    if recipient_id is not None:
        row = (await tx.conn.execute(_BY_ID, {"rid": recipient_id, "cid": connector_id})).first()
        if row is not None and genuine(reference, recipient_id, row.ref_key):
            return row
    return None


async def apply_status(tx: Tx, connector_id: int, status: StatusUpdate) -> bool:
    """A delivery report for a campaign message (False: not one of ours, the caller goes on)."""
    row = await find_recipient(tx, connector_id, status.provider_message_id, status.reference)
    if row is None:
        return False
    current = AS_DELIVERY.get(row.state)
    if current is None or not should_apply(current, status.status):
        return True
    new: str = status.status if status.status != "queued" else "pending"
    if new == "failed" and (status.error_code or "") in LIMIT_CODES:
        new = "limited"
    values: dict[str, Any] = {"state": new}
    if new in DELIVERED and row.delivered_at is None:
        values["delivered_at"] = status.timestamp
    if new in ACCEPTED and row.sent_at is None:
        values["sent_at"] = status.timestamp
    if new in ("failed", "limited"):
        values.update(error_code=status.error_code, error=status.error or "falha no envio")
    if status.provider_message_id and not row.provider_message_id:
        values["provider_message_id"] = status.provider_message_id
    await tx.conn.execute(update(campaign_recipients).where(campaign_recipients.c.id == row.id).values(**values))
    await campaign_actions.add_counts(tx, row.campaign_id, deltas(row.state, new, row))
    await campaign_actions.announce_progress(tx, row.campaign_id)
    return True
