"""Parity of the raw-driver path (db/raw_sqlite.py) with SQLAlchemy's for every hot ingest statement.

Two SQLite files get the same statements, one through SQLAlchemy, one through the writer thread's
raw path: what is stored must be byte-for-byte the same, and what comes back the same values of the
same types.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, insert, update
from sqlalchemy.exc import IntegrityError

from atende.actions import contacts as contact_actions
from atende.actions import ingest
from atende.db.prepared import (
    HOT,
    by_id_params,
    insert_ignore_returning_id,
    insert_ignore_stmt,
    insert_returning_id,
    update_by_id,
)
from atende.db.raw_sqlite import RawRunner
from atende.db.sync_bridge import SyncConnection, create_sqlite_sync_engine, run_sync
from atende.db.tables import connectors, contact_identities, contacts, conversations, events, jobs, messages, metadata
from atende.realtime import events as event_log

T0 = datetime(2025, 11, 16, 14, 30, 0, 123456, tzinfo=UTC)


def _engine(path: Path) -> Engine:
    engine = create_sqlite_sync_engine(f"sqlite+aiosqlite:///{path}")
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(connectors), {
            "name": "c", "provider": "kolmeya", "channel": "sms", "config_encrypted": "x", "webhook_token_hash": "h",
            "webhook_token_encrypted": "x", "created_at": T0, "updated_at": T0})
        conn.execute(insert(contacts), [{"name": "Ana", "created_at": T0, "updated_at": T0},
                                        {"name": "", "created_at": T0, "updated_at": T0}])
        conn.execute(insert(contact_identities), [
            {"contact_id": 1, "kind": "phone", "value": "+5511987654321", "attributes": {"wa_id": "551187654321"},
             "created_at": T0},
            {"contact_id": 2, "kind": "bsuid", "value": "BR.abc", "attributes": {}, "created_at": T0}])
        conn.execute(insert(conversations), {
            "connector_id": 1, "contact_id": 1, "channel": "sms", "address_key": "+5511987654321",
            "address": "+551187654321", "status": "done", "last_activity_at": T0, "last_inbound_at": None,
            "last_outbound_at": T0 - timedelta(minutes=3), "last_message_preview": "olá", "unread": 2,
            "cost_total": Decimal("0.1600"), "created_at": T0})
        conn.execute(insert(messages), [
            {"conversation_id": 1, "connector_id": 1, "contact_id": 1, "direction": "out", "kind": "text",
             "text": "oi", "status": "sent", "provider_message_id": "m-1", "reference": "rABC", "attributes": {},
             "created_at": T0, "updated_at": T0},
            {"conversation_id": 1, "connector_id": 1, "contact_id": 1, "direction": "out", "kind": "text",
             "text": "antiga", "status": "sent", "provider_message_id": "m-2", "reference": None, "attributes": {},
             "created_at": T0, "updated_at": T0}])
    return engine


@pytest.fixture
def engines(tmp_path: Path) -> Any:
    a, b = _engine(tmp_path / "alchemy.db"), _engine(tmp_path / "raw.db")
    yield a, b, RawRunner(b.dialect)
    a.dispose()
    b.dispose()


def both(engines: Any, statement: Any, params: dict[str, Any]) -> tuple[Any, Any]:
    """(SQLAlchemy's result rows or scalar, the raw path's), each in its own committed transaction."""
    a, b, runner = engines
    assert id(statement) in HOT
    with a.begin() as conn:
        result = conn.execute(statement, params)
        expected = list(result) if result.returns_rows else result.rowcount
    with b.begin() as conn:
        raw = runner.execute(conn, statement, params)
        assert raw is not None, "the statement should run on the raw path"
        got = list(raw) if expected.__class__ is list else raw.rowcount
    return expected, got


def assert_same_rows(expected: list[Any], got: list[Any]) -> None:
    assert len(got) == len(expected)
    for e, g in zip(expected, got, strict=True):
        assert tuple(g) == tuple(e)
        assert [type(v) for v in g] == [type(v) for v in e]
        assert g._mapping == dict(e._mapping)


def stored(engines: Any, table: str) -> tuple[list[Any], list[Any]]:
    a, b, _ = engines
    rows = []
    for engine in (a, b):
        db = sqlite3.connect(engine.url.database)
        rows.append(db.execute(f"SELECT * FROM {table} ORDER BY id").fetchall())
        db.close()
    return rows[0], rows[1]


@pytest.mark.parametrize("keys", [["+5511987654321"], ["+551187654321", "+5511987654321"], ["+5599"]])
def test_conversation_lookup_returns_the_same_rows(engines: Any, keys: list[str]) -> None:
    expected, got = both(engines, ingest._CONV_BY_KEY, {"cid": 1, "keys": keys})
    assert_same_rows(expected, got)
    expected, got = both(engines, ingest._CONV_BY_ID, {"id": 1})
    assert_same_rows(expected, got)
    assert got[0].last_activity_at == T0 and got[0].last_activity_at.tzinfo is UTC
    assert got[0].cost_total == Decimal("0.1600")


def test_known_ids_and_answered_lookups(engines: Any) -> None:
    expected, got = both(engines, ingest._KNOWN_IDS, {"cid": 1, "ids": ["m-1", "m-9", "m-2"]})
    assert sorted(r[0] for r in got) == ["m-1", "m-2"]
    assert_same_rows(sorted(expected), sorted(got))
    expected, got = both(engines, ingest._ANSWERED_BY_ID, {"cid": 1, "convs": [1], "pid": "m-1"})
    assert_same_rows(expected, got)
    assert got[0].id == 1
    for ref, legacy in (("rABC", None), ("2", 2), ("1", 1)):  # message 1 has a reference: "1" is not it
        expected, got = both(engines, ingest._ANSWERED_BY_REFERENCE,
                             {"cid": 1, "convs": [1], "ref": ref, "legacy": legacy})
        assert_same_rows(expected, got)
        assert [r.id for r in got] == {"rABC": [1], "2": [2], "1": []}[ref]


def test_identity_lookup_and_name_update(engines: Any) -> None:
    for kind, values, contact_id, name in (("phone", ["+551187654321", "+5511987654321"], 1, "Ana"),
                                           ("bsuid", ["BR.abc"], 2, ""), ("phone", ["+5599"], None, None)):
        expected, got = both(engines, contact_actions._IDENTITY, {"kind": kind, "values": values})
        assert_same_rows(expected, got)
        assert [(r.contact_id, r.name) for r in got] == ([(contact_id, name)] if contact_id else [])
    for cid, changed in ((1, 0), (2, 1)):  # only a contact without a name takes one
        expected, got = both(engines, contact_actions._NAME_IF_EMPTY, {"cid": cid, "v_name": "Bia", "v_at": T0})
        assert expected == got == changed
    a_rows, b_rows = stored(engines, "contacts")
    assert a_rows == b_rows and [r[1] for r in b_rows] == ["Ana", "Bia"]


def test_routing_and_scope_lookups(engines: Any) -> None:
    for statement, params in ((ingest._BOT_ON, {"cid": 1}), (ingest._HOURS_MESSAGE, {"cid": 1}),
                              (event_log._SCOPE, {"id": 1}), (event_log._SCOPE, {"id": 9})):
        expected, got = both(engines, statement, params)
        assert_same_rows(expected, got)
    assert [tuple(r) for r in got] == []
    expected, got = both(engines, event_log._SCOPE, {"id": 1})
    assert [(r.id, r.contact_id, r.status) for r in got] == [(1, 1, "done")]


def test_an_empty_in_list_is_left_to_sqlalchemy(engines: Any) -> None:
    _, b, runner = engines
    with b.begin() as conn:
        assert runner.execute(conn, ingest._KNOWN_IDS, {"cid": 1, "ids": []}) is None


def test_message_insert_conversation_update_and_counter_store_the_same_bytes(engines: Any) -> None:
    values = dict(conversation_id=1, connector_id=1, contact_id=1, direction="in", kind="text",
                  text="Não quero 🙏", status="received", provider_message_id="in-1", reply_to_id=1,
                  attributes={"a": [1, "é"]}, raw={"reply": {"id": 5}}, created_at=T0, updated_at=T0,
                  segments=1, encoding="UCS2", cost=Decimal(0))
    stmt = insert_ignore_returning_id(messages, "sqlite")
    expected, got = both(engines, stmt, values)
    assert_same_rows(expected, got)
    expected, got = both(engines, stmt, values)  # the same provider id again: ignored, no id
    assert expected == got == []
    conv_values = {"last_activity_at": T0 + timedelta(seconds=5), "last_message_preview": "Não quero 🙏",
                   "last_message_direction": "in", "last_inbound_at": T0 + timedelta(seconds=5)}
    expected, got = both(engines, update_by_id(conversations, frozenset(conv_values), frozenset({"unread"})),
                         by_id_params(1, conv_values))
    assert expected == got == 1
    expected, got = both(engines, ingest._COUNT_RECEIVED, {"row_id": 1, "n": 7})
    assert expected == got == 1
    for table in ("messages", "conversations", "connectors"):
        a_rows, b_rows = stored(engines, table)
        assert a_rows == b_rows


def test_event_and_job_inserts_store_the_same_bytes(engines: Any) -> None:
    expected, got = both(engines, insert_returning_id(events), {
        "type": "message.created", "conversation_id": 1, "payload": {"preview": "ação"}, "created_at": T0})
    assert_same_rows(expected, got)
    job = dict(kind="route", payload={"conversation_id": 1}, status="pending", run_at=T0, attempts=0,
               max_attempts=8, dedup_key="route:1", created_at=T0, updated_at=T0)
    assert both(engines, insert_ignore_stmt(jobs, "sqlite"), job) == (1, 1)
    assert both(engines, insert_ignore_stmt(jobs, "sqlite"), job) == (0, 0)  # a duplicate key: ignored
    for table in ("events", "jobs"):
        a_rows, b_rows = stored(engines, table)
        assert a_rows == b_rows and len(a_rows) == 1


def test_a_constraint_error_surfaces_as_sqlalchemys(engines: Any) -> None:
    _, b, runner = engines
    with pytest.raises(IntegrityError) as caught, b.begin() as conn:
        runner.execute(conn, insert_returning_id(events), {
            "type": None, "conversation_id": 1, "payload": {"x": "segredo"}, "created_at": T0})
    assert "segredo" not in str(caught.value)  # values never reach an error message (or a log)


def test_the_writer_threads_connection_uses_the_raw_path(engines: Any) -> None:
    _, b, runner = engines
    with b.begin() as conn:
        shim = SyncConnection(conn, runner)
        rows = run_sync(shim.execute(ingest._CONV_BY_KEY, {"cid": 1, "keys": ["+5511987654321"]}))
        assert type(rows).__name__ == "RawResult" and rows.first().id == 1
        assert run_sync(shim.scalar(ingest._CONV_BY_ID, {"id": 1})) == 1
        plain = run_sync(shim.execute(conversations.select()))  # not hot: SQLAlchemy's own result
        assert type(plain).__name__ == "CursorResult"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300), offset=st.integers(min_value=0, max_value=10**9),
       attributes=st.dictionaries(st.text(max_size=8), st.one_of(st.integers(), st.text(max_size=20)), max_size=4),
       cost=st.decimals(min_value=0, max_value=1000, places=4))
def test_any_message_is_stored_the_same_way(engines: Any, text: str, offset: int, attributes: dict[str, Any],
                                            cost: Decimal) -> None:
    pid = f"h-{offset}-{len(text)}-{hash(text)}"
    at = T0 + timedelta(microseconds=offset)
    values = dict(conversation_id=1, connector_id=1, contact_id=1, direction="in", kind="text", text=text,
                  status="received", provider_message_id=pid, reply_to_id=None, attributes=attributes,
                  raw={"t": text}, created_at=at, updated_at=at, cost=cost)
    expected, got = both(engines, insert_ignore_returning_id(messages, "sqlite"), values)
    assert_same_rows(expected, got)
    a_rows, b_rows = stored(engines, "messages")
    assert a_rows == b_rows


def test_campaign_reply_lookups_return_the_same_rows(engines: Any) -> None:
    from atende.actions import campaign_sends, campaign_state
    from atende.db.tables import campaign_recipients, campaigns

    for engine in engines[:2]:
        with engine.begin() as conn:
            conn.execute(insert(campaigns), {"name": "Cobrança", "connector_id": 1, "channel": "sms",
                                             "status": "running", "rate_per_minute": 60, "ref_key": "k",
                                             "created_at": T0, "updated_at": T0})
            conn.execute(insert(campaign_recipients), [
                {"campaign_id": 1, "connector_id": 1, "row_no": 1, "address_key": "+5511987654321",
                 "vars": {"nome": "Ana"}, "text": "Oi Ana", "segments": 1, "cost": Decimal("0.08"), "state": "sent",
                 "provider_message_id": "k-1", "sent_at": T0},
                {"campaign_id": 1, "connector_id": 1, "row_no": 2, "address_key": "+5511912345678",
                 "vars": {}, "text": "Oi", "segments": 1, "cost": Decimal("0.08"), "state": "pending",
                 "provider_message_id": None, "sent_at": None}])
    for statement, params in (
            (campaign_state._BY_PROVIDER_ID, {"pid": "k-1", "cid": 1}),
            (campaign_state._BY_PROVIDER_ID, {"pid": "k-9", "cid": 1}),
            (campaign_state._BY_ID, {"rid": 1, "cid": 1}),
            (campaign_sends._LAST_TO_NUMBER, {"keys": ["+5511987654321", "+551187654321"], "cid": 1,
                                              "since": T0 - timedelta(days=7)}),
            (campaign_sends._LAST_TO_NUMBER, {"keys": ["+5511912345678"], "cid": 1, "since": T0 - timedelta(days=7)})):
        expected, got = both(engines, statement, params)
        assert_same_rows(expected, got)
    assert [r.provider_message_id for r in both(engines, campaign_state._BY_PROVIDER_ID,
                                                  {"pid": "k-1", "cid": 1})[1]] == ["k-1"]
    assert both(engines, campaign_sends._LAST_TO_NUMBER, {"keys": ["+5511912345678"], "cid": 1,
                                                          "since": T0 - timedelta(days=7)})[1] == []


def test_report_counters_upsert_and_attendance_count_the_same(engines: Any) -> None:
    from atende.actions import rollups
    from atende.db.prepared import upsert_add
    from atende.db.tables import attendances, report_activity

    for engine in engines[:2]:
        with engine.begin() as conn:
            conn.execute(insert(attendances), {"conversation_id": 1, "connector_id": 1, "channel": "sms",
                                               "started_at": T0, "messages_in": 0, "messages_out": 0})
            conn.execute(update(conversations).where(conversations.c.id == 1).values(current_attendance_id=1))
    upsert = upsert_add(report_activity, "sqlite", rollups.ACTIVITY_KEY, frozenset({"messages_in"}))
    row = {"hour": T0.replace(minute=0, second=0, microsecond=0), "conversation_id": 1,
           **rollups.where("sms", 1, None, None), "messages_in": 1}
    for _ in range(2):  # a new row, then the same row added to
        assert both(engines, upsert, row) == (1, 1)
    assert both(engines, rollups._COUNT_IN_CLOCK, {"cid": 1, "at": T0}) == (1, 1)
    assert both(engines, rollups._COUNT_IN_CLOCK, {"cid": 1, "at": T0 + timedelta(minutes=5)}) == (1, 1)
    assert both(engines, rollups._COUNT_IN, {"cid": 1}) == (1, 1)
    activity = [sqlite3.connect(e.url.database).execute("SELECT * FROM report_activity").fetchall()
                for e in engines[:2]]
    assert activity[0] == activity[1] and len(activity[1]) == 1
    alchemy, raw = stored(engines, "attendances")
    assert alchemy == raw
    db = sqlite3.connect(engines[1].url.database)
    assert db.execute("SELECT messages_in, customer_at FROM attendances").fetchone()[0] == 3
    assert db.execute("SELECT messages_in FROM report_activity").fetchone()[0] == 2
    db.close()
