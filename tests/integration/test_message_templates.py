"""Message templates with variables: the API, the preview with segments and cost, the values a
conversation fills them with (contact, agent, the last campaign's columns), and the pages."""

from __future__ import annotations

from datetime import timedelta

from tests.support.campaigns import create_campaign, csv_of, run_until, travel
from tests.support.harness import Harness


async def test_templates_api_and_permissions(harness: Harness) -> None:
    h = harness
    c = await h.kolmeya_connector()
    body = {"name": "Cobrança", "text": "Olá {{nome}}, sua fatura de {{valor}} vence em {{vencimento}}."}
    assert (await h.post("/api/v1/message-templates", body, who="ana")).status_code == 403
    r = await h.post("/api/v1/message-templates", body, who="supervisor")
    assert r.status_code == 201, r.text
    global_id = r.json()["id"]
    assert r.json()["connector_id"] is None
    r = await h.post("/api/v1/message-templates", {**body, "name": "Só SMS", "connector_id": c["id"]}, who="supervisor")
    assert r.status_code == 201
    sms_id = r.json()["id"]
    assert (await h.post("/api/v1/message-templates", body, who="supervisor")).status_code == 409  # same name
    r = await h.post("/api/v1/message-templates", {**body, "name": "x", "connector_id": 999}, who="supervisor")
    assert r.status_code == 404
    other = await h.whatsapp_connector()
    listed = (await h.get(f"/api/v1/message-templates?connector_id={other['id']}", who="ana")).json()["items"]
    assert [t["id"] for t in listed] == [global_id]  # the SMS connector's own template is not offered here
    listed = (await h.get(f"/api/v1/message-templates?connector_id={c['id']}", who="ana")).json()["items"]
    assert sorted(t["id"] for t in listed) == sorted([global_id, sms_id])
    r = await h.client.patch(f"/api/v1/message-templates/{sms_id}", json={**body, "name": "Só SMS", "text": "Oi"},
                             headers=h.auth("supervisor"))
    assert r.status_code == 200 and r.json()["text"] == "Oi"
    r = await h.client.delete(f"/api/v1/message-templates/{sms_id}", headers=h.auth("ana"))
    assert r.status_code == 403
    r = await h.client.delete(f"/api/v1/message-templates/{sms_id}", headers=h.auth("supervisor"))
    assert r.status_code == 204
    assert (await h.get(f"/api/v1/message-templates/{sms_id}")).status_code == 404


async def test_preview_counts_segments_and_cost_on_the_rendered_text(harness: Harness) -> None:
    h = harness
    c = await h.kolmeya_connector()
    r = await h.post("/api/v1/message-templates/preview", {
        "text": "Olá {{nome}}, fatura de {{valor}}. Att, {{agente}}", "connector_id": c["id"],
        "vars": {"Nome": "Ana", "valor": "R$ 10,00"}}, who="ana")
    assert r.status_code == 200, r.text
    assert r.json() == {"text": "Olá Ana, fatura de R$ 10,00. Att, Ana", "missing": [],
                        "variables": ["nome", "valor", "agente"], "segments": 1, "encoding": "ucs2", "cost": "0.08"}
    r = await h.post("/api/v1/message-templates/preview", {"text": "Vence {{vencimento}}" + " x" * 80,
                                                           "connector_id": c["id"]}, who="ana")
    assert r.json()["missing"] == ["vencimento"] and r.json()["segments"] == 2 and r.json()["cost"] == "0.16"
    wa = await h.whatsapp_connector()
    r = await h.post("/api/v1/message-templates/preview", {"text": "Oi {{nome}}", "connector_id": wa["id"]})
    assert r.json()["segments"] is None and r.json()["cost"] is None


async def test_a_conversation_fills_contact_agent_and_last_campaign_columns(harness: Harness) -> None:
    h = harness
    clock = travel(h)
    c = await h.kolmeya_connector(poll_interval_s=0)
    camp = await create_campaign(h, c["id"], csv_of(["11988887777"], nome=["Ana Souza"], valor=["R$ 99,90"],
                                                    vencimento=["10/12"]), text="Oi {{nome}}")
    await h.post(f"/api/v1/campaigns/{camp['id']}/start", who="supervisor")
    await run_until(h, clock, clock.now + timedelta(seconds=5))
    await h.kolmeya.send_reply(h.kolmeya.state.sent[0].id, "Quero pagar")
    conv = (await h.get("/api/v1/conversations")).json()["items"][0]
    r = await h.post("/api/v1/message-templates/preview", {
        "text": "{{nome}}, seu boleto de {{valor}} vence {{vencimento}} ({{telefone}}). {{agente}}",
        "conversation_id": conv["id"]}, who="bruno")
    assert r.json()["text"] == "Ana Souza, seu boleto de R$ 99,90 vence 10/12 ((11) 98888-7777). Bruno"
    assert r.json()["segments"] == 1
