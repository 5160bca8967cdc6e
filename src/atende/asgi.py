"""ASGI entry point for multi-process serving: `uvicorn atende.asgi:app --workers N`."""

from __future__ import annotations

import os

from atende.app import create_app
from atende.gc_tuning import tune_for_serving

app = create_app(role=os.environ.get("ATENDE_ROLE", "web"))  # type: ignore[arg-type]
tune_for_serving()  # each worker process imports this module: its own heap, its own settings
