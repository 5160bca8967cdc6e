"""What a new team met in its first hour, from a fresh clone (scripts/run, scripts/demo)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import select

from atende.db.tables import attendances
from atende.logs import configure_logging
from tests.support.harness import Harness
from tests.web.pagekit import PageClient, sms_conversation

Pages = Callable[[str], Awaitable[PageClient]]


async def test_an_empty_installation_says_what_to_do(harness: Harness, pages: Pages) -> None:
    admin, ana = await pages("admin"), await pages("ana")
    html = (await admin.get("/board")).text
    assert 'data-testid="no-channels"' in html and 'href="/settings/connectors"' in html and "scripts/demo" in html
    html = (await ana.get("/board")).text
    assert "peça a um administrador para criar um conector" in html
    await harness.kolmeya_connector()
    assert 'data-testid="no-channels"' not in (await admin.get("/board")).text


async def test_the_agents_answer_follows_their_taking_it(harness: Harness, pages: Pages) -> None:
    """The demo's chat read "Ana: Olá!" and then "Ana Souza assumiu a conversa" below it."""
    conv = (await sms_conversation(harness))["conversation"]
    assert conv["status"] == "new"
    ana = await pages("ana")
    r = await ana.post(f"/conversations/{conv['id']}/send", {"text": "Olá! Já vou verificar.", "mode": "reply"})
    assert r.status_code == 204
    thread = (await ana.get(f"/conversations/{conv['id']}/thread?after_msg=0&after_event=0")).text
    assert thread.index("Ana assumiu a conversa") < thread.index("Olá! Já vou verificar.")


async def test_answering_a_closed_conversation_counts_in_the_new_attendance(harness: Harness) -> None:
    h = harness
    conv = (await sms_conversation(h))["conversation"]
    r = await h.post(f"/api/v1/conversations/{conv['id']}/assign", {"agent_id": h.user_ids["ana"]}, who="ana")
    assert r.status_code == 200  # hers: she keeps reading it once closed
    assert (await h.post(f"/api/v1/conversations/{conv['id']}/close", who="ana")).status_code == 200
    r = await h.post(f"/api/v1/conversations/{conv['id']}/messages", {"text": "Voltando ao seu pedido"}, who="ana")
    assert r.status_code == 202
    async with h.rt.read() as conn:
        rows = list(await conn.execute(
            select(attendances.c.id, attendances.c.first_response_at, attendances.c.closed_at,
                   attendances.c.messages_out)
            .where(attendances.c.conversation_id == conv["id"]).order_by(attendances.c.id)))
    assert len(rows) == 2 and rows[0].closed_at is not None
    # The reply belongs to the new attendance. It is not a first *response* (docs/reports.md): no customer
    # message waits in this attendance, so the clock starts when the customer writes.
    assert rows[1].messages_out == 1 and rows[1].closed_at is None and rows[1].first_response_at is None


def test_startup_does_not_print_alembic_chatter() -> None:
    configure_logging("INFO")  # replaces the root handlers, so the test listens with its own
    seen: list[str] = []

    class Listen(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    listener = Listen()
    logging.getLogger().addHandler(listener)
    try:
        log = logging.getLogger("alembic.runtime.migration")
        log.info("Context impl SQLiteImpl.")
        log.info("Will assume non-transactional DDL.")
        log.info("Running upgrade 0009 -> 0012, close reasons")
    finally:
        logging.getLogger().removeHandler(listener)
    assert seen == ["Running upgrade 0009 -> 0012, close reasons"]
