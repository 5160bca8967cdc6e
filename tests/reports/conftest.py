"""The reports' tests move the clock; every test gets the real one back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from atende.db.types import set_clock


@pytest.fixture(autouse=True)
def real_clock_afterwards() -> Iterator[None]:
    yield
    set_clock(None)


from tests.web.conftest import pages, sqlite_pages  # noqa: E402, F401 (page clients, by fixture name)
