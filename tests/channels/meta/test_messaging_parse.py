"""Messenger and Instagram webhook fixtures parse to what the engine needs (issue 13 §2)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atende.channels.base import InboundMessage, WebhookBatch, WebhookRejected
from atende.channels.instagram import fixtures as ig_fixtures
from atende.channels.messenger import fixtures as ms_fixtures
from atende.channels.meta.messaging import parse_messaging_body, parse_messaging_payload

PAGE, PSID = "105264925201234", "6784912345678901"
IG, IGSID = "17841400123456789", "1234567890123456"
OUR_MID = "m_OurSendAbc123XyZ-from-the-send-api"
T0 = datetime.fromtimestamp(1764547200, UTC)


def messenger(name: str) -> WebhookBatch:
    return parse_messaging_body(ms_fixtures.fixture_bytes(name), "page")


def instagram(name: str) -> WebhookBatch:
    return parse_messaging_body(ig_fixtures.fixture_bytes(name), "instagram")


def one(batch: WebhookBatch) -> InboundMessage:
    assert len(batch.messages) == 1 and not batch.statuses and not batch.events, batch
    return batch.messages[0]


def test_every_fixture_parses_to_something() -> None:
    for name in ms_fixtures.fixture_names():
        assert messenger(name), name
    for name in ig_fixtures.fixture_names():
        assert instagram(name), name
    assert len(ms_fixtures.fixture_names()) >= 20 and len(ig_fixtures.fixture_names()) >= 15


def test_messenger_text() -> None:
    m = one(messenger("text"))
    assert (m.kind, m.text, m.address, m.direction) == ("text", "Oi! Vocês entregam em Florianópolis?", PSID, "in")
    assert m.account_id == PAGE and m.timestamp == T0  # milliseconds
    assert m.provider_message_id.startswith("m_")


@pytest.mark.parametrize(("name", "kind"), [("image", "image"), ("audio", "audio"), ("video", "video"),
                                            ("file", "document"), ("sticker", "sticker")])
def test_messenger_media_is_fetched_by_url(name: str, kind: str) -> None:
    m = one(messenger(name))
    assert m.kind == kind and m.media is not None and m.media.url is not None
    assert m.media.url.startswith("https://scontent.xx.fbcdn.net/")


def test_several_attachments_become_several_messages() -> None:
    batch = messenger("several_images")
    first, second = batch.messages
    assert first.provider_message_id.endswith("many") and second.provider_message_id == first.provider_message_id + "#1"
    assert first.media and second.media and first.media.url != second.media.url


def test_reply_quick_reply_and_ad_referral() -> None:
    assert one(messenger("reply")).reply_to_provider_id == OUR_MID
    quick = one(messenger("quick_reply"))
    assert quick.kind == "interactive" and quick.attributes["payload"] == "BOLETO_2A_VIA"
    ad = one(messenger("ad_referral_message"))
    assert ad.attributes["referral"]["ad_id"] == "23851234567890123"


def test_echo_typed_in_the_inbox_is_outbound() -> None:
    m = one(messenger("echo_from_inbox"))
    assert m.direction == "out" and m.address == PSID and m.text == "Oi, aqui é a Carla da loja (pelo app)"
    assert m.attributes["app_id"] == "263902037430900"


def test_echo_of_our_own_send_is_a_sent_report_not_a_message() -> None:
    batch = messenger("echo_of_ours")
    assert not batch.messages
    (s,) = batch.statuses
    assert (s.status, s.provider_message_id, s.reference, s.recipient) == (
        "sent", OUR_MID, "rAbCdEfGhIjKlMnOpQrS", PSID)


def test_delivery_and_read_watermarks() -> None:
    by_mid, watermark = messenger("delivery").statuses
    assert (by_mid.status, by_mid.provider_message_id, by_mid.up_to) == ("delivered", OUR_MID, None)
    assert watermark.status == "delivered" and watermark.recipient == PSID
    assert watermark.up_to == datetime.fromtimestamp(1764547200 + 119, UTC)
    (read,) = messenger("read").statuses
    assert read.status == "read" and read.up_to == datetime.fromtimestamp(1764547200 + 179, UTC)


def test_reactions_postback_referral_and_edit() -> None:
    react = one(messenger("reaction"))
    assert react.kind == "reaction" and react.text == "❤️" and react.reply_to_provider_id == OUR_MID
    unreact = one(messenger("unreact"))
    assert unreact.text is None and unreact.attributes["removed"] is True
    assert unreact.provider_message_id != react.provider_message_id
    postback = one(messenger("postback"))
    assert (postback.kind, postback.text, postback.attributes["payload"]) == (
        "interactive", "Falar com atendente", "ATENDENTE")
    referral = one(messenger("referral"))
    assert referral.kind == "event" and "campanha-natal" in (referral.text or "")
    edit = one(messenger("message_edit"))
    assert (edit.revision, edit.revises, edit.text) == ("edit", "m_1fTq8oLumEyIp3Q2MR-aY7IfLZDamVrALniheU",
                                                        "Oi! Vocês entregam em São José?")


def test_standby_events_are_kept() -> None:
    m = one(messenger("standby"))
    assert m.text == "Alguém aí?" and m.attributes["standby"] is True


def test_location_and_shared_link() -> None:
    loc = one(messenger("location"))
    assert loc.kind == "location" and loc.attributes["latitude"] == -27.5954
    link = one(messenger("fallback_link"))
    assert link.kind == "share" and link.text == "https://exemplo.com.br/produto/123"


def test_instagram_text_media_and_account() -> None:
    m = one(instagram("text"))
    assert (m.address, m.account_id, m.kind) == (IGSID, IG, "text")
    for name, kind in (("image", "image"), ("video", "video"), ("audio", "audio")):
        media = one(instagram(name))
        assert media.kind == kind and media.media is not None
        assert media.media.url is not None and media.media.url.startswith("https://lookaside.fbsbx.com/")


def test_instagram_story_mention_and_reply() -> None:
    mention = one(instagram("story_mention"))
    assert mention.kind == "story_mention" and mention.media is not None and mention.media.url
    reply = one(instagram("story_reply"))
    assert reply.kind == "text" and reply.text == "Amei essa cor!"
    assert reply.attributes["story_reply"]["id"] == "17890123456789012"


def test_instagram_shares_and_reels() -> None:
    share = one(instagram("share"))
    assert share.kind == "share" and share.attributes["share"]["url"] == "https://www.instagram.com/p/C1a2b3c4d5e/"
    reel = one(instagram("ig_reel"))
    assert reel.kind == "share" and reel.text == "Provador virtual"
    assert reel.attributes["share"]["id"] == "18012345678901234"


def test_instagram_deleted_unsupported_echo_seen() -> None:
    deleted = one(instagram("deleted"))
    assert deleted.revision == "delete" and deleted.revises == deleted.provider_message_id.removesuffix("#deleted")
    assert one(instagram("unsupported")).kind == "unsupported"
    echo = one(instagram("echo"))
    assert echo.direction == "out" and echo.address == IGSID
    (seen,) = instagram("messaging_seen").statuses
    assert seen.status == "read" and seen.provider_message_id and seen.up_to is not None


def test_instagram_referral_quick_reply_postback_reply() -> None:
    assert one(instagram("ad_referral")).attributes["referral"]["source"] == "ADS"
    assert one(instagram("quick_reply")).attributes["payload"] == "TROCA"
    assert one(instagram("postback")).text == "Ver catálogo"
    assert one(instagram("reply")).reply_to_provider_id is not None


@pytest.mark.parametrize("body", [b"", b"[]", b"not json", b'{"object": "whatsapp_business_account", "entry": []}',
                                  b'{"object": "page"}', b'{"object": "page", "entry": {}}'])
def test_bad_envelopes_are_refused(body: bytes) -> None:
    with pytest.raises(WebhookRejected) as caught:
        parse_messaging_body(body, "page")
    assert caught.value.status_code == 400


def test_instagram_payload_on_a_messenger_connector_is_refused() -> None:
    with pytest.raises(WebhookRejected):
        parse_messaging_body(ig_fixtures.fixture_bytes("text"), "page")


def test_malformed_events_are_reported_not_raised() -> None:
    payload = {"object": "page", "entry": [
        "junk", {"id": PAGE, "messaging": [7, {"sender": {}, "message": {"mid": "x"}}, {"sender": {"id": PSID}},
                                           {"sender": {"id": PSID}, "message": {"text": "no mid"}}]},
        {"id": PAGE, "changes": [{"field": "feed"}]}]}
    batch = parse_messaging_payload(payload, "page")
    assert not batch.messages and not batch.statuses
    assert sorted(e.type for e in batch.events) == ["malformed"] * 4 + ["unhandled"] * 2


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                 max_size=4), max_leaves=20)


@settings(max_examples=150, deadline=None)
@given(event=st.dictionaries(st.sampled_from(["sender", "recipient", "timestamp", "message", "read", "delivery",
                                              "reaction", "postback", "referral", "message_edit"]), _json,
                             max_size=6))
def test_any_event_json_never_raises_more_than_a_400(event: dict[str, object]) -> None:
    body = json.dumps({"object": "instagram", "entry": [{"id": IG, "messaging": [event]}]}).encode()
    try:
        parse_messaging_body(body, "instagram")
    except WebhookRejected as exc:
        assert exc.status_code == 400
