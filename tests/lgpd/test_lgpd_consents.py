"""The consent ledger: every opt-in and opt-out per channel with source, time and actor."""

from __future__ import annotations

from sqlalchemy import func, select

from atende.db.tables import consents
from tests.support.harness import Harness
from tests.web.pagekit import sms_conversation


async def test_ledger_records_keyword_api_agent_and_provider_blacklist(harness: Harness) -> None:
    h = harness
    one = await sms_conversation(h, reply="SAIR")
    await h.drain()
    contact_id = one["conversation"]["contact"]["id"]
    r = await h.client.patch(f"/api/v1/contacts/{contact_id}", json={"sms_opted_out": False}, headers=h.auth())
    assert r.status_code == 200
    r = await h.client.patch(f"/api/v1/contacts/{contact_id}", json={"sms_opted_out": False}, headers=h.auth())
    assert r.status_code == 200  # no change: nothing written
    body = (await h.get(f"/api/v1/contacts/{contact_id}/consents", who="ana")).json()
    assert body["current"]["sms"] == {"opted_out": False}
    got = [(e["channel"], e["opted_out"], e["source"], e["actor_id"]) for e in body["items"]]
    assert got == [("sms", True, "keyword", None), ("sms", False, "api", h.user_ids["admin"])]
    assert body["items"][0]["detail"]["conversation_id"] == one["conversation"]["id"]
    assert all(e["at"].endswith("Z") for e in body["items"])

    # Kolmeya refuses the number as blacklisted: that is an opt-out too, and the ledger says so.
    await h.drain()  # the opt-in took the number off Kolmeya's list first
    h.kolmeya.state.blacklist.add(int(one["conversation"]["contact"]["address"].lstrip("+")[2:]))
    r = await h.post("/api/v1/messages", {"connector_id": one["connector"]["id"],
                                          "to": one["conversation"]["contact"]["address"], "text": "Oi"})
    assert r.status_code == 202
    await h.drain()
    body = (await h.get(f"/api/v1/contacts/{contact_id}/consents")).json()
    assert body["items"][-1]["source"] == "provider_blacklist" and body["current"]["sms"]["opted_out"] is True
    assert (await h.get("/api/v1/contacts/999999/consents")).status_code == 404


async def test_a_repeated_keyword_writes_one_entry(harness: Harness) -> None:
    h = harness
    one = await sms_conversation(h, reply="SAIR")
    kid = h.kolmeya.state.messages_to(one["conversation"]["contact"]["address"].lstrip("+"))[-1].id
    await h.kolmeya.send_reply(kid, "PARE")
    await h.drain()
    async with h.rt.read() as conn:
        n = await conn.scalar(select(func.count()).select_from(consents))
    assert n == 1


async def test_a_merge_keeps_the_ledger_and_the_refusal(harness: Harness) -> None:
    """Two contacts found to be one person (issue 13's merge): the refusal of the merged one holds on
    the one kept, with both histories in one ledger; an erased titular is never merged."""
    h = harness
    kolmeya = await h.kolmeya_connector()
    one = await sms_conversation(h, reply="SAIR", connector=kolmeya)
    two = await sms_conversation(h, to="+5511912340000", reply=None, connector=kolmeya)
    await h.drain()
    refused, kept = one["conversation"]["contact"]["id"], two["conversation"]["contact"]["id"]
    r = await h.post(f"/api/v1/contacts/{kept}/merge", {"contact_id": refused}, who="supervisor")
    assert r.status_code == 200, r.text
    assert r.json()["sms_opted_out"] is True
    body = (await h.get(f"/api/v1/contacts/{kept}/consents")).json()
    got = [(e["source"], e["opted_out"], e["actor_id"], e["detail"].get("merged_id")) for e in body["items"]]
    assert got == [("keyword", True, None, None), ("agent", True, h.user_ids["supervisor"], refused)]
    async with h.rt.read() as conn:
        assert await conn.scalar(select(func.count()).select_from(consents).where(
            consents.c.contact_id == refused)) == 0

    third = await sms_conversation(h, to="+5511955550000", reply=None, connector=kolmeya)
    erased = third["conversation"]["contact"]["id"]
    assert (await h.post(f"/api/v1/contacts/{erased}/erase", {"reason": "pedido do titular"})).status_code == 200
    r = await h.post(f"/api/v1/contacts/{kept}/merge", {"contact_id": erased}, who="supervisor")
    assert r.status_code == 422 and "removido" in r.json()["detail"]
