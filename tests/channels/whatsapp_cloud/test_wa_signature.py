"""X-Hub-Signature-256 over the raw bytes, the hub.challenge handshake, and the provider's gate."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wa_helpers import APP_SECRET, VERIFY_TOKEN, make_config, signed_request

from atende.channels.base import WebhookRejected, WebhookRequest
from atende.channels.meta.signature import sign, valid_signature, verify_handshake
from atende.channels.whatsapp_cloud.fixtures import fixture_bytes, fixture_names
from atende.channels.whatsapp_cloud.provider import WhatsAppCloudProvider
from atende.testing.fake_graph import create_fake_graph, encode

# One provider for the property tests (building the fake's app per example would be slow).
GATE = WhatsAppCloudProvider(make_config(create_fake_graph()), httpx.AsyncClient())

# --------------------------------------------------------------------------------- signature


def test_sign_matches_meta_algorithm() -> None:
    raw = b'{"object":"whatsapp_business_account"}'
    expected = hmac.new(b"s3cret", raw, hashlib.sha256).hexdigest()
    assert sign(raw, "s3cret") == f"sha256={expected}"


def test_valid_unsigned_wrong_tampered() -> None:
    raw = fixture_bytes("text")
    header = sign(raw, APP_SECRET)
    assert valid_signature(raw, header, APP_SECRET)
    assert not valid_signature(raw, None, APP_SECRET)
    assert not valid_signature(raw, "", APP_SECRET)
    assert not valid_signature(raw, header.removeprefix("sha256="), APP_SECRET)  # prefix required
    assert not valid_signature(raw, "sha1=" + header[7:], APP_SECRET)
    assert not valid_signature(raw, sign(raw, "other-secret"), APP_SECRET)
    assert not valid_signature(raw.replace(b"azul", b"rosa"), header, APP_SECRET)
    assert not valid_signature(raw + b" ", header, APP_SECRET)
    assert not valid_signature(raw, "sha256=ção", APP_SECRET)  # non-ASCII header: False, not TypeError
    assert not valid_signature(raw, header, "")


def test_escaped_unicode_bytes_vs_reserialised() -> None:
    """Meta signs the escaped-unicode bytes; re-serialising the parsed JSON changes them."""
    payload = {"object": "whatsapp_business_account", "text": "äöå São Paulo 😊 https://x.y/z"}
    raw = encode(payload)
    assert b"\\u00e4\\u00f6\\u00e5" in raw and b"\\/" in raw
    header = sign(raw, APP_SECRET)
    assert valid_signature(raw, header, APP_SECRET)
    reserialised = json.dumps(json.loads(raw), ensure_ascii=False).encode()
    assert json.loads(reserialised) == json.loads(raw)
    assert not valid_signature(reserialised, header, APP_SECRET)
    assert not valid_signature(json.dumps(json.loads(raw)).encode(), header, APP_SECRET)


def test_pretty_printed_fixture_bytes_are_what_is_signed() -> None:
    raw = fixture_bytes("text")
    compact = json.dumps(json.loads(raw), separators=(",", ":"), ensure_ascii=True).encode()
    assert valid_signature(raw, sign(raw, APP_SECRET), APP_SECRET)
    assert not valid_signature(compact, sign(raw, APP_SECRET), APP_SECRET)


@settings(deadline=None)  # shared CI machines: no per-example deadline
@given(raw=st.binary(max_size=2048), secret=st.text(min_size=1, max_size=64))
def test_property_sign_always_verifies(raw: bytes, secret: str) -> None:
    assert valid_signature(raw, sign(raw, secret), secret)


@settings(deadline=None)  # shared CI machines: no per-example deadline
@given(raw=st.binary(min_size=1, max_size=512), secret=st.text(min_size=1, max_size=32), data=st.data())
def test_property_any_single_byte_change_fails(raw: bytes, secret: str, data: st.DataObject) -> None:
    index = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    delta = data.draw(st.integers(min_value=1, max_value=255))
    tampered = bytearray(raw)
    tampered[index] = (tampered[index] + delta) % 256
    assert not valid_signature(bytes(tampered), sign(raw, secret), secret)


@settings(deadline=None)  # shared CI machines: no per-example deadline
@given(raw=st.binary(max_size=256), header=st.one_of(st.none(), st.text(max_size=100)))
def test_property_random_headers_never_raise_and_rarely_pass(raw: bytes, header: str | None) -> None:
    assert valid_signature(raw, header, APP_SECRET) is (header == sign(raw, APP_SECRET))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=25,
)
envelope_like = st.fixed_dictionaries(
    {"object": st.sampled_from(["whatsapp_business_account", "page", 1]), "entry": json_values}
) | st.fixed_dictionaries(
    {
        "object": st.just("whatsapp_business_account"),
        "entry": st.lists(
            st.fixed_dictionaries(
                {
                    "id": json_values,
                    "changes": st.lists(
                        st.fixed_dictionaries(
                            {
                                "field": json_values,
                                "value": st.dictionaries(
                                    st.sampled_from(
                                        [
                                            "messages",
                                            "statuses",
                                            "contacts",
                                            "metadata",
                                            "errors",
                                            "message_echoes",
                                            "event",
                                        ]
                                    ),
                                    json_values,
                                    max_size=5,
                                ),
                            }
                        ),
                        max_size=3,
                    ),
                }
            ),
            max_size=3,
        ),
    }
)


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=150, deadline=None)
@given(body=st.one_of(json_values, envelope_like))
def test_property_arbitrary_json_only_ever_raises_webhook_rejected(body: object) -> None:
    raw = json.dumps(body).encode()
    try:
        GATE.parse_webhook(signed_request(raw))
    except WebhookRejected as exc:
        assert exc.status_code == 400


@settings(deadline=None)  # shared CI machines: no per-example deadline
@given(raw=st.binary(max_size=512))
def test_property_arbitrary_bytes_only_ever_raise_webhook_rejected(raw: bytes) -> None:
    try:
        GATE.parse_webhook(signed_request(raw))
    except WebhookRejected as exc:
        assert exc.status_code == 400


# --------------------------------------------------------------------------------- handshake


def test_handshake_ok_returns_raw_challenge() -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
    assert verify_handshake(query, VERIFY_TOKEN) == "1158201444"


@pytest.mark.parametrize(
    "query",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
        {"hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN + "x", "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.verify_token": "çãé", "hub.challenge": "1"},
        {},
    ],
)
def test_handshake_forbidden(query: dict[str, str]) -> None:
    with pytest.raises(WebhookRejected) as caught:
        verify_handshake(query, VERIFY_TOKEN)
    assert caught.value.status_code == 403


def test_handshake_without_challenge_is_bad_request() -> None:
    with pytest.raises(WebhookRejected) as caught:
        verify_handshake({"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN}, VERIFY_TOKEN)
    assert caught.value.status_code == 400


def test_provider_handshake(provider: WhatsAppCloudProvider) -> None:
    ok = WebhookRequest(
        "GET", b"", {}, {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "abc"}
    )
    assert provider.handshake(ok) == "abc"
    bad = WebhookRequest("GET", b"", {}, {"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "abc"})
    with pytest.raises(WebhookRejected) as caught:
        provider.handshake(bad)
    assert caught.value.status_code == 403


# ------------------------------------------------------------------------------ provider gate


def test_provider_rejects_unsigned_with_401(provider: WhatsAppCloudProvider) -> None:
    with pytest.raises(WebhookRejected) as caught:
        provider.parse_webhook(signed_request(fixture_bytes("text"), header=None))
    assert caught.value.status_code == 401


def test_provider_rejects_wrong_signature_with_403(provider: WhatsAppCloudProvider) -> None:
    raw = fixture_bytes("text")
    with pytest.raises(WebhookRejected) as caught:
        provider.parse_webhook(signed_request(raw, secret="not-the-secret"))
    assert caught.value.status_code == 403


def test_provider_rejects_tampered_body_with_403(provider: WhatsAppCloudProvider) -> None:
    raw = fixture_bytes("text")
    header = sign(raw, APP_SECRET)
    with pytest.raises(WebhookRejected) as caught:
        provider.parse_webhook(signed_request(raw.replace(b"38", b"39"), header=header))
    assert caught.value.status_code == 403


def test_provider_checks_signature_before_parsing(provider: WhatsAppCloudProvider) -> None:
    with pytest.raises(WebhookRejected) as caught:
        provider.parse_webhook(signed_request(b"not json", header="sha256=00"))
    assert caught.value.status_code == 403  # not 400: the body was never parsed


@pytest.mark.parametrize("name", fixture_names())
def test_provider_accepts_every_signed_fixture(provider: WhatsAppCloudProvider, name: str) -> None:
    batch = provider.parse_webhook(signed_request(fixture_bytes(name)))
    assert batch


def test_header_name_case_is_tolerated(provider: WhatsAppCloudProvider) -> None:
    raw = fixture_bytes("text")
    request = WebhookRequest("POST", raw, {"X-Hub-Signature-256": sign(raw, APP_SECRET)}, {})
    assert provider.parse_webhook(request).messages[0].text is not None


def _paths(node: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    found: list[tuple[object, ...]] = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(_paths(value, (*prefix, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_paths(value, (*prefix, index)))
    return found


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=300, deadline=None)
@given(name=st.sampled_from(fixture_names()), data=st.data())
def test_property_mutated_fixtures_only_ever_raise_webhook_rejected(name: str, data: st.DataObject) -> None:
    """Real shapes with one value anywhere replaced by arbitrary JSON (reaches the deep walkers)."""
    payload = json.loads(fixture_bytes(name))
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        path = data.draw(st.sampled_from(_paths(payload)))
        replacement = data.draw(json_values)
        if not path:
            payload = replacement
            break
        parent = payload
        for step in path[:-1]:
            parent = parent[step]
        parent[path[-1]] = replacement
    raw = json.dumps(payload).encode()
    try:
        batch = GATE.parse_webhook(signed_request(raw))
    except WebhookRejected as exc:
        assert exc.status_code == 400
    else:
        for message in batch.messages:
            assert message.provider_message_id and message.address
