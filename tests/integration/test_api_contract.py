"""The REST surface of contract.md: auth, roles, errors, pagination."""

from __future__ import annotations

import pytest

from tests.support.harness import Harness


async def test_healthz_and_openapi(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    assert (await h.client.get("/healthz")).json()["ok"] is True
    spec = (await h.client.get("/openapi.json")).json()
    for path in ("/api/v1/connectors", "/api/v1/conversations", "/api/v1/messages",
                 "/api/v1/conversations/{conversation_id}/assign", "/api/v1/contacts/{contact_id}/timeline",
                 "/api/v1/events"):
        assert path in spec["paths"], path


@pytest.mark.parametrize("path", ["/api/v1/conversations", "/api/v1/connectors/1", "/api/v1/events", "/api/v1/me"])
async def test_missing_or_bad_token_is_401(sqlite_harness: Harness, path: str) -> None:
    assert (await sqlite_harness.client.get(path)).status_code == 401
    r = await sqlite_harness.client.get(path, headers={"Authorization": "Bearer atd_nope"})
    assert r.status_code == 401 and r.json()["detail"]


async def test_roles_are_enforced(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    body = {"name": "x", "provider": "sandbox", "config": {}}
    assert (await h.post("/api/v1/connectors", body, who="ana")).status_code == 403
    assert (await h.post("/api/v1/connectors", body, who="supervisor")).status_code == 403
    assert (await h.post("/api/v1/connectors", body, who="admin")).status_code == 201
    assert (await h.get("/api/v1/jobs", who="ana")).status_code == 403
    assert (await h.get("/api/v1/jobs", who="supervisor")).status_code == 200
    user = {"email": "novo@example.com", "password": "12345678", "name": "Novo", "role": "admin"}
    assert (await h.post("/api/v1/users", user, who="supervisor")).status_code == 403


async def test_unknown_ids_are_404_and_bad_input_is_4xx(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    for path in ("/api/v1/conversations/999", "/api/v1/connectors/999", "/api/v1/contacts/999",
                 "/api/v1/contacts/999/timeline", "/api/v1/conversations/999/messages"):
        r = await h.get(path)
        assert r.status_code == 404 and isinstance(r.json()["detail"], str), path
    bad = [
        ("/api/v1/connectors", {"name": "k", "provider": "nope", "config": {}}),
        ("/api/v1/connectors", {"name": "k", "provider": "kolmeya", "config": {}}),
        ("/api/v1/connectors", {"name": "k", "provider": "kolmeya", "config": {"api_token": "t", "zzz": 1}}),
        ("/api/v1/connectors", {"provider": "kolmeya"}),
        ("/api/v1/connectors", [1, 2, 3]),
        ("/api/v1/messages", {"connector_id": 1, "to": "123", "text": "x"}),
        ("/api/v1/messages", {"connector_id": "x", "to": "+5511999999999", "text": "x"}),
        ("/api/v1/conversations/1/assign", {"agent_id": "ana"}),
    ]
    for path, body in bad:
        r = await h.post(path, body)
        assert 400 <= r.status_code < 500, (path, body, r.status_code, r.text)
        assert "detail" in r.json()
    r = await h.client.post("/api/v1/connectors", content=b"{not json",
                            headers={**h.auth(), "content-type": "application/json"})
    assert r.status_code == 422
    r = await h.get("/api/v1/conversations", params={"cursor": "!!!"})
    assert r.status_code == 400
    r = await h.get("/api/v1/conversations", params={"status": "weird"})
    assert r.status_code == 422
    r = await h.get("/api/v1/conversations", params={"limit": 0})
    assert r.status_code == 422


async def test_invalid_phone_for_sms_is_422(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    c = await h.kolmeya_connector()
    r = await h.post("/api/v1/messages", {"connector_id": c["id"], "to": "abc-123", "text": "oi"})
    assert r.status_code == 422 and "telefone" in r.json()["detail"]


async def test_conversation_list_is_keyset_paginated_newest_first(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    c = await h.kolmeya_connector()
    for i in range(7):
        r = await h.post("/api/v1/messages", {"connector_id": c["id"], "to": f"+55119880000{i:02d}", "text": f"m{i}"})
        assert r.status_code == 202
    seen: list[int] = []
    cursor = None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await h.get("/api/v1/conversations", params=params)).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 7 and len(set(seen)) == 7
    assert seen == sorted(seen, reverse=True)  # created in order, so newest activity = highest id
    first = (await h.get("/api/v1/conversations", params={"channel": "whatsapp"})).json()
    assert first == {"items": [], "next_cursor": None}


async def test_metrics_count_webhooks_and_need_a_supervisor(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    c = await h.kolmeya_connector()
    body = {"reply": {"id": "r9", "reply": "oi", "received_at": "16/11/2025 14:30:00",
                      "message": {"id": "m9", "reference": None, "phone": "5511999999999", "content": "x"}}}
    assert (await h.client.post("/webhooks/" + c["webhook_url"].rsplit("/", 1)[1], json=body)).status_code == 200
    assert (await h.get("/metrics", who="ana")).status_code == 403
    text = (await h.get("/metrics", who="supervisor")).text
    assert 'atende_webhooks_total{outcome="ok",provider="kolmeya"}' in text
    assert 'atende_jobs{status="pending"}' in text
