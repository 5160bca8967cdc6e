"""Errors that reach agents are in their language, and the send agrees with the composer on length."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request

from atende.actions import outbound, preferences
from atende.actions.errors import Invalid
from atende.domain.text_limits import API_MAX_TEXT, max_text
from atende.web.error_language import describe, request_language, translate_detail
from tests.support.harness import Harness
from tests.web.pagekit import PageClient, sms_conversation

Pages = Callable[[str], Awaitable[PageClient]]
LONG = "a" * 5000


async def speak(h: Harness, who: str, language: str) -> None:
    async with h.rt.write() as tx:
        await preferences.set_language(tx, h.user_ids[who], language)


async def test_too_long_text_is_refused_in_the_agents_language(harness: Harness) -> None:
    conv = (await sms_conversation(harness))["conversation"]
    r = await harness.post(f"/api/v1/conversations/{conv['id']}/messages", {"text": LONG}, who="ana")
    assert r.status_code == 422
    (error,) = r.json()["detail"]
    assert error["loc"] == ["body", "text"] and error["type"] == "string_too_long"  # integrators keep these
    assert error["msg"] == "Mensagem: use no máximo 4.096 caracteres (tem 5.000)"
    assert "String should" not in r.text

    await speak(harness, "ana", "en")
    r = await harness.post(f"/api/v1/conversations/{conv['id']}/messages", {"text": LONG}, who="ana")
    assert r.json()["detail"][0]["msg"] == "Message: use at most 4,096 characters (it has 5,000)"
    r = await harness.post("/api/v1/messages", {"connector_id": conv["connector_id"], "to": "12"}, who="ana")
    msgs = {e["loc"][-1]: e["msg"] for e in r.json()["detail"]}
    assert msgs == {"to": "Number: use at least 3 characters"}


async def test_the_composers_send_answers_in_the_agents_language(sqlite_harness: Harness,
                                                                 sqlite_pages: Pages) -> None:
    conv = (await sms_conversation(sqlite_harness))["conversation"]
    ana = await sqlite_pages("ana")
    r = await ana.post(f"/conversations/{conv['id']}/send", {"text": LONG, "mode": "reply"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["msg"] == "Mensagem: use no máximo 4.096 caracteres (tem 5.000)"
    await speak(sqlite_harness, "ana", "en")
    r = await ana.post(f"/conversations/{conv['id']}/send", {"text": LONG, "mode": "reply"})
    assert r.json()["detail"][0]["msg"] == "Message: use at most 4,096 characters (it has 5,000)"
    # The composer's textarea stops at what the channel takes.
    html = (await ana.get(f"/conversations/{conv['id']}")).text
    assert f'maxlength="{max_text("sms")}"' in html


async def test_action_errors_follow_the_language(harness: Harness) -> None:
    conv = (await sms_conversation(harness))["conversation"]
    r = await harness.client.patch(f"/api/v1/contacts/{conv['contact']['id']}", json={"sms_opted_out": True},
                                   headers=harness.auth("ana"))
    assert r.status_code == 200, r.text
    r = await harness.post(f"/api/v1/conversations/{conv['id']}/messages", {"text": "Oi"}, who="ana")
    assert r.status_code == 409 and r.json()["code"] == "opted_out"
    assert r.json()["detail"].startswith("O contato pediu para não receber SMS")
    await speak(harness, "ana", "en")
    r = await harness.post(f"/api/v1/conversations/{conv['id']}/messages", {"text": "Oi"}, who="ana")
    assert r.json() == {"detail": "The contact asked not to receive SMS (opt-out). Re-enable the contact before "
                                  "sending.", "code": "opted_out"}
    r = await harness.get("/api/v1/conversations/999999", who="ana")
    assert r.status_code == 404 and r.json()["detail"] == "conversation not found"


async def test_send_quota_message_is_translated_with_its_number(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    conv = (await sms_conversation(h))["conversation"]
    h.rt.settings.send_quota_per_hour = 1
    await speak(h, "ana", "en")
    r = await h.post(f"/api/v1/conversations/{conv['id']}/messages", {"text": "um"}, who="ana")
    assert r.status_code == 202
    r = await h.post(f"/api/v1/conversations/{conv['id']}/messages", {"text": "dois"}, who="ana")
    assert r.status_code == 429
    assert r.json()["detail"] == "limit of 1 messages per hour reached; try again later or ask an administrator"


async def test_a_channel_shorter_than_the_api_refuses_longer_texts(sqlite_harness: Harness) -> None:
    """Instagram takes 1000 characters: the action refuses 1001 with a clear 422 (no failed send later)."""
    h = sqlite_harness
    conv = (await sms_conversation(h))["conversation"]
    loaded = await h.rt.connector(conv["connector_id"])
    assert loaded is not None

    class Instagramish:
        id = loaded.id
        channel = "instagram"
        config = loaded.config
        capabilities = loaded.provider.capabilities

    with pytest.raises(Invalid) as caught:
        async with h.rt.write() as tx:
            await outbound.queue_message(tx, Instagramish(), conv["id"], text="x" * 1001, author_id=None)
    assert caught.value.code == "text_too_long" and caught.value.status_code == 422
    assert caught.value.detail == "texto longo demais para este canal: 1001 caracteres (máximo 1000)"
    assert translate_detail(caught.value.template, "en", caught.value.params) == \
        "text too long for this channel: 1,001 characters (at most 1,000)"
    assert max_text("messenger") == 2000 and max_text("whatsapp") == API_MAX_TEXT == 4096


def _request(headers: dict[str, str], user: Any = None) -> Request:
    scope = {"type": "http", "method": "GET", "path": "/", "query_string": b"",
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()], "state": {}}
    request = Request(scope)
    if user is not None:
        request.state.user = user
    return request


def test_language_comes_from_the_user_then_cookie_then_browser() -> None:
    class U:
        language = "en"

    assert request_language(_request({}, U())) == "en"
    assert request_language(_request({"cookie": "atende_lang=en"})) == "en"
    assert request_language(_request({"accept-language": "en-US,en;q=0.9"})) == "en"
    assert request_language(_request({"accept-language": "pt-BR"})) == "pt_BR"
    assert request_language(_request({})) == "pt_BR"


ERROR_TYPES = ["string_too_long", "string_too_short", "missing", "int_parsing", "decimal_parsing", "bool_parsing",
               "greater_than_equal", "less_than_equal", "literal_error", "extra_forbidden", "json_invalid",
               "value_error", "list_type", "too_long", "datetime_parsing", "some_future_type"]


@given(kind=st.sampled_from(ERROR_TYPES), field=st.sampled_from(["text", "to", "name", "x_unknown"]),
       value=st.one_of(st.none(), st.text(max_size=30), st.integers()),
       ctx=st.fixed_dictionaries({}, optional={
           "max_length": st.integers(0, 10**6), "min_length": st.integers(0, 9), "ge": st.integers(),
           "le": st.integers(), "expected": st.text(max_size=20)}))
def test_every_validation_error_reads_as_a_sentence_in_both_languages(kind: str, field: str, value: Any,
                                                                      ctx: dict[str, Any]) -> None:
    error = {"type": kind, "loc": ("body", field), "msg": "Value error, algo deu errado", "input": value, "ctx": ctx}
    pt, en = describe(error, "pt_BR"), describe(error, "en")
    assert pt and en and "should" not in pt.lower() and "Input" not in pt
    label = {"text": ("Mensagem", "Message"), "to": ("Número", "Number"), "name": ("Nome", "Name"),
             "x_unknown": ("x_unknown", "x_unknown")}[field]
    assert pt.startswith(label[0] + ": ") and en.startswith(label[1] + ": ")
