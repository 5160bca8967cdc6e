"""Typed, bounded path and query parameters: anything else is a 422 at the edge, never a 500."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import Field

from atende.domain.ids import MAX_ID

RowId = Annotated[int, Path(ge=1, le=MAX_ID, description="id (1 … 2⁶³−1)")]
# Optional ids and keyset positions in query strings (0 allowed: "from the start").
OptId = Annotated[int | None, Query(ge=0, le=MAX_ID)]
# Ids inside JSON bodies.
BodyId = Annotated[int, Field(ge=1, le=MAX_ID)]
