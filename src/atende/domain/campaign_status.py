"""A campaign's lifecycle. Pure, no I/O.

    preparing ─▶ draft ─start─▶ running ◀─resume─ paused
                   │      └───▶ scheduled ─(its time)─▶ running
                   │                                     │ └─pause─▶ paused
                   └────────── cancel (from any of these) ─▶ cancelled      running ─(nothing left)─▶ done

- `preparing`: the list is being stored (big files go in chunks); nothing can be started yet.
- `start` on a draft with `schedule_at` in the future waits in `scheduled`; so does `resume` of a
  paused campaign whose time has not come.
- `done` and `cancelled` are final.
"""

from __future__ import annotations

from typing import Final

__all__ = ["ACTIONS", "FINAL", "STATUSES", "IllegalTransition", "next_status"]

STATUSES: Final[tuple[str, ...]] = ("preparing", "draft", "scheduled", "running", "paused", "done", "cancelled")
ACTIONS: Final[tuple[str, ...]] = ("prepared", "start", "begin", "pause", "resume", "cancel", "finish")
FINAL: Final[frozenset[str]] = frozenset({"done", "cancelled"})

_MOVES: Final[dict[tuple[str, str], str]] = {
    ("preparing", "prepared"): "draft",
    ("preparing", "cancel"): "cancelled",
    ("draft", "start"): "running",
    ("draft", "cancel"): "cancelled",
    ("scheduled", "begin"): "running",
    ("scheduled", "pause"): "paused",
    ("scheduled", "cancel"): "cancelled",
    ("running", "pause"): "paused",
    ("running", "finish"): "done",
    ("running", "cancel"): "cancelled",
    ("paused", "resume"): "running",
    ("paused", "cancel"): "cancelled",
}

_REFUSALS: Final[dict[str, str]] = {
    "start": "só um rascunho pode ser iniciado",
    "pause": "só uma campanha em andamento ou agendada pode ser pausada",
    "resume": "só uma campanha pausada pode ser retomada",
    "cancel": "a campanha já terminou",
}


class IllegalTransition(ValueError):
    """The action does not apply to the campaign's status (message in pt-BR)."""


def next_status(current: str, action: str, *, later: bool = False) -> str:
    """The status after `action`. `later`: the campaign's `schedule_at` is still in the future (start
    and resume then wait in `scheduled`)."""
    if current not in STATUSES or action not in ACTIONS:
        raise ValueError(f"unknown status or action: {current!r}, {action!r}")
    target = _MOVES.get((current, action))
    if target is None:
        raise IllegalTransition(_REFUSALS.get(action, f"ação {action} não se aplica a uma campanha {current}"))
    if target == "running" and later and action in ("start", "resume"):
        return "scheduled"
    return target
