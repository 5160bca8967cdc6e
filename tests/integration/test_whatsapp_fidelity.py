"""What real WhatsApp traffic carries, through the whole engine (issue 13 §1): edits, deletions,
groups, number changes, account alerts, template reasons, orders and usernames."""

from __future__ import annotations

import copy
import time
from typing import Any

from sqlalchemy import select

from atende.actions.ingest import ConnectorInfo, ingest_batch
from atende.channels.whatsapp_cloud.fixtures import fixture_bytes, load_fixture
from atende.channels.whatsapp_cloud.parse import parse_payload
from atende.db.tables import connectors, conversations, events, messages
from atende.realtime.events import since
from tests.support.harness import Harness
from tests.support.whatsapp import conversation, message_by_wamid, post_webhook, reply, settle, thread

TEXT_WAMID = "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABIYFjNFQjBDMEI3RjZBMzE0QjM5NkFFAA=="
ECHO_WAMID = "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABEYEkVDSE9fRlJPTV9QSE9ORQA="
GROUP_ID = "Y2FwaV9ncm91cDoxNzA1NTU1MDEzOToxMjAzNjM0MDQ2OTQyMzM4MjAZD"


async def _post(h: Harness, c: dict[str, Any], name_or_payload: str | dict[str, Any]) -> dict[str, Any]:
    body = fixture_bytes(name_or_payload) if isinstance(name_or_payload, str) else name_or_payload
    r = await post_webhook(h, c, body)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _fresh(name: str) -> dict[str, Any]:
    """A fixture as if it arrived now (its 24 h window open)."""
    payload = load_fixture(name)
    for entry in payload["entry"]:
        for change in entry["changes"]:
            for item in change["value"].get("messages", []):
                item["timestamp"] = str(int(time.time()))
    return payload


async def _event_types(h: Harness) -> list[str]:
    async with h.rt.read() as conn:
        return [e["type"] for e in await since(conn, 0, 5000)]


async def test_edit_updates_the_message_and_keeps_its_versions(harness: Harness) -> None:
    c = await harness.whatsapp_connector()
    await _post(harness, c, "text")
    assert (await _post(harness, c, "edit_text"))["stored"] == 0  # no new message
    msg = await message_by_wamid(harness, TEXT_WAMID)
    assert msg["text"] == "Na verdade quero o tamanho 39, por favor"
    assert msg["edited_at"] is not None and msg["deleted_at"] is None
    assert msg["attributes"]["original_text"] == "Olá! Vocês têm esse tênis em azul, tamanho 38? 😊"
    assert [e["text"] for e in msg["attributes"]["edits"]] == ["Na verdade quero o tamanho 39, por favor"]
    conv = await conversation(harness, msg["conversation_id"])
    assert conv["last_message_preview"] == "Na verdade quero o tamanho 39, por favor"

    again = await _post(harness, c, "edit_text")  # Meta redelivers
    assert again["stored"] == 0
    assert len((await message_by_wamid(harness, TEXT_WAMID))["attributes"]["edits"]) == 1

    # An older edit delivered late joins the history but does not overwrite the newer text.
    late = load_fixture("edit_text")
    item = late["entry"][0]["changes"][0]["value"]["messages"][0]
    item.update(id="wamid.LATE.EDIT", timestamp="1749416500")
    item["edit"]["message"]["text"]["body"] = "tamanho 38 ou 39?"
    await _post(harness, c, late)
    msg = await message_by_wamid(harness, TEXT_WAMID)
    assert msg["text"] == "Na verdade quero o tamanho 39, por favor"
    assert [e["text"] for e in msg["attributes"]["edits"]] == ["tamanho 38 ou 39?",
                                                               "Na verdade quero o tamanho 39, por favor"]
    assert (await thread(harness, msg["conversation_id"])) == [msg]  # still one message


async def test_deleted_message_is_withheld_from_agents_only(harness: Harness) -> None:
    c = await harness.whatsapp_connector()
    await _post(harness, c, "text")
    assert (await _post(harness, c, "revoke"))["stored"] == 0
    async with harness.rt.read() as conn:
        row = (await conn.execute(select(messages).where(messages.c.provider_message_id == TEXT_WAMID))).one()
    assert row.deleted_at is not None and row.text is not None  # the content stays for the audit

    as_agent = (await harness.get(f"/api/v1/conversations/{row.conversation_id}/messages", who="ana")).json()
    (seen,) = as_agent["items"]
    assert seen["deleted_at"] is not None and seen["text"] is None and seen["content_withheld"] is True
    assert "original_text" not in seen["attributes"]
    as_supervisor = (await harness.get(f"/api/v1/conversations/{row.conversation_id}/messages",
                                       who="supervisor")).json()
    assert as_supervisor["items"][0]["text"] == row.text
    # An agent serving the contact now reads its timeline (auth.policy), deleted content withheld.
    r = await harness.post(f"/api/v1/conversations/{row.conversation_id}/assign",
                           {"agent_id": harness.user_ids["bruno"]})
    assert r.status_code == 200, r.text
    timeline = (await harness.get(f"/api/v1/contacts/{row.contact_id}/timeline", who="bruno")).json()["items"]
    assert timeline[0]["text"] is None

    conv = await conversation(harness, row.conversation_id)
    assert conv["last_message_preview"] == "🚫 Mensagem apagada"
    async with harness.rt.read() as conn:
        updates = [e for e in await since(conn, 0, 5000) if e["type"] == "message.updated"]
    # No content: only the ids, when, and the conversation's scope for the live streams' filter.
    assert set(updates[-1]["payload"]) <= {"id", "conversation_id", "deleted_at", "contact_id", "team_id",
                                           "assignee_id", "conversation_status"}
    assert updates[-1]["payload"]["id"] == row.id and updates[-1]["payload"]["deleted_at"]
    assert (await _post(harness, c, "revoke"))["stored"] == 0  # twice: nothing more


async def test_echo_edit_and_revoke_change_our_phone_app_message(harness: Harness) -> None:
    c = await harness.whatsapp_connector()
    await _post(harness, c, "smb_message_echoes")
    await _post(harness, c, "echo_edit")
    echo = await message_by_wamid(harness, ECHO_WAMID)
    assert echo["direction"] == "out" and echo["text"] == "Oi Maria, aqui é a Loja (pelo celular)!"
    await _post(harness, c, "echo_revoke")
    echo = await message_by_wamid(harness, ECHO_WAMID)
    assert echo["deleted_at"] is not None and echo["attributes"]["deleted_by"] == "business"


async def test_revision_of_an_unknown_or_foreign_message_is_kept_not_applied(harness: Harness) -> None:
    c = await harness.whatsapp_connector()
    # The original never reached us: the edit is kept as a message of its own.
    assert (await _post(harness, c, _fresh("edit_text")))["stored"] == 1
    kept = await message_by_wamid(harness, load_fixture("edit_text")["entry"][0]["changes"][0]["value"]
                                  ["messages"][0]["id"])
    assert kept["text"] == "Na verdade quero o tamanho 39, por favor" and kept["attributes"]["revises"] == TEXT_WAMID
    # A customer cannot delete what we sent.
    sent = await reply(harness, kept["conversation_id"], "Temos sim!")
    await settle(harness)
    ours = (await message_by_wamid(harness, harness.graph.sent[-1].wamid))
    assert ours["id"] == sent["id"]
    forged = load_fixture("revoke")
    forged["entry"][0]["changes"][0]["value"]["messages"][0]["revoke"]["original_message_id"] = ours[
        "provider_message_id"]
    assert (await _post(harness, c, forged))["stored"] == 1
    assert (await message_by_wamid(harness, ours["provider_message_id"]))["deleted_at"] is None


async def test_group_has_its_own_conversation_and_replies_go_to_the_group(harness: Harness) -> None:
    c = await harness.whatsapp_connector()
    await _post(harness, c, "text")  # Maria's one-to-one thread
    await _post(harness, c, _fresh("group_text"))  # Maria writes in a group
    one_to_one = await message_by_wamid(harness, TEXT_WAMID)
    in_group = await message_by_wamid(harness, load_fixture("group_text")["entry"][0]["changes"][0]["value"]
                                      ["messages"][0]["id"])
    assert in_group["conversation_id"] != one_to_one["conversation_id"]
    group_conv = await conversation(harness, in_group["conversation_id"])
    assert group_conv["contact"]["address"] == f"group:{GROUP_ID}"
    assert group_conv["contact"]["id"] != (await conversation(harness, one_to_one["conversation_id"]))["contact"]["id"]
    assert in_group["attributes"]["group_participant"]["name"] == "Maria Souza"
    assert [m["id"] for m in await thread(harness, one_to_one["conversation_id"])] == [one_to_one["id"]]

    await reply(harness, in_group["conversation_id"], "Abre sim, das 9h às 13h")
    await settle(harness)
    sent = harness.graph.sent[-1]
    assert sent.body["recipient_type"] == "group" and sent.body["to"] == GROUP_ID
    assert (await conversation(harness, in_group["conversation_id"]))["contact"]["address"] == f"group:{GROUP_ID}"


async def test_number_change_moves_the_address_and_adds_the_identity(harness: Harness) -> None:
    c = await harness.whatsapp_connector()
    await _post(harness, c, _fresh("text"))
    await _post(harness, c, "system_user_changed_number")
    msg = await message_by_wamid(harness, TEXT_WAMID)
    conv = await conversation(harness, msg["conversation_id"])
    assert conv["contact"]["address"] == "+5511976543210"
    items = await thread(harness, conv["id"])
    assert [m["kind"] for m in items] == ["text", "event"]  # the system line stays in the thread
    contact = (await harness.get(f"/api/v1/contacts/{conv['contact']['id']}")).json()
    phones = {i["value"] for i in contact["identities"] if i["kind"] == "phone"}
    assert phones == {"+5511987654321", "+5511976543210"}

    await reply(harness, conv["id"], "Anotado o número novo!")
    await settle(harness)
    assert harness.graph.sent[-1].to == "5511976543210"


async def test_bsuid_change_moves_a_bsuid_thread(harness: Harness) -> None:
    c = await harness.whatsapp_connector()
    await _post(harness, c, "bsuid_text")  # a username customer: the thread is addressed by BSUID
    bsuid_conv = (await harness.get("/api/v1/conversations")).json()["items"][0]
    old = bsuid_conv["contact"]["address"]
    change = load_fixture("system_user_changed_user_id")
    change["entry"][0]["changes"][0]["value"]["messages"][0]["system"]["previous_user_id"] = old
    await _post(harness, c, change)
    assert (await conversation(harness, bsuid_conv["id"]))["contact"]["address"] == "BR.98765432109876543210"


async def test_bsuid_change_keeps_a_phone_thread_and_adds_the_bsuid(harness: Harness) -> None:
    c = await harness.whatsapp_connector()
    await _post(harness, c, "text")  # Maria: phone thread, BSUID BR.1349…918 on its identity
    maria = await conversation(harness, (await message_by_wamid(harness, TEXT_WAMID))["conversation_id"])
    change = load_fixture("system_user_changed_user_id")  # Maria's BSUID changes
    system = change["entry"][0]["changes"][0]["value"]["messages"][0]
    system.update(id="wamid.MARIA.NEW.BSUID")
    system["system"]["user_id"] = "BR.55555555555555555555"
    await _post(harness, c, change)
    assert (await conversation(harness, maria["id"]))["contact"]["address"] == "+5511987654321"  # phone kept
    contact = (await harness.get(f"/api/v1/contacts/{maria['contact']['id']}")).json()
    assert any(i["kind"] == "bsuid" and i["value"] == "BR.55555555555555555555" for i in contact["identities"])
    assert [m["kind"] for m in await thread(harness, maria["id"])] == ["text", "event"]


async def test_unsigned_sources_never_move_an_address(harness: Harness) -> None:
    c = await harness.whatsapp_connector()
    await _post(harness, c, "text")
    batch = parse_payload(load_fixture("system_user_changed_number"))
    info = ConnectorInfo(id=c["id"], channel="whatsapp", provider="whatsapp_cloud", signed=False)
    async with harness.rt.write() as tx:
        await ingest_batch(tx, info, batch)
    async with harness.rt.read() as conn:
        addresses = [r.address for r in await conn.execute(select(conversations.c.address))]
    assert addresses == ["+5511987654321"]


async def test_account_alerts_show_on_the_connector_and_critical_ones_go_live(harness: Harness) -> None:
    c = await harness.whatsapp_connector()
    await _post(harness, c, "account_review_update")
    await _post(harness, c, "account_update_restriction")
    await _post(harness, c, "phone_number_quality_flagged")
    await settle(harness)
    await _post(harness, c, "phone_number_quality_flagged")  # redelivered
    await settle(harness)
    connector = (await harness.get(f"/api/v1/connectors/{c['id']}", who="ana")).json()
    alerts = connector["alerts"]
    # Newest first, by when Meta says it happened.
    assert [a["type"] for a in alerts] == ["account_review_approved", "quality_flagged", "account_restriction"]
    assert set(alerts[0]) == {"type", "detail", "at", "severity"}
    assert alerts[2]["severity"] == "critical" and "iniciar conversas" in alerts[2]["detail"]
    async with harness.rt.read() as conn:
        live = [e["payload"] for e in await since(conn, 0, 5000) if e["type"] == "connector.alert"]
    # (the worker runs the two jobs concurrently: either may announce first)
    assert sorted((p["connector_id"], p["alert_type"]) for p in live) == [(c["id"], "account_restriction"),
                                                                          (c["id"], "quality_flagged")]
    listed = (await harness.get("/api/v1/connectors")).json()["items"][0]
    assert len(listed["alerts"]) == 3


async def test_alerts_reach_every_connector_of_the_waba(harness: Harness) -> None:
    first = await harness.whatsapp_connector()
    second = await harness.whatsapp_connector(phone_number_id="999000111222333")
    other_waba = await harness.whatsapp_connector(phone_number_id="444555666777888", waba_id="777")
    await _post(harness, first, "account_update_ban")
    await settle(harness)
    async with harness.rt.read() as conn:
        by_id = {r.id: r.alerts for r in await conn.execute(select(connectors.c.id, connectors.c.alerts))}
    assert [a["type"] for a in by_id[first["id"]]] == ["account_ban"]
    assert [a["type"] for a in by_id[second["id"]]] == ["account_ban"]
    assert by_id[other_waba["id"]] == []


async def test_template_rejection_reason_is_shown(harness: Harness) -> None:
    c = await harness.whatsapp_connector()
    harness.graph.add_template("carrinho_abandonado", status="PENDING")
    assert (await harness.post(f"/api/v1/connectors/{c['id']}/templates/sync", who="supervisor")).status_code == 200
    await _post(harness, c, "template_rejected")
    await settle(harness)
    listed = (await harness.get(f"/api/v1/connectors/{c['id']}/templates")).json()["items"]
    (tpl,) = [t for t in listed if t["name"] == "carrinho_abandonado"]
    assert tpl["status"] == "REJECTED"
    assert tpl["status_reason"].startswith("INVALID_FORMAT: Your template has parameters placed next to each other")
    assert "Separate parameters" in tpl["status_reason"]
    harness.graph.templates[-1]["status"] = "REJECTED"
    harness.graph.templates[-1]["rejected_reason"] = "INVALID_FORMAT"
    await harness.post(f"/api/v1/connectors/{c['id']}/templates/sync", who="supervisor")
    listed = (await harness.get(f"/api/v1/connectors/{c['id']}/templates")).json()["items"]
    assert "Separate parameters" in listed[0]["status_reason"]  # a sync keeps the fuller webhook reason


async def test_order_and_username_are_kept(harness: Harness) -> None:
    c = await harness.whatsapp_connector()
    await _post(harness, c, "order")
    await _post(harness, c, "username_text")
    order = await message_by_wamid(harness, load_fixture("order")["entry"][0]["changes"][0]["value"]
                                   ["messages"][0]["id"])
    assert order["kind"] == "order" and order["attributes"]["order"]["totals"] == {"BRL": "349.80"}
    conv = await conversation(harness, order["conversation_id"])
    contact = (await harness.get(f"/api/v1/contacts/{conv['contact']['id']}")).json()
    (phone,) = [i for i in contact["identities"] if i["kind"] == "phone"]
    assert phone["attributes"]["username"] == "@maria.souza"
    assert phone["attributes"]["parent_bsuid"] == "BR.ENT.11815799212886844830"


async def test_events_table_has_no_deleted_content(harness: Harness) -> None:
    c = await harness.whatsapp_connector()
    await _post(harness, c, "text")
    payload = copy.deepcopy(load_fixture("revoke"))
    await _post(harness, c, payload)
    async with harness.rt.read() as conn:
        rows = list(await conn.execute(select(events.c.type, events.c.payload).where(
            events.c.type == "message.updated")))
    assert rows and all("text" not in r.payload and "preview" not in r.payload for r in rows)
    assert "message.updated" in await _event_types(harness)
