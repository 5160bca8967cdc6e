"""Search reads: message history (newest first, keyset pages), contacts by name or number, and the
board's `q` filter, on SQLite FTS5 or PostgreSQL tsvector/pg_trgm (objects of migration 0009).

Visibility: every read takes an optional where-clause on `conversations` (see `visibility`), so a
user finds only conversations they may open.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, column, false, func, literal, literal_column, or_, select, table, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement, Select

from atende.auth import policy
from atende.auth.policy import Viewer
from atende.db.paging import BadCursor, decode_cursor, encode_cursor, iso
from atende.db.tables import contact_identities, contacts, conversations, messages
from atende.search import terms

MAX_LIMIT = 100
WINDOW = 20_000  # PostgreSQL: newest messages tested one by one before asking the GIN index
RARE_ROWS = 20_000  # PostgreSQL: a word matching fewer messages than this goes to the GIN index first
STATS_TTL_S = 600.0
MCE_FULL = 1000  # most_common_elems kept at the default statistics target (100 x 10)
BOARD_MESSAGE_HITS = 1000  # the board matches conversations of the newest N matching messages
BOARD_CONTACT_HITS = 2000  # PostgreSQL: contacts matched by name or number, at most
SNIPPET_TOKENS = 16
HEADLINE = (f"StartSel={terms.START}, StopSel={terms.STOP}, MaxWords=24, MinWords=8, ShortWord=2, "
            'MaxFragments=2, FragmentDelimiter=" … "')

_PT: ColumnElement[Any] = literal_column("'atende_pt'::regconfig")
_fts_messages = table("search_messages", column("rowid"))
_fts_contacts = table("search_contacts", column("rowid"))
_fts_numbers = table("search_numbers", column("rowid"))


@dataclass(frozen=True, slots=True)
class Query:
    words: list[str]
    numbers: list[str]

    @classmethod
    def parse(cls, q: str) -> Query:
        return cls(terms.words(q), terms.number_variants(q))

    @property
    def empty(self) -> bool:
        return not self.words and not self.numbers


def visibility(viewer: Viewer) -> ColumnElement[bool] | None:
    """What `viewer` may find: the authorization layer's list scope (`auth.policy`), a where-clause on
    `conversations`; None for everything."""
    return policy.visible_conversations(viewer)


# ---- building blocks (dialect-specific) ------------------------------------------------------------

def _message_match(dialect: str, words: list[str]) -> ColumnElement[bool]:
    if dialect == "postgresql":
        return text("messages.search_vector @@ to_tsquery('atende_pt'::regconfig, :search_words)").bindparams(
            search_words=terms.tsquery(words))  # type: ignore[return-value]
    return text("search_messages MATCH :search_words").bindparams(
        search_words=terms.fts5_query(words))  # type: ignore[return-value]


def contact_ids_by_name(dialect: str, words: list[str]) -> Select[Any]:
    if dialect == "postgresql":
        return select(contacts.c.id).where(text(
            "to_tsvector('atende_pt'::regconfig, coalesce(contacts.name, '')) "
            "@@ to_tsquery('atende_pt'::regconfig, :search_names)").bindparams(search_names=terms.tsquery(words)))
    return select(_fts_contacts.c.rowid).where(text("search_contacts MATCH :search_names").bindparams(
        search_names=terms.fts5_query(words)))


def contact_ids_by_number(dialect: str, numbers: list[str]) -> Select[Any]:
    if dialect == "postgresql":
        return select(contact_identities.c.contact_id).where(
            contact_identities.c.kind == "phone",
            or_(*(contact_identities.c.value.like(f"%{n}%") for n in numbers)))
    return (select(contact_identities.c.contact_id)
            .select_from(_fts_numbers.join(contact_identities, contact_identities.c.id == _fts_numbers.c.rowid))
            .where(text("search_numbers MATCH :search_numbers").bindparams(
                search_numbers=terms.trigram_query(numbers))))


def _recent_message_conversations(words: list[str]) -> Select[Any]:
    """SQLite: conversations of the newest matching messages (FTS5 walks its index newest first)."""
    ids = (select(_fts_messages.c.rowid).where(_message_match("sqlite", words))
           .order_by(_fts_messages.c.rowid.desc()).limit(BOARD_MESSAGE_HITS))
    return select(messages.c.conversation_id).where(messages.c.id.in_(ids.scalar_subquery()))


async def board_filter(conn: AsyncConnection, q: str) -> ColumnElement[bool]:
    """The board's and the conversation list's `q`: the contact's name or number, or any message of
    the conversation (the newest BOARD_MESSAGE_HITS hits), through the search indexes."""
    dialect = conn.dialect.name
    parsed = Query.parse(q)
    conds: list[ColumnElement[bool]] = []
    if dialect == "postgresql":
        # Ids first, as literal lists: an OR of IN (subquery) makes PostgreSQL walk every conversation by
        # activity testing each one; with lists it unions index lookups and sorts the few found.
        contact_ids: list[int] = []
        if parsed.words:
            contact_ids += [r[0] for r in await conn.execute(
                contact_ids_by_name(dialect, parsed.words).limit(BOARD_CONTACT_HITS))]
        if parsed.numbers:
            contact_ids += [r[0] for r in await conn.execute(
                contact_ids_by_number(dialect, parsed.numbers).limit(BOARD_CONTACT_HITS))]
        if contact_ids:
            conds.append(conversations.c.contact_id.in_(contact_ids))
    if parsed.words:
        if dialect != "postgresql":
            conds.append(conversations.c.contact_id.in_(contact_ids_by_name(dialect, parsed.words)))
        if dialect == "postgresql":
            hits = await _pg_message_ids(conn, parsed.words, limit=BOARD_MESSAGE_HITS, before=None, conds=[],
                                         joined=False)
            if hits:
                rows = await conn.execute(select(messages.c.conversation_id).distinct().where(messages.c.id.in_(hits)))
                conds.append(conversations.c.id.in_([r[0] for r in rows]))
        else:
            conds.append(conversations.c.id.in_(_recent_message_conversations(parsed.words)))
    if parsed.numbers and dialect != "postgresql":
        conds.append(conversations.c.contact_id.in_(contact_ids_by_number(dialect, parsed.numbers)))
    return or_(*conds) if conds else false()


async def _pg_message_ids(conn: AsyncConnection, words: list[str], *, limit: int, before: int | None,
                          conds: list[ColumnElement[bool]], joined: bool = True) -> list[int]:
    """Ids of the newest matching messages, newest first, on PostgreSQL.

    A GIN index finds rare words fast but returns every match unordered, so "the newest 20 of a
    million" would fetch and sort them all; walking the primary key backwards finds common words
    fast but reads the whole table for a rare one; and the planner cannot tell which case it is in
    (it multiplies the words' frequencies, and words that go together break that). So: first walk
    the newest WINDOW messages (a cheap test each, on the stored tsvector), and only if that does not
    fill the page, ask the GIN index for the older ones."""
    top = before - 1 if before is not None else await conn.scalar(select(func.max(messages.c.id)))
    if not top or top < 1:
        return []
    match = _message_match("postgresql", words)
    # A word rare enough (by the column's statistics) goes straight to the GIN index.
    bottom = int(top) if await _has_rare_word(conn, words) else max(0, int(top) - WINDOW)
    source: Any = messages
    if joined:
        source = messages.join(conversations, conversations.c.id == messages.c.conversation_id)
    if bottom == top:
        return await _pg_older_ids(conn, match, bottom, limit, conds, joined)
    await conn.execute(text("SET LOCAL enable_bitmapscan = off"))
    recent = [r[0] for r in await conn.execute(
        select(messages.c.id).select_from(source)
        .where(match, messages.c.id > bottom, messages.c.id <= top, *conds)
        .order_by(messages.c.id.desc()).limit(limit))]
    await conn.execute(text("SET LOCAL enable_bitmapscan = on"))
    if len(recent) >= limit or bottom == 0:
        return recent
    return recent + await _pg_older_ids(conn, match, bottom, limit - len(recent), conds, joined)


async def _pg_older_ids(conn: AsyncConnection, match: ColumnElement[bool], upto: int, limit: int,
                        conds: list[ColumnElement[bool]], joined: bool) -> list[int]:
    """Every match with id ≤ upto from the GIN index (materialized: no walk of the primary key), newest first."""
    hits = select(messages.c.id).where(match, messages.c.id <= upto).cte("hits").prefix_with("MATERIALIZED")
    source: Any = hits.join(messages, messages.c.id == hits.c.id)
    if joined:
        source = source.join(conversations, conversations.c.id == messages.c.conversation_id)
    return [r[0] for r in await conn.execute(
        select(messages.c.id).select_from(source).where(*conds).order_by(messages.c.id.desc()).limit(limit))]


_stats_cache: dict[str, tuple[float, float, list[tuple[str, float]]]] = {}


async def _has_rare_word(conn: AsyncConnection, words: list[str]) -> bool:
    """Does one of the words (as a prefix of the stems PostgreSQL indexes) match fewer than RARE_ROWS
    messages, by the statistics ANALYZE keeps on messages.search_vector (most common elements)?
    Without statistics (a young table) every word counts as rare: the GIN index is cheap then."""
    key = str(conn.engine.url)
    now = time.monotonic()
    cached = _stats_cache.get(key)
    if cached is None or now - cached[0] > STATS_TTL_S:
        row = (await conn.execute(text(
            "SELECT c.reltuples, s.most_common_elems::text::text[], s.most_common_elem_freqs "
            "FROM pg_class c LEFT JOIN pg_stats s ON s.tablename = 'messages' AND s.attname = 'search_vector' "
            "AND s.schemaname = current_schema() WHERE c.oid = 'messages'::regclass"))).first()
        rows_total = float(row[0] or 0) if row else 0.0
        elems = list(zip(row[1] or [], row[2] or [], strict=False)) if row else []
        cached = _stats_cache[key] = (now, rows_total, [(str(e), float(f)) for e, f in elems])
    _, rows_total, elems = cached
    if rows_total < RARE_ROWS or not elems:
        return True
    lexemes = await conn.scalar(select(func.tsvector_to_array(func.to_tsvector(_PT, " ".join(words)))))
    # An unlisted stem is rarer than the least common listed one when the list is full; when it is not
    # full, ANALYZE listed every stem above its (tiny) cut-off, so an unlisted one is rare.
    floor = min(f for _, f in elems) if len(elems) >= MCE_FULL else 0.0
    for lexeme in lexemes or []:
        share = sum(f for e, f in elems if e.startswith(lexeme)) or floor
        if share * rows_total < RARE_ROWS:
            return True
    return False


# ---- GET /api/v1/search ------------------------------------------------------------------------------

async def search(
    conn: AsyncConnection, q: str, *, channel: str | None = None, connector_id: int | None = None,
    since: datetime | None = None, until: datetime | None = None, limit: int = 20, cursor: str | None = None,
    visible: ColumnElement[bool] | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Contacts whose name or number matches (first page only), then messages, newest first."""
    parsed = Query.parse(q)
    limit = max(1, min(limit, MAX_LIMIT))
    before: int | None = None
    if cursor:
        (raw,) = decode_cursor(cursor, 1)
        if not raw.isdigit():
            raise BadCursor("cursor inválido")
        before = int(raw)
    dialect = conn.dialect.name
    items: list[dict[str, Any]] = []
    if before is None:
        items += await _contact_hits(conn, dialect, parsed, channel=channel, connector_id=connector_id,
                                     since=since, until=until, limit=limit, visible=visible)
    if not parsed.words:
        return items, None
    hits = await _message_hits(conn, dialect, parsed.words, channel=channel, connector_id=connector_id,
                               since=since, until=until, limit=limit + 1, before=before, visible=visible)
    more = len(hits) > limit
    hits = hits[:limit]
    items += hits
    return items, (encode_cursor(hits[-1]["message_id"]) if more and hits else None)


def _conversation_filters(channel: str | None, connector_id: int | None,
                          visible: ColumnElement[bool] | None) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if channel:
        conds.append(conversations.c.channel == channel)
    if connector_id:
        conds.append(conversations.c.connector_id == connector_id)
    if visible is not None:
        conds.append(visible)
    return conds


async def _message_hits(conn: AsyncConnection, dialect: str, words: list[str], *, channel: str | None,
                        connector_id: int | None, since: datetime | None, until: datetime | None, limit: int,
                        before: int | None, visible: ColumnElement[bool] | None) -> list[dict[str, Any]]:
    conds = [_message_match(dialect, words), *_conversation_filters(channel, connector_id, visible)]
    if since is not None:
        conds.append(messages.c.created_at >= since)
    if until is not None:
        conds.append(messages.c.created_at < until)
    cols = (messages.c.id, messages.c.conversation_id, messages.c.created_at, messages.c.text,
            conversations.c.channel, contacts.c.id.label("contact_id"), contacts.c.name.label("contact_name"),
            conversations.c.address)
    if dialect == "postgresql":
        ids = await _pg_message_ids(conn, words, limit=limit, before=before, conds=conds[1:])
        if not ids:
            return []
        # The headline only for the page's rows (it re-parses the text).
        headline = func.ts_headline(_PT, messages.c.text, func.to_tsquery(_PT, terms.tsquery(words)), literal(HEADLINE))
        stmt = (select(*cols, headline.label("snippet"))
                .select_from(messages.join(conversations, conversations.c.id == messages.c.conversation_id)
                             .join(contacts, contacts.c.id == messages.c.contact_id))
                .where(messages.c.id.in_(ids)).order_by(messages.c.id.desc()))
    else:
        if before is not None:
            conds.append(_fts_messages.c.rowid < before)
        snippet: ColumnElement[Any] = literal_column(
            f"snippet(search_messages, 0, char(2), char(3), '…', {SNIPPET_TOKENS})").label("snippet")
        stmt = (select(*cols, snippet)
                .select_from(_fts_messages.join(messages, messages.c.id == _fts_messages.c.rowid)
                             .join(conversations, conversations.c.id == messages.c.conversation_id)
                             .join(contacts, contacts.c.id == messages.c.contact_id))
                .where(*conds).order_by(_fts_messages.c.rowid.desc()).limit(limit))
    rows = await conn.execute(stmt)
    return [{
        "match": "message", "message_id": r.id, "conversation_id": r.conversation_id,
        "contact": {"id": r.contact_id, "name": r.contact_name or r.address}, "channel": r.channel,
        "created_at": iso(r.created_at), "snippet": terms.marked(r.snippet or ""),
    } for r in rows]


async def _contact_hits(conn: AsyncConnection, dialect: str, parsed: Query, *, channel: str | None,
                        connector_id: int | None, since: datetime | None, until: datetime | None, limit: int,
                        visible: ColumnElement[bool] | None) -> list[dict[str, Any]]:
    matches: list[ColumnElement[bool]] = []
    if parsed.words:
        matches.append(conversations.c.contact_id.in_(contact_ids_by_name(dialect, parsed.words).limit(limit)))
    if parsed.numbers:
        matches.append(conversations.c.contact_id.in_(contact_ids_by_number(dialect, parsed.numbers).limit(limit)))
    if not matches:
        return []
    conds = [or_(*matches), *_conversation_filters(channel, connector_id, visible)]
    if since is not None:
        conds.append(conversations.c.last_activity_at >= since)
    if until is not None:
        conds.append(conversations.c.last_activity_at < until)
    rows = await conn.execute(
        select(conversations.c.id, conversations.c.contact_id, conversations.c.channel, conversations.c.address,
               conversations.c.last_activity_at, contacts.c.name)
        .select_from(conversations.join(contacts, contacts.c.id == conversations.c.contact_id))
        .where(and_(*conds))
        .order_by(conversations.c.last_activity_at.desc(), conversations.c.id.desc()).limit(limit * 4))
    seen: set[int] = set()
    items: list[dict[str, Any]] = []
    for r in rows:  # each contact once, with their most recent conversation
        if r.contact_id in seen:
            continue
        seen.add(r.contact_id)
        name = r.name or r.address
        name_hit = terms.mark_words(name, parsed.words)
        # Not the name: the number matched (in any of its spellings), so mark the address whole.
        snippet = name_hit if "<mark>" in name_hit else terms.marked(terms.START + r.address + terms.STOP)
        items.append({"match": "contact", "message_id": None, "conversation_id": r.id,
                      "contact": {"id": r.contact_id, "name": name}, "channel": r.channel,
                      "created_at": iso(r.last_activity_at), "snippet": snippet})
        if len(items) == limit:
            break
    return items
