"""Every test here starts and ends on the real clock; the page clients of tests/web are shared."""

from collections.abc import Iterator
from datetime import timedelta

import pytest

from atende.db.types import clock
from tests.web.conftest import pages, sqlite_pages  # noqa: F401 (fixtures used by name)


@pytest.fixture(autouse=True)
def real_clock() -> Iterator[None]:
    clock.offset = timedelta(0)
    yield
    clock.offset = timedelta(0)
