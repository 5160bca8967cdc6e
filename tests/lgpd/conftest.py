"""The page-test fixtures (signed-in browser sessions) for the LGPD tests."""

from tests.web.conftest import pages, sqlite_pages  # noqa: F401 (fixtures used by name)
