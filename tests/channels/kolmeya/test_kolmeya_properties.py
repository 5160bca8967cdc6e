"""Hypothesis properties: the webhook parser only ever answers a batch or WebhookRejected(400)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from atende.channels.base import WebhookBatch, WebhookRejected
from atende.channels.kolmeya.parse import (
    STATUS_CODES,
    map_status,
    parse_br_datetime,
    parse_replys_page,
    parse_status_request,
    parse_webhook_body,
)
from atende.testing.fake_kolmeya import br_datetime

SETTINGS = settings(max_examples=300, deadline=None)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=25,
)
KEYS = [
    "id",
    "reference",
    "messages",
    "status",
    "status_code",
    "status_message",
    "reply",
    "received_at",
    "message",
    "phone",
    "content",
    "data",
    "delivered_at",
    "request",
    "job",
    "parameters",
    "page",
]
near_values = (
    scalars
    | st.sampled_from(
        [
            "16/11/2025 14:30:00",
            "5511999999999",
            "48991910234",
            "entregue",
            "rejected",
            "3",
            "31/12/9999 23:59:59",
            "01/01/0001 00:00:00",
            "2025-11-16T17:31:05Z",
        ]
    )
    | st.integers(min_value=0, max_value=7)
)
shaped = st.recursive(
    near_values,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(KEYS), children, max_size=6),
    max_leaves=30,
)


def check(body: bytes, content_type: str | None = "application/json") -> None:
    try:
        batch = parse_webhook_body(body, content_type=content_type)
    except WebhookRejected as exc:
        assert exc.status_code == 400
        assert exc.detail
    else:
        assert isinstance(batch, WebhookBatch)
        for message in batch.messages:
            assert message.provider_message_id.startswith(("reply:", "replyweb:"))
            assert message.timestamp.tzinfo is not None
        for status in batch.statuses:
            assert status.provider_message_id or status.reference


@SETTINGS
@given(json_values)
def test_arbitrary_json_gives_a_batch_or_400(value: Any) -> None:
    check(json.dumps(value).encode())


@SETTINGS
@given(shaped)
def test_kolmeya_shaped_json_gives_a_batch_or_400(value: Any) -> None:
    check(json.dumps(value).encode())


@SETTINGS
@given(st.binary(max_size=200), st.sampled_from([None, "application/json", "application/x-www-form-urlencoded"]))
def test_arbitrary_bytes_give_a_batch_or_400(body: bytes, content_type: str | None) -> None:
    check(body, content_type)


@SETTINGS
@given(shaped)
def test_polled_pages_never_raise(value: Any) -> None:
    page = parse_replys_page({"current_page": 1, "data": value if isinstance(value, list) else [value]})
    assert isinstance(page.batch, WebhookBatch)
    assert isinstance(parse_status_request({"id": "r", "messages": [value]}), WebhookBatch)


@SETTINGS
@given(st.datetimes(min_value=datetime(2019, 3, 1), max_value=datetime(2100, 1, 1)))
def test_br_dates_round_trip_since_summer_time_ended(moment: datetime) -> None:
    instant = moment.replace(microsecond=0, tzinfo=UTC)
    assert parse_br_datetime(br_datetime(instant)) == instant


@SETTINGS
@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1)))
def test_br_dates_are_two_or_three_hours_behind_utc(local: datetime) -> None:
    local = local.replace(microsecond=0)
    parsed = parse_br_datetime(local.strftime("%d/%m/%Y %H:%M:%S"))
    assert parsed.tzinfo == UTC
    assert parsed.replace(tzinfo=None) - local in (timedelta(hours=2), timedelta(hours=3))


@SETTINGS
@given(st.text(max_size=40))
def test_br_date_parser_only_raises_value_error(text: str) -> None:
    try:
        parsed = parse_br_datetime(text)
    except ValueError:
        return
    assert parsed.tzinfo == UTC


@SETTINGS
@given(st.integers(min_value=-1000, max_value=1000), st.one_of(st.none(), st.text(max_size=20)))
def test_status_code_mapping(code: int, text: str | None) -> None:
    mapped = map_status(code, text)
    if code in STATUS_CODES:
        assert mapped is not None
        status, error_code, error = mapped
        assert status == ("sent" if code <= 2 else "delivered" if code == 3 else "failed")
        assert (error_code is not None) == (status == "failed") == bool(error)
        assert map_status(str(code)) == mapped
    elif mapped is not None:
        assert text is not None  # only a known status text can rescue an unknown code


form_pairs = st.lists(
    st.tuples(
        st.lists(st.sampled_from([*KEYS, "", "0", "1"]), min_size=1, max_size=20),
        st.text(max_size=15),
    ),
    max_size=8,
)


@SETTINGS
@given(form_pairs)
def test_form_bodies_give_a_batch_or_400(pairs: list[tuple[list[str], str]]) -> None:
    from urllib.parse import quote

    fields = [
        quote(path[0]) + "".join(f"[{quote(part)}]" for part in path[1:]) + "=" + quote(value) for path, value in pairs
    ]
    check("&".join(fields).encode(), "application/x-www-form-urlencoded")
