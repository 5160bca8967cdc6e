"""Status rules: message delivery statuses and the conversation status machine. Pure, no I/O.

Delivery (design rule 5, "statuses only move forward"):

    queued < sending < sent < delivered < read          failed (beside the line)

- a status applies only if it moves forward: a late ``delivered`` never downgrades ``read``, and
  the same status twice is a no-op;
- ``failed`` applies over ``queued``/``sending``/``sent`` (the provider gave up before delivery) but
  not over ``delivered``/``read`` (the customer already has the message);
- nothing applies over ``failed``: only an explicit agent retry (an action, not this module) moves a
  failed message back to ``queued``.

Conversation (design vocabulary): ``new`` (waiting) → ``open`` (has an assignee) → ``done``.
"""

from __future__ import annotations

from typing import Final, Literal

__all__ = [
    "CONVERSATION_STATUSES",
    "DELIVERY_STATUSES",
    "ConversationStatus",
    "DeliveryStatus",
    "can_transition",
    "delivery_rank",
    "is_final",
    "should_apply",
]

DeliveryStatus = Literal["queued", "sending", "sent", "delivered", "read", "failed"]
ConversationStatus = Literal["new", "open", "done"]

DELIVERY_STATUSES: Final[tuple[str, ...]] = ("queued", "sending", "sent", "delivered", "read", "failed")
_FORWARD: Final[tuple[str, ...]] = ("queued", "sending", "sent", "delivered", "read")
_RANK: Final[dict[str, int]] = {status: rank for rank, status in enumerate(_FORWARD)}
_FAILABLE: Final[frozenset[str]] = frozenset({"queued", "sending", "sent"})

CONVERSATION_STATUSES: Final[tuple[str, ...]] = ("new", "open", "done")


def _check_delivery(status: str) -> None:
    if status not in DELIVERY_STATUSES:
        raise ValueError(f"unknown delivery status {status!r}; expected one of {DELIVERY_STATUSES}")


def delivery_rank(status: str) -> int:
    """Position on the forward line (queued=0 … read=4). ``failed`` has no rank: ValueError."""
    _check_delivery(status)
    if status == "failed":
        raise ValueError("'failed' is not on the forward line and has no rank")
    return _RANK[status]


def should_apply(current: str, new: str) -> bool:
    """Whether a message whose status is ``current`` should take the reported status ``new``.

    Raises ValueError for a status outside :data:`DELIVERY_STATUSES` (adapters map provider
    statuses to ours first).
    """
    _check_delivery(current)
    _check_delivery(new)
    if current == "failed" or current == new:
        return False
    if new == "failed":
        return current in _FAILABLE
    return _RANK[new] > _RANK[current]


def is_final(status: str) -> bool:
    """True when no reported status can change it any more: ``read`` and ``failed``.

    ``delivered`` is not final (``read`` may follow), even on channels without read receipts.
    """
    _check_delivery(status)
    return status in ("read", "failed")


# (current, target) -> needs an assignee after the move
_CONVERSATION_MOVES: Final[dict[tuple[str, str], bool]] = {
    ("new", "open"): True,  # an agent takes it (or routing assigns it)
    ("new", "done"): False,  # closed without being attended (spam, duplicate, auto-close)
    ("open", "done"): False,  # concluded
    ("open", "new"): False,  # released / unassigned: back to the queue
    ("done", "new"): False,  # reopened (e.g. an inbound message): back to the queue
    ("done", "open"): True,  # reopened straight to an agent
}


def can_transition(current: str, target: str, *, has_assignee: bool) -> bool:
    """Whether a conversation may move from ``current`` to ``target``.

    ``has_assignee`` tells whether the conversation will have an assignee once moved: entering
    ``open`` requires one. Staying in the same status is not a transition (False); changing the
    assignee of an open conversation (transfer) is not a status change. Raises ValueError for a
    status outside :data:`CONVERSATION_STATUSES`.
    """
    for status in (current, target):
        if status not in CONVERSATION_STATUSES:
            raise ValueError(f"unknown conversation status {status!r}; expected one of {CONVERSATION_STATUSES}")
    needs_assignee = _CONVERSATION_MOVES.get((current, target))
    if needs_assignee is None:
        return False
    return has_assignee or not needs_assignee
