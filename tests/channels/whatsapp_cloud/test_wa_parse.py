"""Every fixture parses to the expected normalized objects."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from wa_helpers import parse_fixture

from atende.channels.base import InboundMessage, WebhookRejected
from atende.channels.whatsapp_cloud.errors import WINDOW_CLOSED_REASON
from atende.channels.whatsapp_cloud.fixtures import fixture_names, load_fixture
from atende.channels.whatsapp_cloud.parse import parse_payload, parse_webhook_body

PNID = "106540352242922"
CUSTOMER = "+5511987654321"
OURS = "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABEYEjQ1RjJDNkI5QzE3NTc4QjQ0RgA="
BSUID = "BR.13491208655302741918"


def only_message(name: str) -> InboundMessage:
    batch = parse_fixture(name)
    assert len(batch.messages) == 1, batch
    assert not batch.statuses and not batch.events
    message = batch.messages[0]
    assert message.account_id == PNID
    assert message.timestamp.tzinfo is not None
    assert message.raw["id"] == message.provider_message_id
    return message


def test_all_fixtures_are_present_and_parse() -> None:
    required = {
        "text",
        "image",
        "audio_voice",
        "video",
        "document",
        "sticker",
        "location",
        "contacts",
        "interactive_button_reply",
        "interactive_list_reply",
        "button",
        "reaction",
        "reaction_removed",
        "reply_context",
        "forwarded",
        "unsupported",
        "bsuid_text",
        "status_sent",
        "status_delivered",
        "status_read",
        "status_failed_131047",
        "batch_mixed",
        "smb_message_echoes",
        "template_status_update",
        "br_12_digit",
    }
    names = set(fixture_names())
    assert required <= names
    for name in names:
        assert parse_fixture(name), f"{name} parsed to nothing"


def test_text() -> None:
    m = only_message("text")
    assert m.kind == "text"
    assert m.text == "Olá! Vocês têm esse tênis em azul, tamanho 38? 😊"
    assert m.address == CUSTOMER
    assert m.direction == "in"
    assert m.contact_name == "Maria Souza"
    assert m.identity == {"wa_id": "5511987654321", "bsuid": BSUID}
    assert m.timestamp == datetime.fromtimestamp(1749416383, UTC)
    assert m.reply_to_provider_id is None
    assert m.media is None
    assert m.attributes["type"] == "text"


def test_image_with_caption_and_url() -> None:
    m = only_message("image")
    assert m.kind == "image"
    assert m.text == "Foto do defeito na sola"
    assert m.media is not None
    assert m.media.provider_media_id == "1003383421387256"
    assert m.media.mime_type == "image/jpeg"
    assert m.media.sha256 == "SfInY0pQEbKwCqaT9HSY0gPYGzNRvJR2XvUf0vVQ7xk="
    assert m.media.caption == "Foto do defeito na sola"
    assert m.media.url is not None and m.media.url.startswith("https://lookaside.fbsbx.com/")
    assert m.media.voice is False


def test_voice_note_is_flagged() -> None:
    m = only_message("audio_voice")
    assert m.kind == "audio"
    assert m.text is None
    assert m.media is not None
    assert m.media.voice is True
    assert m.media.mime_type == "audio/ogg; codecs=opus"
    assert m.media.provider_media_id == "1234567890987654321"


def test_video() -> None:
    m = only_message("video")
    assert m.kind == "video"
    assert m.media is not None and m.media.mime_type == "video/mp4"
    assert m.media.caption == m.text == "Vídeo do produto funcionando"


def test_document_keeps_filename() -> None:
    m = only_message("document")
    assert m.kind == "document"
    assert m.media is not None
    assert m.media.filename == "comprovante-pagamento.pdf"
    assert m.media.mime_type == "application/pdf"
    assert m.media.caption == "Segue o comprovante"


def test_sticker() -> None:
    m = only_message("sticker")
    assert m.kind == "sticker"
    assert m.media is not None and m.media.mime_type == "image/webp"
    assert m.media.filename is None
    assert m.attributes["animated"] is False


def test_location() -> None:
    m = only_message("location")
    assert m.kind == "location"
    assert m.text == "📍 MASP, Av. Paulista, 1578 - Bela Vista, São Paulo - SP"
    assert m.attributes["latitude"] == pytest.approx(-23.5613496)
    assert m.attributes["longitude"] == pytest.approx(-46.6565699)
    assert m.attributes["url"] == "https://maps.google.com/?cid=2000000000000000000"


def test_current_location_without_name() -> None:
    payload = load_fixture("location")
    msg = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    msg["location"] = {"latitude": 12.25, "longitude": 43.9}
    m = parse_payload(payload).messages[0]
    assert m.text == "📍 12.25, 43.9"
    assert "name" not in m.attributes


def test_contacts() -> None:
    m = only_message("contacts")
    assert m.kind == "contacts"
    assert m.text == "👤 João Pereira (+55 11 91234-5678)"
    assert m.attributes["contacts"][0]["phones"][0]["wa_id"] == "5511912345678"


def test_interactive_button_reply_links_our_message() -> None:
    m = only_message("interactive_button_reply")
    assert m.kind == "interactive"
    assert m.text == "Confirmar"
    assert m.attributes["interactive_type"] == "button_reply"
    assert m.attributes["id"] == "confirmar_entrega"
    assert m.reply_to_provider_id == OURS


def test_interactive_list_reply() -> None:
    m = only_message("interactive_list_reply")
    assert m.kind == "interactive"
    assert m.text == "Entrega expressa"
    assert m.attributes["id"] == "entrega_expressa"
    assert m.attributes["description"] == "Chega amanhã"
    assert m.reply_to_provider_id == OURS


def test_template_button_tap() -> None:
    m = only_message("button")
    assert m.kind == "interactive"
    assert m.text == "Parar promoções"
    assert m.attributes["payload"] == "PARAR_PROMOCOES"
    assert m.attributes["interactive_type"] == "button"
    assert m.reply_to_provider_id == OURS


def test_reaction_targets_the_message() -> None:
    m = only_message("reaction")
    assert m.kind == "reaction"
    assert m.text == "👍"
    assert m.attributes["target"] == OURS
    assert m.attributes["emoji"] == "👍"
    assert m.attributes["removed"] is False
    assert m.reply_to_provider_id == OURS


def test_reaction_removed_has_empty_emoji() -> None:
    m = only_message("reaction_removed")
    assert m.kind == "reaction"
    assert m.text is None
    assert m.attributes == {"target": OURS, "emoji": "", "removed": True, "type": "reaction"}


def test_reaction_without_emoji_key_is_removal() -> None:
    payload = load_fixture("reaction")
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["reaction"] = {"message_id": OURS}
    m = parse_payload(payload).messages[0]
    assert m.attributes["removed"] is True
    assert m.attributes["emoji"] == ""


def test_reply_context() -> None:
    m = only_message("reply_context")
    assert m.kind == "text"
    assert m.text == "Pode ser na quinta-feira?"
    assert m.reply_to_provider_id == OURS
    assert "forwarded" not in m.attributes


def test_forwarded() -> None:
    m = only_message("forwarded")
    assert m.attributes["forwarded"] is True
    assert m.attributes["frequently_forwarded"] is True
    assert m.reply_to_provider_id is None


def test_unsupported_is_kept_with_raw_and_errors() -> None:
    m = only_message("unsupported")
    assert m.kind == "unsupported"
    assert m.text is None
    assert m.raw["type"] == "unsupported"
    assert m.attributes["errors"][0]["code"] == "131051"
    assert m.attributes["errors"][0]["reason"] == "tipo de mensagem não suportado pelo WhatsApp"


def test_unknown_type_is_never_dropped() -> None:
    m = only_message("unknown_type")
    assert m.kind == "unsupported"
    assert m.text is None
    assert m.attributes["type"] == "poll_response"
    assert m.raw["poll_response"]["selected_options"] == ["Sim"]


def test_bsuid_user_without_phone() -> None:
    m = only_message("bsuid_text")
    assert m.address == BSUID
    # The parent BSUID (shared across portfolios) is kept on the identity, not just the message.
    assert m.identity == {"bsuid": BSUID, "parent_bsuid": "BR.ENT.11815799212886844830"}
    assert m.contact_name == "Ana Lima"
    assert m.attributes["parent_bsuid"] == "BR.ENT.11815799212886844830"


def test_brazil_12_digit_wa_id_is_kept_exactly() -> None:
    m = only_message("br_12_digit")
    assert m.address == "+551187654321"  # reply to the exact wa_id received; the engine matches variants
    assert m.identity["wa_id"] == "551187654321"
    assert m.contact_name == "Carlos Dias"


@pytest.mark.parametrize(
    ("name", "status"),
    [("status_sent", "sent"), ("status_delivered", "delivered"), ("status_read", "read"), ("status_played", "read")],
)
def test_statuses(name: str, status: str) -> None:
    batch = parse_fixture(name)
    assert not batch.messages and not batch.events
    (update,) = batch.statuses
    assert update.status == status
    assert update.provider_message_id is not None and update.provider_message_id.startswith("wamid.")
    assert update.recipient == CUSTOMER
    assert update.account_id == PNID
    assert update.error is None and update.error_code is None
    assert update.timestamp.tzinfo is not None


def test_status_carries_our_reference() -> None:
    (update,) = parse_fixture("status_sent").statuses
    assert update.reference == "msg-42"
    assert update.provider_message_id == OURS
    assert update.timestamp == datetime.fromtimestamp(1750857384, UTC)


def test_failed_status_131047_maps_to_window_reason() -> None:
    (update,) = parse_fixture("status_failed_131047").statuses
    assert update.status == "failed"
    assert update.error_code == "131047"
    assert update.error == WINDOW_CLOSED_REASON == "janela de 24 h encerrada: envie um modelo"


def test_batch_walks_every_entry_change_message_and_status() -> None:
    batch = parse_fixture("batch_mixed")
    assert [m.provider_message_id for m in batch.messages] == [
        "wamid.BATCH.A1",
        "wamid.BATCH.A2",
        "wamid.BATCH.A3",
        "wamid.BATCH.C1",
    ]
    assert [m.kind for m in batch.messages] == ["text", "image", "text", "unsupported"]
    assert [m.address for m in batch.messages] == [CUSTOMER, "+5521998765432", CUSTOMER, "+5531987651234"]
    assert [m.contact_name for m in batch.messages] == ["Maria Souza", "Pedro Alves", "Maria Souza", "Júlia Rocha"]
    assert [(s.provider_message_id, s.status, s.reference) for s in batch.statuses] == [
        ("wamid.OURS.B1", "delivered", "msg-101"),
        ("wamid.OURS.B2", "read", "msg-102"),
        ("wamid.OURS.B3", "failed", "msg-103"),
    ]
    assert batch.statuses[2].error_code == "131026"
    assert batch.statuses[2].error is not None and "SMS" in batch.statuses[2].error
    assert not batch.events


def test_smb_message_echo_is_outbound_to_the_customer() -> None:
    m = only_message("smb_message_echoes")
    assert m.direction == "out"
    assert m.address == CUSTOMER
    assert m.kind == "text"
    assert m.text == "Oi Maria, aqui é a Loja pelo celular!"
    assert m.identity == {"wa_id": "5511987654321", "bsuid": BSUID}
    assert m.attributes["business_number"] == "551140028922"


def test_template_status_update_event() -> None:
    batch = parse_fixture("template_status_update")
    assert not batch.messages and not batch.statuses
    (event,) = batch.events
    assert event.type == "template_status"
    assert event.data["event"] == "REJECTED"
    assert event.data["name"] == "pedido_enviado"
    assert event.data["language"] == "pt_BR"
    assert event.data["template_id"] == "1234567890123456"
    assert event.data["reason"] == "INVALID_FORMAT"
    assert event.data["category"] == "UTILITY"
    assert event.data["waba_id"] == "102290129340398"


def test_template_category_update_event() -> None:
    (event,) = parse_fixture("template_category_update").events
    assert event.type == "template_status"
    assert event.data["field"] == "template_category_update"
    assert event.data["new_category"] == "MARKETING"
    assert event.data["previous_category"] == "UTILITY"


def test_value_errors_without_messages_become_account_error() -> None:
    (event,) = parse_fixture("account_error").events
    assert event.type == "account_error"
    assert event.data["phone_number_id"] == PNID
    assert event.data["errors"][0]["code"] == "131000"
    assert event.data["errors"][0]["retry"] is True


def test_value_errors_with_a_message_stay_on_the_message() -> None:
    payload = load_fixture("interactive_button_reply")
    value = payload["entry"][0]["changes"][0]["value"]
    del value["messages"][0]["interactive"]
    value["errors"] = [{"code": 131000, "title": "Something went wrong"}]
    batch = parse_payload(payload)
    assert not batch.events
    (m,) = batch.messages
    assert m.kind == "unsupported"  # interactive without its payload
    assert m.attributes["errors"][0]["code"] == "131000"


def test_referral_is_kept() -> None:
    payload = load_fixture("text")
    referral = {"source_url": "https://fb.me/ad", "source_type": "ad", "ctwa_clid": "CLID"}
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["referral"] = referral
    (m,) = parse_payload(payload).messages
    assert m.attributes["referral"] == referral


def test_system_message_becomes_event_line() -> None:
    payload = load_fixture("text")
    msg = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    msg.update(
        type="system",
        system={"body": "Maria trocou de número", "wa_id": "5511900000000", "type": "user_changed_number"},
    )
    del msg["text"]
    (m,) = parse_payload(payload).messages
    assert m.kind == "event"
    assert m.text == "Maria trocou de número"
    assert m.attributes["system_wa_id"] == "5511900000000"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        b'{"object": "page", "entry": []}',
        b'{"object": "instagram", "entry": []}',
        b'{"object": "whatsapp_business_account"}',
        b'{"object": "whatsapp_business_account", "entry": {}}',
        b"\xff\xfe\x00garbage",
    ],
)
def test_bad_envelopes_are_rejected_with_400(body: bytes) -> None:
    with pytest.raises(WebhookRejected) as caught:
        parse_webhook_body(body)
    assert caught.value.status_code == 400


def test_malformed_items_are_reported_not_dropped_nor_raised() -> None:
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            "junk",
            {
                "id": "1",
                "changes": [
                    {
                        "field": "messages",
                        "value": {"messages": [{"from": "5511999990000"}, 7], "statuses": [{"id": "wamid.X"}]},
                    },
                    {"field": "messages", "value": None},
                ],
            },
        ],
    }
    batch = parse_webhook_body(json.dumps(payload).encode())
    assert not batch.messages and not batch.statuses
    assert [e.type for e in batch.events] == ["malformed"] * 5


def test_unknown_status_value_is_an_event() -> None:
    payload = load_fixture("status_sent")
    payload["entry"][0]["changes"][0]["value"]["statuses"][0]["status"] = "deleted"
    batch = parse_payload(payload)
    assert not batch.statuses
    assert batch.events[0].type == "status_unknown"
    assert batch.events[0].data["status"] == "deleted"


def test_unknown_field_is_an_event() -> None:
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "9",
                "changes": [
                    {"field": "payment_configuration_update",
                     "value": {"configuration_name": "pix", "status": "Active"}}
                ],
            }
        ],
    }
    (event,) = parse_payload(payload).events
    assert event.type == "unhandled"
    assert event.data["field"] == "payment_configuration_update"


def test_missing_timestamp_falls_back_to_now() -> None:
    payload = load_fixture("text")
    del payload["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"]
    before = datetime.now(UTC)
    (m,) = parse_payload(payload).messages
    assert before <= m.timestamp <= datetime.now(UTC)
