"""Settings → Auditoria: admins read the audit log with filters; nobody else does."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tests.web.pagekit import PageClient


async def test_admin_reads_the_audit_log_with_filters(sqlite_pages: Callable[[str], Awaitable[PageClient]]) -> None:
    admin = await sqlite_pages("admin")
    failed = PageClient(admin.h)
    assert (await failed.login("ana", "senha-errada")).status_code == 401
    r = await admin.get("/settings/audit")
    assert r.status_code == 200
    assert "login.failed" in r.text and "login.ok" in r.text and 'aria-current="page"' in r.text
    only = await admin.get("/settings/audit", params={"action": "login.failed"})
    assert "login.failed" in only.text and "<code>login.ok</code>" not in only.text
    assert (await admin.get("/settings/audit", params={"cursor": "!!"})).status_code == 400
    assert (await admin.get("/settings/audit", params={"from": "2025-13-40"})).status_code == 422
    assert (await admin.get("/settings/audit", params={"actor": "²"})).status_code == 422
    for who in ("supervisor", "ana"):
        other = await sqlite_pages(who)
        assert (await other.get("/settings/audit")).status_code == 403
        assert "/settings/audit" not in (await other.get("/settings/connectors")).text
    await failed.aclose()
