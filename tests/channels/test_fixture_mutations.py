"""Property tests: every real fixture of every provider parser, mutated (a node replaced by another
JSON value, a key dropped, an object where a string was, deep nesting), is either parsed into a
well-formed batch or refused with a 4xx WebhookRejected — never an exception."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atende.channels.base import WebhookBatch, WebhookRejected
from atende.channels.kolmeya import parse as kolmeya
from atende.channels.whatsapp_cloud import parse as whatsapp

ROOT = Path(kolmeya.__file__).resolve().parents[1]


def _fixtures(provider: str) -> list[tuple[str, Any]]:
    return [(p.name, json.loads(p.read_text())) for p in sorted((ROOT / provider / "fixtures").glob("*.json"))]


KOLMEYA = _fixtures("kolmeya")
WHATSAPP = _fixtures("whatsapp_cloud")

scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
           | st.sampled_from(["", "²", "١٢٣", "9" * 30, "-1", "1e999", "2099-01-01T00:00:00Z", "31/12/9999 23:59:59",
                              "\x00", "<script>", "%_", "+5511999999999"]))
values = st.recursive(scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c,
                                                                                      max_size=3), max_leaves=8)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.extend(_paths(v, (*prefix, i)))
    return out


def _replace(node: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(node, dict):
        copy = dict(node)
        if new is _DROP and not rest:
            copy.pop(head, None)
        else:
            copy[head] = _replace(node[head], rest, new)
        return copy
    copy_list = list(node)
    if new is _DROP and not rest:
        del copy_list[head]
    else:
        copy_list[head] = _replace(node[head], rest, new)
    return copy_list


_DROP = object()


def _nest(value: Any, depth: int) -> Any:
    for _ in range(depth):
        value = {"x": [value]}
    return value


@st.composite
def mutated(draw: st.DrawFn, fixtures: list[tuple[str, Any]]) -> tuple[str, Any]:
    name, doc = draw(st.sampled_from(fixtures))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(doc)))
        kind = draw(st.sampled_from(["value", "drop", "object", "nest"]))
        if kind == "drop" and path:
            doc = _replace(doc, path, _DROP)
        elif kind == "object":
            doc = _replace(doc, path, {"unexpected": draw(values)})
        elif kind == "nest":
            doc = _replace(doc, path, _nest(draw(values), draw(st.integers(5, 60))))
        else:
            doc = _replace(doc, path, draw(values))
    return name, doc


def _check(batch: WebhookBatch) -> None:
    assert isinstance(batch, WebhookBatch)
    for m in batch.messages:
        assert isinstance(m.provider_message_id, str) and m.provider_message_id
        assert isinstance(m.address, str) and (m.text is None or isinstance(m.text, str))
        assert isinstance(m.timestamp, datetime) and m.timestamp.tzinfo is not None
        assert m.reply_to_reference is None or isinstance(m.reply_to_reference, str)
        assert m.reply_to_provider_id is None or isinstance(m.reply_to_provider_id, str)
        json.dumps(dict(m.raw), default=str)
    for s in batch.statuses:
        assert isinstance(s.timestamp, datetime) and s.timestamp.tzinfo is not None
        assert s.provider_message_id is None or isinstance(s.provider_message_id, str)
        assert s.reference is None or isinstance(s.reference, str)


SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))


def _kolmeya_body(doc: Any) -> bytes:
    return json.dumps(doc).encode()


@SETTINGS
@given(mutated(KOLMEYA))
def test_kolmeya_parser_survives_mutated_fixtures(case: tuple[str, Any]) -> None:
    _name, doc = case
    try:
        batch = kolmeya.parse_webhook_body(_kolmeya_body(doc), content_type="application/json")
    except WebhookRejected as exc:
        assert 400 <= exc.status_code < 500
        return
    _check(batch)


@SETTINGS
@given(mutated(KOLMEYA))
def test_kolmeya_polling_parsers_survive_mutated_fixtures(case: tuple[str, Any]) -> None:
    _name, doc = case
    for parser in (kolmeya.parse_replys_page, kolmeya.parse_replys_web_page, kolmeya.parse_status_request,
                   kolmeya.parse_status_message):
        try:
            result = parser(doc)
        except (ValueError, WebhookRejected):  # documented refusals of a malformed API answer
            continue
        if isinstance(result, WebhookBatch):
            _check(result)


@SETTINGS
@given(mutated(WHATSAPP))
def test_whatsapp_parser_survives_mutated_fixtures(case: tuple[str, Any]) -> None:
    _name, doc = case
    try:
        batch = whatsapp.parse_webhook_body(json.dumps(doc).encode())
    except WebhookRejected as exc:
        assert 400 <= exc.status_code < 500
        return
    _check(batch)


@pytest.mark.parametrize("depth", [200, 5000, 100_000])
def test_deeply_nested_json_is_refused_not_crashed(depth: int) -> None:
    raw = b"[" * depth + b"]" * depth
    for parse in (lambda b: kolmeya.parse_webhook_body(b, content_type="application/json"),
                  whatsapp.parse_webhook_body):
        try:
            batch = parse(raw)
        except WebhookRejected as exc:
            assert exc.status_code == 400
        else:
            assert not batch
