"""Conversation priority: four levels, stored as a small integer so lists can sort by it."""

from __future__ import annotations

PRIORITIES: dict[str, int] = {"low": 0, "normal": 1, "high": 2, "urgent": 3}
NAMES: dict[int, str] = {v: k for k, v in PRIORITIES.items()}
DEFAULT = PRIORITIES["normal"]


def rank(name: str) -> int:
    """'high' → 2. ValueError for anything else."""
    try:
        return PRIORITIES[name]
    except KeyError:
        raise ValueError(f"prioridade desconhecida: {name!r}") from None


def name_of(value: int | None) -> str:
    """2 → 'high'; an unknown or missing value reads as 'normal'."""
    return NAMES.get(value if value is not None else DEFAULT, "normal")
