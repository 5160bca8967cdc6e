"""Satisfaction survey: asked after close, a 1-5 answer within N hours stored on the attendance with
the next message as comment, never reopening the conversation; shown on the conversation and contact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from atende.actions import contacts as contact_actions
from atende.db.tables import attendances
from tests.support.harness import Harness

PHONE = "+5548991910234"
QUESTION = "De 1 a 5, como você avalia nosso atendimento?"


async def _served(h: Harness, *, csat: bool = True, **settings: Any) -> tuple[dict[str, Any], int]:
    """A customer wrote, Ana answered and closed the conversation."""
    c = await h.kolmeya_connector(poll_interval_s=0)
    if csat:
        r = await h.client.put(f"/api/v1/connectors/{c['id']}/csat", json={"enabled": True, **settings},
                               headers=h.auth("supervisor"))
        assert r.status_code == 200, r.text
    sent = (await h.post("/api/v1/messages", {"connector_id": c["id"], "to": PHONE, "text": "Olá!"})).json()
    await h.drain()
    await _customer(h, "Preciso da segunda via")
    conv_id = int(sent["conversation_id"])
    r = await h.post(f"/api/v1/conversations/{conv_id}/messages", {"text": "Segue o boleto."}, who="ana")
    assert r.status_code == 202
    assert (await h.post(f"/api/v1/conversations/{conv_id}/close", who="ana")).status_code == 200
    await h.drain()
    return c, conv_id


async def _customer(h: Harness, text: str) -> None:
    await h.kolmeya.send_reply(h.kolmeya.state.messages_to(PHONE.lstrip("+"))[-1].id, text,
                               received_at=datetime.now(UTC))
    await h.drain()


async def _conv(h: Harness, conv_id: int) -> dict[str, Any]:
    return dict((await h.get(f"/api/v1/conversations/{conv_id}")).json())


async def test_rating_and_comment_are_stored_and_never_reopen(harness: Harness) -> None:
    h = harness
    _, conv_id = await _served(h)
    assert [m.text for m in h.kolmeya.state.sent][-1] == QUESTION
    await _customer(h, "5")
    assert (await _conv(h, conv_id))["status"] == "done"
    await _customer(h, "Atendimento excelente, obrigado!")
    conv = await _conv(h, conv_id)
    assert conv["status"] == "done" and conv["assignee"]["id"] == h.user_ids["ana"]
    ratings = (await h.get(f"/api/v1/conversations/{conv_id}/csat", who="ana")).json()["items"]
    assert (await h.get(f"/api/v1/conversations/{conv_id}/csat", who="bruno")).status_code == 404  # not his
    assert len(ratings) == 1
    assert ratings[0] | {"asked_at": None, "answered_at": None, "attendance_id": 0} == {
        "attendance_id": 0, "conversation_id": conv_id, "channel": "sms", "rating": 5,
        "comment": "Atendimento excelente, obrigado!", "asked_at": None, "answered_at": None,
        "assignee": {"id": h.user_ids["ana"], "name": "Ana"}}
    contact = (await h.get(f"/api/v1/contacts/{conv['contact']['id']}")).json()
    assert [r["rating"] for r in contact["csat"]] == [5]
    assert (await h.get(f"/api/v1/contacts/{conv['contact']['id']}/csat")).json()["items"][0]["rating"] == 5
    # Anything after the rating and its comment is a new request: it reopens the conversation.
    await _customer(h, "Preciso de outra coisa")
    assert (await _conv(h, conv_id))["status"] == "new"


async def test_a_sentence_instead_of_a_rating_reopens(harness: Harness) -> None:
    h = harness
    _, conv_id = await _served(h)
    await _customer(h, "Ainda não recebi o boleto")
    assert (await _conv(h, conv_id))["status"] == "new"
    assert (await h.get(f"/api/v1/conversations/{conv_id}/csat")).json()["items"] == []


async def test_a_late_rating_is_a_normal_message(harness: Harness) -> None:
    h = harness
    _, conv_id = await _served(h, window_hours=2)
    async with h.rt.write() as tx:  # the question went out three hours ago
        await tx.conn.execute(update(attendances).where(attendances.c.conversation_id == conv_id).values(
            csat_asked_at=datetime.now(UTC) - timedelta(hours=3)))
    await _customer(h, "4")
    assert (await _conv(h, conv_id))["status"] == "new"
    async with h.rt.read() as conn:
        rated = await conn.scalar(select(attendances.c.id).where(attendances.c.csat_rating.is_not(None)))
    assert rated is None


async def test_no_survey_when_off_or_when_the_customer_opted_out(harness: Harness) -> None:
    h = harness
    _, conv_id = await _served(h, csat=False)
    assert QUESTION not in [m.text for m in h.kolmeya.state.sent]
    await _customer(h, "5")
    assert (await _conv(h, conv_id))["status"] == "new"  # no survey: a "5" is just a message


async def test_opted_out_customer_is_not_asked(harness: Harness) -> None:
    h = harness
    c = await h.kolmeya_connector(poll_interval_s=0)
    await h.client.put(f"/api/v1/connectors/{c['id']}/csat", json={"enabled": True}, headers=h.auth("admin"))
    sent = (await h.post("/api/v1/messages", {"connector_id": c["id"], "to": PHONE, "text": "Olá!"})).json()
    await h.drain()
    await _customer(h, "Oi")
    conv = await _conv(h, sent["conversation_id"])
    async with h.rt.write() as tx:
        await contact_actions.set_sms_opt_out(tx, conv["contact"]["id"], True)
    await h.post(f"/api/v1/conversations/{conv['id']}/assign", {"agent_id": h.user_ids["ana"]}, who="ana")
    assert (await h.post(f"/api/v1/conversations/{conv['id']}/close", who="ana")).status_code == 200
    await h.drain()
    assert QUESTION not in [m.text for m in h.kolmeya.state.sent]
    async with h.rt.read() as conn:
        assert await conn.scalar(select(attendances.c.csat_asked_at).where(
            attendances.c.csat_asked_at.is_not(None))) is None


async def test_settings_api(harness: Harness) -> None:
    h = harness
    c = await h.kolmeya_connector()
    r = await h.get(f"/api/v1/connectors/{c['id']}/csat", who="supervisor")
    assert r.json() == {"connector_id": c["id"], "enabled": False, "question": QUESTION, "window_hours": 24}
    body = {"enabled": True, "question": "Dê uma nota de 1 a 5", "window_hours": 12}
    assert (await h.client.put(f"/api/v1/connectors/{c['id']}/csat", json=body, headers=h.auth("ana"))).status_code \
        == 403
    r = await h.client.put(f"/api/v1/connectors/{c['id']}/csat", json=body, headers=h.auth("supervisor"))
    assert r.json() == {"connector_id": c["id"], **body}
    r = await h.client.put(f"/api/v1/connectors/{c['id']}/csat", json={**body, "window_hours": 0},
                           headers=h.auth("supervisor"))
    assert r.status_code == 422
    assert (await h.get("/api/v1/connectors/999/csat", who="admin")).status_code == 404


async def test_a_teams_survey_decides_over_its_connectors(harness: Harness) -> None:
    """The team serving the connector has its own survey: on, it asks (the connector's is off); off, it
    keeps the connector's from asking. Its supervisors and admins set it; agents do not."""
    h = harness
    c = await h.kolmeya_connector(poll_interval_s=0)
    r = await h.post("/api/v1/teams", {"name": "Cobrança", "member_ids": [h.user_ids["ana"], h.user_ids["supervisor"]],
                                       "connector_ids": [c["id"]]})
    team = r.json()
    body = {"enabled": True, "question": "Nota de 1 a 5 para a equipe?", "window_hours": 6}
    assert (await h.client.put(f"/api/v1/teams/{team['id']}/csat", json=body, headers=h.auth("ana"))).status_code \
        == 403
    assert (await h.client.put("/api/v1/teams/999/csat", json=body, headers=h.auth("admin"))).status_code == 404
    r = await h.client.put(f"/api/v1/teams/{team['id']}/csat", json=body, headers=h.auth("supervisor"))
    assert r.status_code == 200 and r.json() == {"team_id": team["id"], **body}
    assert (await h.get(f"/api/v1/teams/{team['id']}/csat", who="supervisor")).json()["enabled"] is True

    sent = (await h.post("/api/v1/messages", {"connector_id": c["id"], "to": PHONE, "text": "Olá!"}, who="ana")).json()
    await h.drain()
    await _customer(h, "Preciso da segunda via")
    conv_id = int(sent["conversation_id"])
    assert (await _conv(h, conv_id))["team_id"] == team["id"]
    assert (await h.post(f"/api/v1/conversations/{conv_id}/close", who="ana")).status_code == 200
    await h.drain()
    assert h.kolmeya.state.sent[-1].text == "Nota de 1 a 5 para a equipe?"  # the team's question
    await _customer(h, "4")
    assert (await _conv(h, conv_id))["status"] == "done"
    assert [x["rating"] for x in (await h.get(f"/api/v1/conversations/{conv_id}/csat")).json()["items"]] == [4]

    # The team switches its survey off: the connector's (on) no longer asks this team's customers.
    await h.client.put(f"/api/v1/connectors/{c['id']}/csat", json={"enabled": True}, headers=h.auth("admin"))
    await h.client.put(f"/api/v1/teams/{team['id']}/csat", json={**body, "enabled": False}, headers=h.auth("admin"))
    await _customer(h, "Obrigado!")  # the rating's comment
    await _customer(h, "Tenho outra dúvida")  # a new request: it reopens the conversation
    asked = len(h.kolmeya.state.sent)
    await h.post(f"/api/v1/conversations/{conv_id}/assign", {"agent_id": h.user_ids["ana"]}, who="ana")
    assert (await h.post(f"/api/v1/conversations/{conv_id}/close", who="ana")).status_code == 200
    await h.drain()
    assert QUESTION not in [m.text for m in h.kolmeya.state.sent[asked:]]
    assert "Nota de 1 a 5 para a equipe?" not in [m.text for m in h.kolmeya.state.sent[asked:]]
