"""The Graph client core (error shape, URLs, Bearer) and the WhatsApp error table."""

from __future__ import annotations

import httpx
import pytest

from atende.channels.base import ProviderError
from atende.channels.meta.graph import GraphClient, GraphError, graph_error_from_response
from atende.channels.whatsapp_cloud.errors import ERRORS, TRANSIENT_CODES, WINDOW_CLOSED_REASON, classify

# ----------------------------------------------------------------------------------- errors


REQUIRED_CODES = [
    190,
    0,
    10,
    4,
    80007,
    130429,
    131056,
    131047,
    131026,
    131048,
    131049,
    131050,
    131030,
    131008,
    131009,
    100,
    131051,
    131052,
    131053,
    131000,
    131016,
    131031,
    368,
    130497,
    132000,
    132001,
    132012,
    132015,
    132016,
    130472,
]


def test_table_covers_every_required_code() -> None:
    missing = [code for code in REQUIRED_CODES if code not in ERRORS]
    assert missing == []
    for code in REQUIRED_CODES:
        info = classify(code)
        assert info.reason and info.reason[0].islower()
        assert info.error_code == str(code)


def test_window_reason_is_exact() -> None:
    info = classify(131047, "more than 24 hours", 400, False)
    assert info.reason == WINDOW_CLOSED_REASON == "janela de 24 h encerrada: envie um modelo"
    assert (info.retry, info.kind) == (False, "window")
    assert info.details == "more than 24 hours"


def test_retry_flags() -> None:
    assert {130429, 131056, 131000, 131016, 4, 80007} <= TRANSIENT_CODES
    for code in (131047, 131026, 131048, 131049, 131050, 190, 368, 132000, 132001, 132015, 131053):
        assert classify(code).retry is False, code


def test_table_wins_over_http_status_and_is_transient() -> None:
    assert classify(131047, http_status=500, is_transient=True).retry is False
    assert classify(131000, http_status=400).retry is True


@pytest.mark.parametrize(
    ("code", "http_status", "is_transient", "retry"),
    [
        (999_999, 400, None, False),
        (999_999, 400, True, True),
        (999_999, 503, None, True),
        (999_999, 429, None, True),
        (None, 500, None, True),
        (None, 404, None, False),
    ],
)
def test_unknown_codes(code: int | None, http_status: int, is_transient: bool | None, retry: bool) -> None:
    info = classify(code, None, http_status, is_transient)
    assert info.retry is retry
    assert info.kind == ("service" if retry else "unknown")


def test_permission_range_and_string_codes() -> None:
    assert classify(200).kind == "permission"
    assert classify(299).retry is False
    assert classify("131047").reason == WINDOW_CLOSED_REASON
    assert classify("abc").code is None
    assert classify(True).code is None  # a JSON boolean is not a code


# ------------------------------------------------------------------------------------ graph


def test_parse_error_with_dict_error_data() -> None:
    body = {
        "error": {
            "message": "(#131056) pair rate limit hit",
            "type": "OAuthException",
            "code": 131056,
            "error_data": {"messaging_product": "whatsapp", "details": "too many"},
            "error_subcode": 2494055,
            "fbtrace_id": "A4O5a8RAgePwbcGSu",
        }
    }
    error = graph_error_from_response(400, body)
    assert error.graph_code == 131056 and error.code == "131056"
    assert error.details == "too many"
    assert error.error_subcode == 2494055
    assert error.fbtrace_id == "A4O5a8RAgePwbcGSu"
    assert error.message == "(#131056) pair rate limit hit"
    assert error.http_status == 400
    assert isinstance(error, ProviderError)


def test_parse_error_with_string_error_data_and_is_transient() -> None:
    body = b'{"error": {"message": "x", "code": "2", "error_data": "plain details", "is_transient": true}}'
    error = graph_error_from_response(500, body, {"retry-after": "7"})
    assert error.graph_code == 2
    assert error.details == "plain details"
    assert error.is_transient is True
    assert error.transient is True
    assert error.retry_after == 7.0


@pytest.mark.parametrize("body", [b"", b"<html>oops</html>", b"[1,2]", b'{"error": "text"}', None])
def test_parse_odd_error_bodies(body: bytes | None) -> None:
    error = graph_error_from_response(502, body)
    assert error.graph_code is None
    assert error.transient is True
    assert error.http_status == 502


def test_generic_transient_graph_codes() -> None:
    assert graph_error_from_response(400, {"error": {"code": 4}}).transient is True
    assert graph_error_from_response(400, {"error": {"code": 100}}).transient is False


async def test_client_builds_urls_and_sends_bearer() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        graph = GraphClient(http, access_token="tok", base_url="https://graph.example/", api_version="v30.0")
        assert await graph.get_json("123", {"fields": "a,b"}) == {"ok": True}
        await graph.get_json("https://graph.example/v30.0/9/message_templates?after=XYZ&limit=2")
        await graph.post_json("123/messages", {"a": 1})
        await graph.post_multipart("123/media", {"type": "image/png"}, {"file": ("a.png", b"PNG", "image/png")})
        await graph.delete("456")
    assert str(seen[0].url) == "https://graph.example/v30.0/123?fields=a%2Cb"
    assert seen[1].url.params["after"] == "XYZ"  # paging.next keeps its query string
    assert seen[2].content == b'{"a":1}'
    assert b'name="file"; filename="a.png"' in seen[3].content
    assert seen[4].method == "DELETE"
    assert all(r.headers["authorization"] == "Bearer tok" for r in seen)
    assert "tok" not in repr(graph)


async def test_client_non_object_json_is_an_error() -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200, json=[1]))) as http:
        graph = GraphClient(http, access_token="t")
        with pytest.raises(GraphError) as caught:
            await graph.get_json("x")
    assert caught.value.http_status == 200
    assert caught.value.transient is False


async def test_client_timeout_is_transient() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(slow)) as http:
        graph = GraphClient(http, access_token="t")
        with pytest.raises(ProviderError) as caught:
            await graph.post_json("x", {})
        assert caught.value.code == "timeout" and caught.value.transient
        with pytest.raises(ProviderError) as download:
            await graph.get_bytes("https://lookaside.example/x")
        assert download.value.code == "timeout" and download.value.transient


async def test_get_bytes_honours_content_length_cap() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"a" * 100, headers={"content-type": "image/png"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        graph = GraphClient(http, access_token="t")
        assert await graph.get_bytes("https://x/y", max_bytes=100) == (b"a" * 100, "image/png")
        with pytest.raises(ProviderError) as caught:
            await graph.get_bytes("https://x/y", max_bytes=99)
    assert caught.value.code == "too_large"
    assert caught.value.transient is False
