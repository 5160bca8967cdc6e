"""Kinds real WhatsApp traffic carries (issue 13 §1): each fixture parses to what the engine needs."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from wa_helpers import parse_fixture

from atende.channels.base import InboundMessage
from atende.channels.whatsapp_cloud.fixtures import load_fixture
from atende.channels.whatsapp_cloud.orders import order_items, order_summary, order_totals
from atende.channels.whatsapp_cloud.parse import GROUP_PREFIX, parse_payload

TEXT_WAMID = "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABIYFjNFQjBDMEI3RjZBMzE0QjM5NkFFAA=="
IMAGE_WAMID = "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABIYFjNFQjAxQkE3QzE0RjU5NjFCQjFEAA=="
ECHO_WAMID = "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABEYEkVDSE9fRlJPTV9QSE9ORQA="
GROUP_ID = "Y2FwaV9ncm91cDoxNzA1NTU1MDEzOToxMjAzNjM0MDQ2OTQyMzM4MjAZD"
BSUID = "BR.13491208655302741918"


def one(name: str) -> InboundMessage:
    batch = parse_fixture(name)
    assert len(batch.messages) == 1 and not batch.statuses and not batch.events, batch
    return batch.messages[0]


def test_edit_of_a_text_revises_the_original() -> None:
    m = one("edit_text")
    assert (m.revision, m.revises) == ("edit", TEXT_WAMID)
    assert m.kind == "text" and m.text == "Na verdade quero o tamanho 39, por favor"
    assert m.reply_to_provider_id is None  # an edit is not a reply to its original
    assert m.direction == "in" and m.address == "+5511987654321"


def test_edit_of_a_caption_keeps_the_media_kind() -> None:
    m = one("edit_caption")
    assert (m.revision, m.revises) == ("edit", IMAGE_WAMID)
    assert m.kind == "image" and m.text == "Comprovante do Pix (corrigido)"
    assert m.attributes["edited_type"] == "image"


def test_echo_edit_is_an_outbound_revision() -> None:
    m = one("echo_edit")
    assert (m.revision, m.revises, m.direction) == ("edit", ECHO_WAMID, "out")
    assert m.text == "Oi Maria, aqui é a Loja (pelo celular)!"


def test_revoke_and_echo_revoke_delete_the_original() -> None:
    m = one("revoke")
    assert (m.revision, m.revises, m.direction) == ("delete", TEXT_WAMID, "in")
    echo = one("echo_revoke")
    assert (echo.revision, echo.revises, echo.direction) == ("delete", ECHO_WAMID, "out")


def test_edit_without_original_is_kept_as_a_message() -> None:
    payload = load_fixture("edit_text")
    del payload["entry"][0]["changes"][0]["value"]["messages"][0]["edit"]["original_message_id"]
    (m,) = parse_payload(payload).messages
    assert m.revision is None and m.text == "Na verdade quero o tamanho 39, por favor"


def test_order_lists_items_and_total() -> None:
    m = one("order")
    assert m.kind == "order"
    order = m.attributes["order"]
    assert order["items"] == [
        {"product_id": "TENIS-AZUL-38", "quantity": 1, "price": "299.9", "currency": "BRL", "subtotal": "299.9"},
        {"product_id": "MEIA-KIT-3", "quantity": 2, "price": "24.95", "currency": "BRL", "subtotal": "49.90"},
    ]
    assert order["totals"] == {"BRL": "349.80"}
    assert order["catalog_id"] == "354160437058781"
    assert m.text is not None
    assert "1× TENIS-AZUL-38" in m.text and "2× MEIA-KIT-3" in m.text
    assert "Total: R$ 349,80" in m.text and "Entregar depois das 18h" in m.text


@given(st.lists(st.tuples(st.integers(0, 50), st.decimals(0, 10_000, places=2), st.sampled_from(["BRL", "USD"])),
                max_size=8))
def test_order_totals_are_exact_sums_per_currency(rows: list[tuple[int, Decimal, str]]) -> None:
    order = {"product_items": [{"product_retailer_id": f"P{i}", "quantity": q, "item_price": str(p), "currency": c}
                               for i, (q, p, c) in enumerate(rows)]}
    expected: dict[str, Decimal] = {}
    for q, p, c in rows:
        expected[c] = expected.get(c, Decimal(0)) + q * p
    assert order_totals(order_items(order)) == expected
    text, _ = order_summary(order)
    assert text.startswith("🛒 Pedido")


def test_order_with_odd_items_never_raises() -> None:
    text, attrs = order_summary({"product_items": [{"quantity": True}, "junk", {"item_price": "NaN"}]})
    assert attrs["totals"] == {}
    assert [i["product_id"] for i in attrs["items"]] == ["?", "?"]
    assert "Total" not in text


def test_group_message_gets_the_group_address_not_the_participants() -> None:
    m = one("group_text")
    assert m.address == GROUP_PREFIX + GROUP_ID
    assert m.identity == {}  # the participant's identity never lands on the group contact
    assert m.contact_name == "Grupo do WhatsApp"
    assert m.attributes["group_id"] == GROUP_ID
    participant = m.attributes["group_participant"]
    assert participant["address"] == "+5511987654321" and participant["name"] == "Maria Souza"
    assert participant["wa_id"] == "5511987654321"


def test_group_status_names_the_group() -> None:
    (s,) = parse_fixture("status_group").statuses
    assert s.status == "delivered" and s.recipient == GROUP_PREFIX + GROUP_ID


def test_user_changed_number_moves_the_address() -> None:
    m = one("system_user_changed_number")
    assert m.kind == "event" and m.address == "+5511987654321"
    assert m.text == "Maria Souza changed from 5511987654321 to 5511976543210"
    assert m.address_change is not None
    assert m.address_change.new_address == "+5511976543210"
    assert m.address_change.identity == {"wa_id": "5511976543210"}


def test_user_changed_user_id_has_no_phone_and_moves_the_bsuid() -> None:
    m = one("system_user_changed_user_id")
    assert m.address == BSUID  # the previous BSUID: how the engine finds the customer
    assert m.address_change is not None
    assert m.address_change.new_address == "BR.98765432109876543210"
    assert m.address_change.identity == {"bsuid": "BR.98765432109876543210"}


def test_identity_change_is_a_system_line_with_its_hash() -> None:
    m = one("system_identity_changed")
    assert m.kind == "event" and m.address_change is None
    assert m.attributes["system_type"] == "customer_identity_changed"
    assert m.attributes["identity"]["hash"] == "DF2lS5v2W6x="


def test_username_and_parent_are_kept_on_the_identity() -> None:
    m = one("username_text")
    assert m.identity == {"wa_id": "5511987654321", "bsuid": BSUID, "parent_bsuid": "BR.ENT.11815799212886844830",
                          "username": "@maria.souza"}
    assert m.attributes["username"] == "@maria.souza"


def test_call_permission_reply_keeps_accept_or_reject() -> None:
    m = one("call_permission_reply")
    assert m.kind == "interactive" and m.attributes["interactive_type"] == "call_permission_reply"
    assert m.attributes["response"] == "accept" and m.attributes["expiration_timestamp"] == 1750000000
    assert m.text == "📞 Permissão para ligar: o cliente aceitou"
    payload = load_fixture("call_permission_reply")
    reply = payload["entry"][0]["changes"][0]["value"]["messages"][0]["interactive"]["call_permission_reply"]
    reply["response"] = "reject"
    (rejected,) = parse_payload(payload).messages
    assert rejected.attributes["response"] == "reject" and rejected.text is not None
    assert rejected.text.endswith("recusou")


def test_error_with_top_level_details_keeps_them() -> None:
    m = one("error_top_level_details")
    (error,) = m.attributes["errors"]
    assert error["details"] == "Message type is currently not supported."
    assert m.attributes["unsupported_type"] == "video_note"


def test_unsupported_subtype_is_kept() -> None:
    m = one("unsupported_subtype")
    assert m.kind == "unsupported" and m.attributes["unsupported_type"] == "poll_creation"


def test_inbound_message_errors_never_promise_a_retry() -> None:
    m = one("message_with_value_error")
    (error,) = m.attributes["errors"]
    assert error["code"] == "131000" and error["retry"] is False
    assert "tentativa" not in error["reason"]
    assert "Unsupported webhook payload" in error["reason"]


def test_unmapped_failure_code_keeps_the_title() -> None:
    (s,) = parse_fixture("status_failed_unmapped").statuses
    assert s.status == "failed" and s.error_code == "131059"
    assert s.error is not None
    assert "Recipient is on a newer experience" in s.error
    assert "the user must update the app" in s.error


def test_template_rejection_reason_is_kept() -> None:
    (event,) = parse_fixture("template_rejected").events
    assert event.type == "template_status" and event.data["event"] == "REJECTED"
    assert event.data["rejection_info"]["recommendation"].startswith("Separate parameters")
    assert "parameters placed next to each other" in event.data["reason_detail"]


def test_legacy_voice_type_keeps_its_media() -> None:
    m = one("voice_legacy")
    assert m.kind == "audio" and m.media is not None
    assert m.media.provider_media_id == "1234567890987654" and m.media.voice is True
    assert m.attributes["type"] == "voice"


def test_account_restriction_is_a_critical_alert() -> None:
    (event,) = parse_fixture("account_update_restriction").events
    assert event.type == "account_alert"
    data = event.data
    assert (data["type"], data["severity"], data["waba_id"]) == ("account_restriction", "critical", "102290129340398")
    assert "iniciar conversas" in data["detail"] and "adicionar números" in data["detail"]
    assert data["at"] == datetime.fromtimestamp(1764547200, UTC).isoformat()


def test_ban_is_a_critical_alert() -> None:
    (event,) = parse_fixture("account_update_ban").events
    assert (event.data["type"], event.data["severity"]) == ("account_ban", "critical")
    assert "December 1, 2025" in event.data["detail"]


def test_flagged_quality_is_a_critical_alert() -> None:
    (event,) = parse_fixture("phone_number_quality_flagged").events
    assert (event.data["type"], event.data["severity"]) == ("quality_flagged", "critical")
    assert event.data["display_phone_number"] == "551140028922"
    assert "TIER_2K" in event.data["detail"]


def test_name_review_and_capability_alerts() -> None:
    (name,) = parse_fixture("phone_number_name_update").events
    assert (name.data["type"], name.data["severity"]) == ("name_rejected", "warning")
    assert "Loja Exemplo Oficial" in name.data["detail"] and "NAME_FORMATTING" in name.data["detail"]
    (review,) = parse_fixture("account_review_update").events
    assert (review.data["type"], review.data["severity"]) == ("account_review_approved", "info")
    (cap,) = parse_fixture("business_capability_update").events
    assert cap.data["type"] == "capability_update" and "25" in cap.data["detail"]
