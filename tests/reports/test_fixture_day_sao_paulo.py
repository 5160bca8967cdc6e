"""Fixture day: Monday 2025-03-10 in an installation in America/Sao_Paulo (UTC-3 all year: Brazil has
had no daylight saving time since 2019), with hand-computed figures.

What happens (wall-clock times in São Paulo):

  S1 (SMS, +5548991910001)
    09:00:00  customer "Oi, preciso da segunda via"                    in
    09:00:30  bot "Recebemos sua mensagem, já já um atendente responde." out, no author: NOT a response
              (UCS-2, 52 chars: 1 segment, R$ 0,08), delivered
    09:04:00  ana "Olá! Vou verificar."  (UCS-2, 1 segment, R$ 0,08)  first response: 4 min = 240 s; delivered
    09:10:00  customer "Obrigado"                                     in
    09:12:00  ana LONG (GSM-7, 204 chars: 2 segments, R$ 0,16)
    09:20:00  ana closes                                              resolution 09:20 - 09:00 = 1200 s
  W1 (WhatsApp, 5511987650001)
    10:00:00  customer "Bom dia"                                      in
    10:01:00  bruno "Bom dia! Em que posso ajudar?"                   first response 60 s
    10:30:00  bruno closes                                            resolution 1800 s
    15:00:00  customer "Mais uma dúvida"   → reopens: a NEW attendance (reopened)
    15:10:00  ana "Pode falar"                                        first response 600 s (not closed)
  S2 (SMS, +5548991910002)
    11:00:00  customer "SAIR"  → opt-out; the auto-reply (no author, UCS-2 88 chars: 2 segments, R$ 0,16)
              is NOT a response; nobody answers
  S3 (SMS, +5548991910003)
    14:00:00  ana starts an SMS; Kolmeya refuses it → failed, costs nothing (no attendance: it stays concluded)
  W2 (WhatsApp, 5511987650002), across midnight
    23:50:00  customer "Ainda estão atendendo?"                       in (Monday)
    00:05:00  ana "Sim! Como posso ajudar?"  (Tuesday 11th)           first response 15 min = 900 s
    00:20:00  ana closes (Tuesday)                                    resolution 30 min = 1800 s

Monday 10 by hand:
  messages in  = S1 2 + W1 2 + S2 1 + W2 1                         = 6
  messages out = S1 3 (bot + 2 ana) + W1 2 + S2 1 (auto) + S3 1    = 7; by agents 2 + 2 + 0 + 1 = 5
  active       = S1 S2 S3 W1 W2 = 5 (sms 3, whatsapp 2)
  SMS accepted = S1 bot 1 seg + S1 ana 1 + S1 ana 2 + S2 auto 2 = 4 messages, 6 segments,
                 6 × R$ 0,08 = R$ 0,48; delivered 2 of 4 = 50.0 %; failed 1 (S3)
  attendances started Monday: S1#1, W1#1, S2#1, W1#2 (reopened), W2#1 = opened 5, reopened 1,
                 closed 3 (S1#1, W1#1, W2#1: W2's closing on Tuesday still belongs to Monday's attendance)
  first response [60, 240, 600, 900]: nearest rank, n = 4: median = #⌈2⌉ = 240, p90 = #⌈3.6⌉ = #4 = 900
  resolution [1200, 1800, 1800]: median = #⌈1.5⌉ = #2 = 1800, p90 = #⌈2.7⌉ = #3 = 1800
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from atende.db.tables import conversations
from tests.reports.kit import Scene, local, rows
from tests.support.harness import Harness

LONG = ("Pronto: a segunda via da sua fatura foi enviada para o seu e-mail cadastrado. Se precisar de algo mais, "
        "e so responder esta mensagem. Lembramos que o pagamento pode ser feito ate o vencimento sem juros ok")
MONDAY = {"from": "2025-03-10", "to": "2025-03-10"}
NO_RATINGS = {"responses": 0, "average": None, "distribution": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}}


async def play_monday(h: Harness) -> dict[str, int]:
    sms = await h.kolmeya_connector(cost_per_segment="0.08", poll_interval_s=0)
    wa = await h.whatsapp_connector()
    s = Scene(h, sms, wa)
    ids: dict[str, int] = {}
    s1 = await s.sms_in("+5548991910001", "Oi, preciso da segunda via", local("2025-03-10 09:00:00"))
    ids["s1_bot"] = await s.bot(s1, "Recebemos sua mensagem, já já um atendente responde.",
                                local("2025-03-10 09:00:30"))
    ids["s1_first"] = await s.reply(s1, "ana", "Olá! Vou verificar.", local("2025-03-10 09:04:00"))
    await s.sms_in("+5548991910001", "Obrigado", local("2025-03-10 09:10:00"))
    await s.reply(s1, "ana", LONG, local("2025-03-10 09:12:00"))
    await s.close(s1, "ana", local("2025-03-10 09:20:00"))
    await s.deliver(ids["s1_bot"])
    await s.deliver(ids["s1_first"])

    w1 = await s.wa_in("5511987650001", "Bom dia", local("2025-03-10 10:00:00"))
    await s.reply(w1, "bruno", "Bom dia! Em que posso ajudar?", local("2025-03-10 10:01:00"))
    await s.close(w1, "bruno", local("2025-03-10 10:30:00"))

    s2 = await s.sms_in("+5548991910002", "SAIR", local("2025-03-10 11:00:00"))

    h.kolmeya.fail_next(422, {"message": "The given data was invalid.", "errors": {"messages.0.phone": ["inválido"]}})
    await s.send_new("ana", "+5548991910003", "Seu boleto vence hoje", local("2025-03-10 14:00:00"))

    assert await s.wa_in("5511987650001", "Mais uma dúvida", local("2025-03-10 15:00:00")) == w1
    await s.reply(w1, "ana", "Pode falar", local("2025-03-10 15:10:00"))

    w2 = await s.wa_in("5511987650002", "Ainda estão atendendo?", local("2025-03-10 23:50:00"))
    await s.reply(w2, "ana", "Sim! Como posso ajudar?", local("2025-03-11 00:05:00"))
    await s.close(w2, "ana", local("2025-03-11 00:20:00"))
    ids.update(s1=s1, s2=s2, w1=w1, w2=w2, sms=int(sms["id"]), wa=int(wa["id"]))
    s.at(local("2025-03-11 12:00:00"))  # reports are asked for the next day at noon
    return ids


async def test_monday_summary_matches_the_hand_count(harness: Harness) -> None:
    ids = await play_monday(harness)
    s = Scene(harness, {})
    r = await s.get("/api/v1/reports/summary", **MONDAY, tz="America/Sao_Paulo")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["conversations"] == {"opened": 5, "closed": 3, "reopened": 1, "active": 5}
    assert body["messages"] == {"in": 6, "out": 7, "out_by_agents": 5}
    assert body["first_response_s"] == {"median": 240, "p90": 900, "count": 4}
    assert body["resolution_s"] == {"median": 1800, "p90": 1800, "count": 3}
    assert body["csat"] == NO_RATINGS  # no survey configured that day
    assert body["sms"] == {"messages": 4, "segments": 6, "cost": "0.48", "delivered": 2, "failed": 1,
                           "delivery_rate": 50.0}

    # Per channel. SMS: in S1 2 + S2 1 = 3; out S1 3 + S2 1 + S3 1 = 5; attendances S1#1, S2#1 (closed:
    # S1#1); first response [240]; resolution [1200]. WhatsApp: in 3, out 2; attendances W1#1, W1#2, W2#1;
    # first responses [60, 600, 900] → median #2 = 600, p90 #⌈2.7⌉ = #3 = 900; resolutions [1800, 1800].
    sms, wa = body["by_channel"]["sms"], body["by_channel"]["whatsapp"]
    assert sms["conversations"] == {"opened": 2, "closed": 1, "reopened": 0, "active": 3}
    assert sms["messages"] == {"in": 3, "out": 5, "out_by_agents": 3}
    assert sms["first_response_s"] == {"median": 240, "p90": 240, "count": 1}
    assert sms["resolution_s"] == {"median": 1200, "p90": 1200, "count": 1}
    assert sms["sms"]["cost"] == "0.48"
    assert wa["conversations"] == {"opened": 3, "closed": 2, "reopened": 1, "active": 2}
    assert wa["messages"] == {"in": 3, "out": 2, "out_by_agents": 2}
    assert wa["first_response_s"] == {"median": 600, "p90": 900, "count": 3}
    assert wa["resolution_s"] == {"median": 1800, "p90": 1800, "count": 2}
    assert wa["sms"]["messages"] == 0

    # Per agent. ana holds S1#1, W1#2, W2#1 (3; closed S1#1 and W2#1), wrote 4 messages on Monday (S1 2,
    # W1 1, S3 1) in 3 conversations; first responses [240, 600, 900] → median 600, p90 900; resolutions
    # [1200, 1800] → median #1 = 1200, p90 #⌈1.8⌉ = #2 = 1800. bruno: W1#1, 1 message, 60 s, 1800 s.
    agents = {a["name"]: a for a in body["by_agent"]}
    assert set(agents) == {"Ana", "Bruno"}
    assert agents["Ana"] == {
        "agent_id": harness.user_ids["ana"], "name": "Ana", "conversations": 3, "closed": 2, "active": 3,
        "messages_out": 4, "first_response_s": {"median": 600, "p90": 900, "count": 3},
        "resolution_s": {"median": 1200, "p90": 1800, "count": 2}, "csat": NO_RATINGS}
    assert agents["Bruno"] == {
        "agent_id": harness.user_ids["bruno"], "name": "Bruno", "conversations": 1, "closed": 1, "active": 1,
        "messages_out": 1, "first_response_s": {"median": 60, "p90": 60, "count": 1},
        "resolution_s": {"median": 1800, "p90": 1800, "count": 1}, "csat": NO_RATINGS}

    # Tuesday alone: W2's answer (out 1) makes it active; no attendance started on Tuesday.
    r = await s.get("/api/v1/reports/summary", **{"from": "2025-03-11", "to": "2025-03-11"})
    tuesday = r.json()
    assert tuesday["conversations"] == {"opened": 0, "closed": 0, "reopened": 0, "active": 1}
    assert tuesday["messages"] == {"in": 0, "out": 1, "out_by_agents": 1}
    # Both days: W2 is active on both, and counts once.
    r = await s.get("/api/v1/reports/summary", **{"from": "2025-03-10", "to": "2025-03-11"})
    both = r.json()
    assert both["conversations"]["active"] == 5 and both["messages"] == {"in": 6, "out": 8, "out_by_agents": 6}

    # Filters: a connector, an agent (messages they wrote), a channel.
    r = await s.get("/api/v1/reports/summary", **MONDAY, connector_id=ids["wa"])
    assert r.json()["conversations"] == wa["conversations"]
    r = await s.get("/api/v1/reports/summary", **MONDAY, agent_id=harness.user_ids["bruno"])
    by_bruno = r.json()
    assert by_bruno["conversations"] == {"opened": 1, "closed": 1, "reopened": 0, "active": 1}
    assert by_bruno["messages"] == {"in": 0, "out": 1, "out_by_agents": 1}
    assert by_bruno["first_response_s"]["count"] == 1 and [a["name"] for a in by_bruno["by_agent"]] == ["Bruno"]
    r = await s.get("/api/v1/reports/summary", **MONDAY, channel="sms")
    assert r.json()["messages"] == sms["messages"] and r.json()["sms"] == body["sms"]

    async with harness.rt.read() as conn:
        assert await conn.scalar(select(conversations.c.status).where(conversations.c.id == ids["s2"])) == "new"


async def test_monday_csv_exports_equal_the_summary(harness: Harness) -> None:
    await play_monday(harness)
    s = Scene(harness, {})
    r = await s.get("/api/v1/reports/conversations.csv", **MONDAY)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    conv_rows = rows(r.text)
    assert list(conv_rows[0]) == [
        "atendimento", "conversa", "canal", "conector", "contato_id", "contato", "equipe", "agente", "aberto_em",
        "reaberto", "primeira_resposta_s", "concluido_em", "resolucao_s", "mensagens_recebidas",
        "mensagens_enviadas", "segmentos", "custo", "etiquetas", "primeira_resposta_em_horario_s", "sla", "satisfacao"]
    # In the order they started: S1#1 09:00, W1#1 10:00, S2#1 11:00, W1#2 15:00, W2#1 23:50.
    assert [(c["canal"], c["agente"], c["reaberto"], c["primeira_resposta_s"], c["resolucao_s"]) for c in conv_rows] \
        == [("sms", "Ana", "não", "240", "1200"), ("whatsapp", "Bruno", "não", "60", "1800"),
            ("sms", "", "não", "", ""), ("whatsapp", "Ana", "sim", "600", ""),
            ("whatsapp", "Ana", "não", "900", "1800")]
    # No team hours: the business-hours wait is the whole wait; no SLA target: no verdict.
    assert [c["primeira_resposta_em_horario_s"] for c in conv_rows] == [c["primeira_resposta_s"] for c in conv_rows]
    assert {c["sla"] for c in conv_rows} == {""}
    assert conv_rows[0]["aberto_em"] == "2025-03-10T09:00:00-03:00"
    assert conv_rows[0]["concluido_em"] == "2025-03-10T09:20:00-03:00"
    assert conv_rows[4]["concluido_em"] == "2025-03-11T00:20:00-03:00"
    # S1#1: 2 in, 3 out (bot + ana ×2), 4 segments (1 + 1 + 2), R$ 0,32. S2#1: 1 in, 1 out (auto), 2 segments.
    assert (conv_rows[0]["mensagens_recebidas"], conv_rows[0]["mensagens_enviadas"], conv_rows[0]["segmentos"],
            conv_rows[0]["custo"]) == ("2", "3", "4", "0.32")
    assert (conv_rows[2]["mensagens_recebidas"], conv_rows[2]["mensagens_enviadas"], conv_rows[2]["segmentos"],
            conv_rows[2]["custo"]) == ("1", "1", "2", "0.16")
    # W2#1's answer was on Tuesday, still its attendance's: 1 in, 1 out.
    assert (conv_rows[4]["mensagens_recebidas"], conv_rows[4]["mensagens_enviadas"]) == ("1", "1")
    body = (await s.get("/api/v1/reports/summary", **MONDAY)).json()
    assert len(conv_rows) == body["conversations"]["opened"]
    assert sum(c["reaberto"] == "sim" for c in conv_rows) == body["conversations"]["reopened"]
    assert sum(bool(c["concluido_em"]) for c in conv_rows) == body["conversations"]["closed"]

    r = await s.get("/api/v1/reports/messages.csv", **MONDAY)
    assert r.status_code == 200
    msg_rows = rows(r.text)
    assert sum(m["direcao"] == "recebida" for m in msg_rows) == body["messages"]["in"] == 6
    assert sum(m["direcao"] == "enviada" for m in msg_rows) == body["messages"]["out"] == 7
    assert sum(m["direcao"] == "enviada" and bool(m["autor"]) for m in msg_rows) == 5
    accepted = [m for m in msg_rows if m["aceita_pelo_provedor"] == "sim"]
    assert len(accepted) == body["sms"]["messages"] == 4
    assert sum(int(m["segmentos"]) for m in accepted) == body["sms"]["segments"] == 6
    assert sum((Decimal(m["custo"]) for m in msg_rows if m["custo"]), Decimal(0)) == Decimal(body["sms"]["cost"])
    assert [m["status"] for m in msg_rows if m["aceita_pelo_provedor"] == "não"] == ["failed"]
    assert len({m["conversa"] for m in msg_rows}) == body["conversations"]["active"] == 5

    r = await s.get("/api/v1/reports/agents.csv", **MONDAY, lang="en")
    agent_rows = rows(r.text)
    assert list(agent_rows[0])[:4] == ["agent_id", "name", "attendances", "closed"]
    assert [(a["name"], a["attendances"], a["messages_out"], a["first_response_median_s"], a["first_response_p90_s"],
             a["resolution_median_s"]) for a in agent_rows] == [("Ana", "3", "4", "600", "900", "1200"),
                                                                ("Bruno", "1", "1", "60", "60", "1800")]
    r = await s.get("/api/v1/reports/conversations.csv", **MONDAY, lang="en")
    assert list(rows(r.text)[0])[:3] == ["attendance_id", "conversation_id", "channel"]
