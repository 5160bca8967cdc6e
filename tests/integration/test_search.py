"""GET /api/v1/search and the board's `q`, on SQLite FTS5 and PostgreSQL tsvector (real servers)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from atende.db.engine import create_engine
from atende.db.migrate import upgrade
from atende.db.tables import conversations
from tests.support.harness import Harness

PHONE = "+5511987654321"


async def sms_in(h: Harness, c: dict[str, Any], text_: str, phone: str = PHONE, ref: str | None = None) -> None:
    """A customer's SMS arrives through the Kolmeya webhook (the real ingest path)."""
    ref = ref or f"r-{abs(hash((text_, phone)))}"
    body = {"reply": {"id": ref, "reply": text_, "received_at": "16/11/2025 14:30:00",
                      "message": {"id": f"m-{ref}", "reference": None, "phone": phone.lstrip("+"), "content": "x"}}}
    path = c["webhook_url"].removeprefix("http://atende.test")
    r = await h.client.post(path, content=json.dumps(body), headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text


async def search(h: Harness, q: str, who: str = "admin", **params: Any) -> dict[str, Any]:
    r = await h.get("/api/v1/search", who, params={"q": q, **params})
    assert r.status_code == 200, r.text
    return dict(r.json())


def messages_of(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in result["items"] if i["match"] == "message"]


def contacts_of(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in result["items"] if i["match"] == "contact"]


async def test_accents_and_case_are_ignored_and_matches_are_marked(harness: Harness) -> None:
    h = harness
    c = await h.kolmeya_connector()
    await sms_in(h, c, "Não recebi o BOLETO (R$ 5 > 3) & rápido")
    for q in ("nao", "NÃO", "boleto", "bolet", "rapido recebi"):
        hits = messages_of(await search(h, q))
        assert len(hits) == 1, q
    [hit] = messages_of(await search(h, "nao boleto"))
    assert "<mark>Não</mark>" in hit["snippet"] and "<mark>BOLETO</mark>" in hit["snippet"]
    assert "&gt;" in hit["snippet"] and "&amp;" in hit["snippet"]  # the rest is escaped
    assert hit["channel"] == "sms" and hit["contact"]["id"] and hit["conversation_id"] and hit["message_id"]
    assert hit["created_at"].endswith("Z")
    assert messages_of(await search(h, "pix")) == []


async def test_a_number_finds_its_contact_in_every_spelling(harness: Harness) -> None:
    h = harness
    c = await h.kolmeya_connector()
    await sms_in(h, c, "oi")
    await sms_in(h, c, "olá", phone="+5521912345678")
    for q in ("11987654321", "(11) 98765-4321", "1187654321", "5511987654321", "+55 11 8765-4321", "4321",
              "98765"):
        found = contacts_of(await search(h, q))
        assert [f["contact"]["name"] for f in found] == [PHONE], q
        assert found[0]["message_id"] is None and "<mark>" in found[0]["snippet"]
    assert contacts_of(await search(h, "99999999")) == []


async def test_names_notes_and_renames_are_indexed_in_the_same_transaction(harness: Harness) -> None:
    h = harness
    c = await h.kolmeya_connector()
    await sms_in(h, c, "bom dia")
    conv = (await h.get("/api/v1/conversations")).json()["items"][0]
    r = await h.client.patch(f"/api/v1/contacts/{conv['contact']['id']}", json={"name": "João da Silva"},
                             headers=h.auth())
    assert r.status_code == 200, r.text
    [hit] = contacts_of(await search(h, "joao"))
    assert hit["contact"]["name"] == "João da Silva" and hit["snippet"] == "<mark>João</mark> da Silva"
    assert hit["conversation_id"] == conv["id"]
    r = await h.client.patch(f"/api/v1/contacts/{conv['contact']['id']}", json={"name": "Maria Souza"},
                             headers=h.auth())
    assert contacts_of(await search(h, "joao")) == []
    assert len(contacts_of(await search(h, "souza"))) == 1
    r = await h.post(f"/api/v1/conversations/{conv['id']}/messages",
                     {"kind": "note", "text": "cliente pediu reembolso"})
    assert r.status_code in (200, 201, 202), r.text
    [note] = messages_of(await search(h, "reembolso"))
    assert note["conversation_id"] == conv["id"]
    r = await h.post(f"/api/v1/conversations/{conv['id']}/messages", {"text": "segue a fatura atualizada"})
    assert r.status_code == 202, r.text
    assert len(messages_of(await search(h, "fatura"))) == 1  # outbound text too


async def test_filters_and_keyset_pages_newest_first(harness: Harness) -> None:
    h = harness
    sms = await h.kolmeya_connector()
    for i in range(5):
        await sms_in(h, sms, f"pedido numero {i} entregue", phone=f"+55119876500{i:02d}")
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = await search(h, "entregue", **params)
        seen += [i["message_id"] for i in messages_of(page)]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert pages == 3 and len(seen) == 5 and seen == sorted(seen, reverse=True)
    assert len(messages_of(await search(h, "entregue", channel="sms", connector_id=sms["id"]))) == 5
    assert messages_of(await search(h, "entregue", channel="whatsapp")) == []
    assert messages_of(await search(h, "entregue", connector_id=sms["id"] + 99)) == []
    assert messages_of(await search(h, "entregue", to="2000-01-01")) == []
    assert len(messages_of(await search(h, "entregue", **{"from": "2000-01-01"}))) == 5


async def test_bad_input_is_a_clear_4xx(harness: Harness) -> None:
    h = harness
    assert (await h.client.get("/api/v1/search", params={"q": "x"})).status_code == 401
    for params, code in (({"q": ""}, 422), ({"q": "!!! ..."}, 422), ({"q": "x", "cursor": "@@"}, 400),
                         ({"q": "x", "from": "ontem"}, 422), ({"q": "x", "channel": "fax"}, 422),
                         ({"q": "x", "from": "2025-02-01", "to": "2025-01-01"}, 422), ({"q": "x", "limit": 0}, 422),
                         ({"q": "x" * 201}, 422)):
        r = await h.get("/api/v1/search", params=params)
        assert r.status_code == code, (params, r.text)
        assert r.json()["detail"]


async def test_results_follow_the_authorization_layer(harness: Harness) -> None:
    """Search finds only what the viewer may open (auth.policy's list scope): an agent of team A finds
    team A's conversations and contacts, not team B's; an admin finds both (the page: test_visibility_pages)."""
    from tests.teams.kit import kolmeya, make_team

    h = harness
    a, b = await kolmeya(h, 1), await kolmeya(h, 2)
    await make_team(h, "Financeiro", ["ana"], [a])
    await make_team(h, "Suporte", ["bruno"], [b])
    await sms_in(h, a, "segunda via", phone="+5511987650001")
    await sms_in(h, b, "segunda via", phone="+5511987650002")
    everything = messages_of(await search(h, "segunda"))
    assert len(everything) == 2
    async with h.rt.read() as conn:
        team_of = {int(r.id): r.connector_id for r in await conn.execute(
            select(conversations.c.id, conversations.c.connector_id))}
    hits = messages_of(await search(h, "segunda", who="ana"))
    assert [team_of[i["conversation_id"]] for i in hits] == [a["id"]]
    assert [team_of[i["conversation_id"]] for i in messages_of(await search(h, "segunda", who="bruno"))] == [b["id"]]
    assert contacts_of(await search(h, "87650002", who="ana")) == []
    assert len(contacts_of(await search(h, "87650002", who="bruno"))) == 1


async def test_board_search_uses_the_indexes(harness: Harness) -> None:
    h = harness
    c = await h.kolmeya_connector()
    await sms_in(h, c, "preciso da segunda via do carnê", phone="+5511987650001")
    await sms_in(h, c, "obrigado", phone="+5511987650001")  # the preview is no longer that message
    await sms_in(h, c, "oi", phone="+5521912345678")

    async def board(q: str) -> list[str]:
        r = await h.get("/api/v1/conversations", params={"q": q})
        assert r.status_code == 200, r.text
        return [i["contact"]["address"] for i in r.json()["items"]]

    assert await board("carne") == ["+5511987650001"]  # any message of the thread, accents ignored
    assert await board("21 91234-5678") == ["+5521912345678"]
    assert await board("2191234 5678") == ["+5521912345678"]
    assert await board("nada disso") == []
    assert await board("!!!") == []


def before_search() -> str:
    """The revision just before the search migration (whatever the chain became after merges)."""
    from alembic.script import ScriptDirectory

    from atende.db.migrate import alembic_config

    previous = ScriptDirectory.from_config(alembic_config("sqlite://")).get_revision("0009").down_revision
    assert isinstance(previous, str)
    return previous


async def downgrade(engine: Any, revision: str) -> None:
    from alembic import command

    from atende.db.migrate import alembic_config

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))

    def run(sync_conn: Any) -> None:
        cfg.attributes["connection"] = sync_conn
        command.downgrade(cfg, revision)

    async with engine.connect() as conn:
        await conn.run_sync(run)
        await conn.commit()


async def seed_rows(engine: Any, texts: list[str]) -> None:
    """Rows written the way any code would (Core inserts), whatever the search objects are."""
    from sqlalchemy import insert

    from atende.db import tables as t

    now = datetime(2025, 1, 1, tzinfo=UTC)
    async with engine.begin() as conn:
        await conn.execute(insert(t.contacts).values(id=1, name="Antônio Pereira", created_at=now, updated_at=now))
        await conn.execute(insert(t.contact_identities).values(contact_id=1, kind="phone", value="+5548991910234",
                                                               attributes={}, created_at=now))
        connector = {c.name: "x" for c in t.connectors.columns if not c.nullable and c.server_default is None}
        connector.update(id=1, name="c", provider="sandbox", channel="sms", created_at=now, updated_at=now)
        await conn.execute(insert(t.connectors).values(**connector))
        await conn.execute(insert(t.conversations).values(
            id=1, connector_id=1, contact_id=1, channel="sms", address_key="+5548991910234",
            address="+5548991910234", status="new", last_activity_at=now, created_at=now))
        await conn.execute(insert(t.messages), [
            {"conversation_id": 1, "connector_id": 1, "contact_id": 1, "direction": "in", "kind": "text",
             "text": text_, "status": "received", "attributes": {}, "created_at": now, "updated_at": now}
            for text_ in texts])


async def test_migration_backfills_existing_rows(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Rows written before 0009 are found after it, on both databases."""
    from atende.search.queries import search as run_search

    for url in (f"sqlite+aiosqlite:///{tmp_path / 'old.db'}", request.getfixturevalue("postgres_url")):
        engine = create_engine(url)
        try:
            await upgrade(engine)
            await downgrade(engine, before_search())  # as a database written before search existed
            await seed_rows(engine, [f"mensagem antiga {i} sobre a cobrança" for i in range(1, 31)])
            await upgrade(engine)
            async with engine.connect() as conn:
                items, cursor = await run_search(conn, "cobranca", limit=100)
                assert len([i for i in items if i["match"] == "message"]) == 30 and cursor is None
                items, _ = await run_search(conn, "antonio")
                assert [i["contact"]["name"] for i in items] == ["Antônio Pereira"]
                items, _ = await run_search(conn, "4891910234")  # without the 9th digit
                assert [i["contact"]["id"] for i in items] == [1]
        finally:
            await engine.dispose()


async def test_sqlite_search_triggers_exist_at_head(tmp_path: Path) -> None:
    """A later migration that rebuilds a table in SQLite batch mode drops its triggers: catch it here."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'head.db'}")
    try:
        await upgrade(engine)
        async with engine.connect() as conn:
            names = set((await conn.execute(text(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'search_%'"))).scalars())
        assert names == {f"search_{t}_{op}" for t in ("messages", "contacts", "numbers") for op in ("ai", "ad", "au")}
    finally:
        await engine.dispose()


async def test_lost_search_triggers_are_restored_and_the_index_rebuilt(tmp_path: Path) -> None:
    """What a later migration rebuilding `messages` in batch mode would do: the triggers go, writes
    meanwhile miss the index; the next upgrade puts the triggers back and rebuilds the index."""
    from atende.search.queries import search as run_search

    url = f"sqlite+aiosqlite:///{tmp_path / 'heal.db'}"
    engine = create_engine(url)
    try:
        await upgrade(engine)
        async with engine.begin() as conn:
            await conn.execute(text("DROP TRIGGER search_messages_ai"))
        await seed_rows(engine, ["sem gatilho"])
        async with engine.connect() as conn:
            assert (await run_search(conn, "gatilho"))[0] == []  # stale
        await upgrade(engine)
        async with engine.connect() as conn:
            assert [i["match"] for i in (await run_search(conn, "gatilho"))[0]] == ["message"]
    finally:
        await engine.dispose()


@pytest.mark.parametrize("common", [True, False], ids=["window-then-gin", "gin-first"])
async def test_old_matches_beyond_the_newest_window_are_found_in_order(harness: Harness, common: bool,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL walks the newest messages first for common words, then asks the GIN index for older
    ones; rare words go to the GIN index at once. Either way pages come newest first, no gaps, no repeats."""
    from atende.search import queries as search_queries

    monkeypatch.setattr(search_queries, "WINDOW", 3)
    monkeypatch.setattr(search_queries, "RARE_ROWS", 0 if common else 10**9)
    monkeypatch.setattr(search_queries, "_stats_cache", {})
    h = harness
    c = await h.kolmeya_connector()
    for i in range(8):
        await sms_in(h, c, f"reclamação número {i}", phone=f"+55119876501{i:02d}", ref=f"old-{i}")
        for j in range(3):  # newer messages that do not match push the old ones out of the window
            await sms_in(h, c, f"outra coisa {i} {j}", phone=f"+55119876501{i:02d}", ref=f"noise-{i}-{j}")
    if h.rt.engine.dialect.name == "postgresql":
        async with h.rt.engine.connect() as conn:
            await conn.execute(text("ANALYZE messages"))  # statistics: the window path needs them
            await conn.commit()
        calls: list[bool] = []
        real = search_queries._has_rare_word

        async def spy(conn: Any, words: list[str]) -> bool:
            calls.append(await real(conn, words))
            return calls[-1]

        monkeypatch.setattr(search_queries, "_has_rare_word", spy)
    seen: list[int] = []
    cursor = None
    for _ in range(10):
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = await search(h, "reclamacao", **params)
        seen += [i["message_id"] for i in messages_of(page)]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 8 and seen == sorted(seen, reverse=True) and len(set(seen)) == 8
    r = await h.get("/api/v1/conversations", params={"q": "reclamacao"})
    assert len(r.json()["items"]) == 8  # the board finds them too
    if h.rt.engine.dialect.name == "postgresql":
        assert calls and set(calls) == {not common}  # the path the test meant to take
