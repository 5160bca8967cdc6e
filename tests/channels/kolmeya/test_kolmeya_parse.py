"""parse.py on every payload shape (fixtures under src/atende/channels/kolmeya/fixtures/)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from atende.channels.base import WebhookRejected
from atende.channels.kolmeya.parse import (
    map_status,
    parse_br_datetime,
    parse_replys_page,
    parse_replys_web_page,
    parse_status_message,
    parse_status_request,
    parse_timestamp,
    parse_webhook_body,
)

NOW = datetime(2025, 11, 16, 20, 0, tzinfo=UTC)
Fx = Callable[[str], Any]
FxBytes = Callable[[str], bytes]


def test_status_delivered(load_fixture_bytes: FxBytes) -> None:
    batch = parse_webhook_body(load_fixture_bytes("status_delivered.json"), now=NOW)
    (status,) = batch.statuses
    assert status.status == "delivered"
    assert status.provider_message_id == "08201a45-c934-4b7e-ba2d-ed898b938058"
    assert status.reference == "1001"
    assert status.error is None and status.error_code is None
    assert status.timestamp == NOW
    assert status.raw["request"] == {"id": "bd067220-a777-46b4-91d7-c834c773538d", "reference": "lote-001"}
    assert not batch.messages and not batch.events


def test_status_failed_reasons_in_portuguese(load_fixture_bytes: FxBytes) -> None:
    batch = parse_webhook_body(load_fixture_bytes("status_failed.json"), now=NOW)
    assert [(s.reference, s.status, s.error_code) for s in batch.statuses] == [
        ("1002", "failed", "4"),
        ("1003", "failed", "5"),
        ("1004", "failed", "6"),
    ]
    errors = [s.error or "" for s in batch.statuses]
    assert "não entregue" in errors[0]
    assert "rejeitado pela operadora" in errors[1]
    assert "expirado" in errors[2]


def test_nested_reply(load_fixture_bytes: FxBytes) -> None:
    batch = parse_webhook_body(load_fixture_bytes("reply.json"), now=NOW)
    (message,) = batch.messages
    assert message.provider_message_id == "reply:98765"
    assert message.address == "+5511999999999"
    assert message.kind == "text" and message.direction == "in"
    assert message.text == "SIM QUERO"
    assert message.timestamp == datetime(2025, 11, 16, 17, 30, tzinfo=UTC)  # 14:30 in São Paulo (UTC-3)
    assert message.reply_to_provider_id == "08201a45-c934-4b7e-ba2d-ed898b938058"
    assert message.reply_to_reference == "1001"
    assert message.attributes["original_text"].startswith("Olá!")
    assert message.raw == json.loads(load_fixture_bytes("reply.json"))


def test_request_rejected(load_fixture_bytes: FxBytes) -> None:
    batch = parse_webhook_body(load_fixture_bytes("request_rejected.json"), now=NOW)
    assert not batch.messages and not batch.statuses
    (event,) = batch.events
    assert event.type == "request_rejected"
    assert event.data["request_id"] == "bd067220-a777-46b4-91d7-c834c773538d"
    assert event.data["reason"] == "Request rejected due to validation failure"
    assert event.data["status_message"] == event.data["reason"]
    assert event.data["error"].startswith("Envio rejeitado pela Kolmeya")


def test_flat_reply_with_stable_derived_id(load_fixture_bytes: FxBytes) -> None:
    body = load_fixture_bytes("flat_reply.json")
    first = parse_webhook_body(body, now=NOW).messages[0]
    again = parse_webhook_body(body, now=datetime(2030, 1, 1, tzinfo=UTC)).messages[0]
    assert first.provider_message_id == again.provider_message_id
    assert first.provider_message_id.startswith("reply:sha256:")
    assert first.address == "+5548991910234"
    assert first.text == "Pode me ligar amanhã?"
    assert first.reply_to_reference == "1001"
    assert first.timestamp == datetime(2025, 11, 16, 12, 15, 42, tzinfo=UTC)
    other = json.loads(body) | {"data": "16/11/2025 09:15:43"}
    assert parse_webhook_body(json.dumps(other).encode()).messages[0].provider_message_id != (first.provider_message_id)


def test_flat_status(load_fixture_bytes: FxBytes) -> None:
    (status,) = parse_webhook_body(load_fixture_bytes("flat_status.json"), now=NOW).statuses
    assert status.status == "delivered"
    assert status.provider_message_id == "08201a45-c934-4b7e-ba2d-ed898b938058"
    assert status.reference == "1001"
    assert status.recipient == "+5548991910234"


def test_flat_status_english(load_fixture_bytes: FxBytes) -> None:
    (status,) = parse_webhook_body(load_fixture_bytes("flat_status_english.json"), now=NOW).statuses
    assert status.status == "delivered"
    assert status.timestamp == datetime(2025, 11, 16, 17, 31, 5, tzinfo=UTC)
    assert status.recipient == "+5548991910234"


def test_replys_page(load_fixture: Fx) -> None:
    page = parse_replys_page(load_fixture("replys_page.json"), now=NOW)
    assert [m.provider_message_id for m in page.batch.messages] == ["reply:501", "reply:502"]
    assert [m.address for m in page.batch.messages] == ["+5511999999999", "+5548991910234"]
    assert page.batch.messages[1].timestamp == datetime(2025, 11, 16, 17, 41, 7, tzinfo=UTC)
    assert page.batch.messages[0].attributes["request_reference"] == "lote-001"
    assert page.has_more and page.current_page == 1 and page.last_page == 2 and page.total == 3


def test_replys_page_empty(load_fixture: Fx) -> None:
    page = parse_replys_page(load_fixture("replys_empty.json"))
    assert not page.batch and not page.has_more


def test_reply_from_webhook_and_polling_share_the_id(load_fixture: Fx, load_fixture_bytes: FxBytes) -> None:
    item = load_fixture("replys_page.json")["data"][0]
    nested = {"reply": {**item, "message": {**item["message"], "phone": str(item["message"]["phone"])}}}
    from_webhook = parse_webhook_body(json.dumps(nested).encode()).messages[0]
    from_poll = parse_replys_page(load_fixture("replys_page.json")).batch.messages[0]
    assert from_webhook.provider_message_id == from_poll.provider_message_id
    assert from_webhook.address == from_poll.address


def test_replys_web_page(load_fixture: Fx) -> None:
    page = parse_replys_web_page(load_fixture("replys_web_page.json"))
    (message,) = page.batch.messages
    assert message.provider_message_id == "replyweb:77001"
    assert message.text == "Quero saber mais" and message.address == "+5548991910234"
    assert message.attributes["job"] == "1380013"
    assert message.attributes["original_text"].startswith("Olá JOAO")
    assert not page.has_more


def test_bad_items_in_a_polled_page_become_events() -> None:
    page = parse_replys_page(
        {
            "current_page": 1,
            "last_page": 1,
            "data": [
                {"id": 1, "reply": "oi", "received_at": "16/11/2025 14:30:00", "message": {"phone": 48991910234}},
                {"id": 2, "reply": "sem telefone", "message": {}},
                "lixo",
            ],
        }
    )
    assert [m.provider_message_id for m in page.batch.messages] == ["reply:1"]
    assert [e.type for e in page.batch.events] == ["unparsed_item", "unparsed_item"]


def test_status_request(load_fixture: Fx) -> None:
    batch = parse_status_request(load_fixture("status_request.json"), now=NOW)
    assert [(s.reference, s.status) for s in batch.statuses] == [("test_ana_carla", "delivered"), ("1002", "sent")]
    assert not batch.events


def test_status_message(load_fixture: Fx) -> None:
    (status,) = parse_status_message(load_fixture("status_message.json"), now=NOW).statuses
    assert (status.status, status.reference) == ("sent", "test_ana_carla")


def test_the_status_request_response_also_parses_as_a_webhook(load_fixture_bytes: FxBytes) -> None:
    batch = parse_webhook_body(load_fixture_bytes("status_request.json"), now=NOW)
    assert [s.status for s in batch.statuses] == ["delivered", "sent"]


def test_a_list_of_webhooks() -> None:
    body = json.dumps(
        [
            {"id": "r", "messages": [{"id": "m1", "status_code": 3}]},
            {"id": "m2", "status": "expirada", "phone": 48991910234},
        ]
    ).encode()
    assert [s.status for s in parse_webhook_body(body).statuses] == ["delivered", "failed"]


def test_unknown_status_is_an_event_not_a_guess() -> None:
    batch = parse_webhook_body(b'{"id": "r", "messages": [{"id": "m1", "status_code": 99, "status": "???"}]}')
    assert not batch.statuses
    assert batch.events[0].type == "unknown_status" and batch.events[0].data["message_id"] == "m1"


def test_form_encoded_reply() -> None:
    body = (
        b"reply[id]=5&reply[reply]=SIM&reply[received_at]=16%2F11%2F2025+14%3A30%3A00"
        b"&reply[message][id]=abc&reply[message][phone]=5511999999999"
    )
    (message,) = parse_webhook_body(body, content_type="application/x-www-form-urlencoded").messages
    assert (message.provider_message_id, message.text, message.address) == ("reply:5", "SIM", "+5511999999999")
    assert message.reply_to_provider_id == "abc"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"", "sem corpo"),
        (b"not json", "não é JSON"),
        (b"[]", "vazio"),
        (b"42", "objeto"),
        (b'{"foo": 1}', "formato desconhecido"),
        (b'{"reply": {"id": 1, "reply": "oi", "message": {"id": "m"}}}', "telefone"),
        (b'{"reply": {"id": 1, "message": {"phone": 5511999999999}}}', "texto"),
        (b'{"id": "r", "messages": {"id": "m"}}', "lista"),
        (b'{"id": "r", "messages": [{"status_code": 3}]}', "id"),
        (b"\xff\xfe\x00garbage", "JSON"),
        (b"[" * 100000 + b"]" * 100000, "JSON"),
    ],
)
def test_bad_webhooks_are_rejected_with_400(body: bytes, words: str) -> None:
    with pytest.raises(WebhookRejected) as info:
        parse_webhook_body(body, content_type="application/json")
    assert info.value.status_code == 400
    assert words in info.value.detail


@pytest.mark.parametrize(
    ("code", "text", "expected"),
    [
        (1, None, "sent"),
        (2, "enviado", "sent"),
        (3, "entregue", "delivered"),
        ("3", None, "delivered"),
        (4, None, "failed"),
        (5, None, "failed"),
        (6, None, "failed"),
        (None, "Entregue", "delivered"),
        (None, "NÃO ENTREGUE", "failed"),
        (None, "delivered", "delivered"),
        (None, "expired", "failed"),
        (None, "Tentando enviar", "sent"),
        (3, "expirada", "delivered"),  # the code wins
    ],
)
def test_map_status(code: Any, text: Any, expected: str) -> None:
    mapped = map_status(code, text)
    assert mapped is not None and mapped[0] == expected


def test_map_status_unknown() -> None:
    assert map_status(0) is None
    assert map_status(None, "talvez") is None
    assert map_status(True) is None


def test_br_dates_are_sao_paulo_local_time() -> None:
    assert parse_br_datetime("16/11/2025 14:30:00") == datetime(2025, 11, 16, 17, 30, tzinfo=UTC)
    # Brazil still had summer time in January 2018: UTC-2.
    assert parse_br_datetime("15/01/2018 14:30:00") == datetime(2018, 1, 15, 16, 30, tzinfo=UTC)
    assert parse_br_datetime("12/11/2025 12:17") == datetime(2025, 11, 12, 15, 17, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_br_datetime("2025-11-16 14:30:00")
    with pytest.raises(ValueError):
        parse_br_datetime("31/02/2025 10:00:00")


def test_parse_timestamp_forms() -> None:
    assert parse_timestamp("2025-11-16T17:31:05Z") == datetime(2025, 11, 16, 17, 31, 5, tzinfo=UTC)
    assert parse_timestamp("2025-11-16 14:31:05") == datetime(2025, 11, 16, 17, 31, 5, tzinfo=UTC)
    assert parse_timestamp(1763314265) == datetime(2025, 11, 16, 17, 31, 5, tzinfo=UTC)
    assert parse_timestamp("ontem") is None and parse_timestamp(None) is None and parse_timestamp(True) is None


def test_form_body_nested_too_deep_is_400() -> None:
    body = ("a" + "[b]" * 5000 + "=1").encode()
    with pytest.raises(WebhookRejected) as info:
        parse_webhook_body(body, content_type="application/x-www-form-urlencoded")
    assert info.value.status_code == 400
