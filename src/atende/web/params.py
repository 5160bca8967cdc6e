"""Typed, bounded path and query parameters: anything else is a 422 at the edge, never a 500."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from atende.domain.ids import MAX_ID

RowId = Annotated[int, Path(ge=1, le=MAX_ID, description="id (1 … 2⁶³−1)")]
