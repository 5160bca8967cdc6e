"""WhatsApp campaigns on the fake Graph API: approved templates only, per-recipient parameters,
paced at the number's throughput, Meta's marketing limits counted as such."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from atende.db.tables import campaign_recipients
from atende.jobs.pacing import LocalPacer
from atende.testing.fake_graph import error_item
from tests.support.campaigns import FakeClock, csv_of, phones, run_until, travel
from tests.support.harness import Harness
from tests.support.whatsapp import post_webhook

BODY = "Olá {{1}}, sua fatura de {{2}} vence amanhã. Pague pelo app."


def fake_pacer(clock: FakeClock) -> LocalPacer:
    """The send pacer on the test's clock: waiting moves the clock, nothing sleeps."""
    async def sleep(seconds: float) -> None:
        clock.advance(seconds)

    return LocalPacer(clock=lambda: clock.now.timestamp(), sleep=sleep)


async def _connector(h: Harness, **config: Any) -> dict[str, Any]:
    c = await h.whatsapp_connector(**config)
    h.graph.add_template("cobranca", category="MARKETING", body=BODY)
    h.graph.add_template("em_analise", status="PENDING", body="Oi {{1}}")
    h.graph.add_template("com_imagem", header_format="IMAGE", body="Oi {{1}}")
    r = await h.post(f"/api/v1/connectors/{c['id']}/templates/sync", who="supervisor")
    assert r.status_code == 200, r.text
    return c


def _body(c: dict[str, Any], numbers: list[str], **extra: Any) -> dict[str, Any]:
    return {"name": "Cobrança WA", "connector_id": c["id"],
            "template": {"name": "cobranca", "language": "pt_BR", "params": ["{{nome}}", "{{valor}}"]},
            "csv": csv_of(numbers, nome=[f"Cliente {i}" for i in range(len(numbers))],
                          valor=[f"R$ {i},00" for i in range(len(numbers))]), **extra}


async def test_only_approved_templates_with_body_parameters(harness: Harness) -> None:
    h = harness
    c = await _connector(h)
    numbers = phones(2)
    r = await h.post("/api/v1/campaigns", {**_body(c, numbers), "template": None, "text": "Oi"}, who="supervisor")
    assert r.status_code == 422 and r.json()["code"] == "template_required"
    r = await h.post("/api/v1/campaigns", {**_body(c, numbers), "template": {"name": "em_analise", "params": ["x"]}},
                     who="supervisor")
    assert r.status_code == 409 and r.json()["code"] == "template_not_approved"
    r = await h.post("/api/v1/campaigns", {**_body(c, numbers), "template": {"name": "cobranca", "params": ["x"]}},
                     who="supervisor")
    assert r.status_code == 422 and "2 parâmetro" in r.json()["detail"]
    r = await h.post("/api/v1/campaigns", {**_body(c, numbers), "template": {"name": "com_imagem",
                                                                            "params": ["{{nome}}"]}}, who="supervisor")
    assert r.status_code == 422 and r.json()["code"] == "template_parameters"
    r = await h.post("/api/v1/campaigns", {**_body(c, numbers), "template": {"name": "nao_existe"}}, who="supervisor")
    assert r.status_code == 422 and r.json()["code"] == "template_unknown"


async def test_whatsapp_campaign_sends_templates_with_each_rows_parameters(harness: Harness) -> None:
    h = harness
    clock = travel(h)
    h.rt.pacer = fake_pacer(clock)
    c = await _connector(h)
    numbers = phones(3)
    r = await h.post("/api/v1/campaigns", _body(c, numbers), who="supervisor")
    assert r.status_code == 201, r.text
    camp = r.json()
    assert camp["estimate"]["recipients"] == 3 and camp["estimate"]["segments"] == 0
    assert (await h.post(f"/api/v1/campaigns/{camp['id']}/start", who="supervisor")).status_code == 200
    await run_until(h, clock, clock.now + timedelta(minutes=1))
    sent = sorted(h.graph.sent, key=lambda s: s.to)
    assert [s.to for s in sent] == ["55" + n for n in numbers]
    assert sent[1].type == "template" and sent[1].body["template"]["name"] == "cobranca"
    params = sent[1].body["template"]["components"][0]["parameters"]
    assert [p["text"] for p in params] == ["Cliente 1", "R$ 1,00"]
    got = (await h.get(f"/api/v1/campaigns/{camp['id']}", who="supervisor")).json()
    assert got["status"] == "done" and got["stats"]["sent"] == 3

    # Delivered, read, and a customer who answers in free text: linked by the number.
    for s in sent:
        await post_webhook(h, c, h.graph.build_status_webhook([h.graph.status_item_for(s.wamid, "read")]))
    await post_webhook(h, c, h.graph.inbound_text("55" + numbers[0], "Quero negociar"))
    await h.drain()
    got = (await h.get(f"/api/v1/campaigns/{camp['id']}", who="supervisor")).json()
    assert got["stats"]["delivered"] == 3 and got["stats"]["replied"] == 1
    conv = (await h.get("/api/v1/conversations?channel=whatsapp")).json()["items"][0]
    assert conv["status"] == "new"
    thread = (await h.get(f"/api/v1/conversations/{conv['id']}/messages")).json()["items"]
    assert [(m["direction"], m["kind"]) for m in thread] == [("out", "template"), ("in", "text")]
    assert thread[0]["text"] == "Olá Cliente 0, sua fatura de R$ 0,00 vence amanhã. Pague pelo app."


async def test_metas_marketing_limits_are_counted_apart_from_failures(harness: Harness) -> None:
    h = harness
    clock = travel(h)
    h.rt.pacer = fake_pacer(clock)
    c = await _connector(h)
    numbers = phones(4)
    camp = (await h.post("/api/v1/campaigns", _body(c, numbers, rate_per_minute=6), who="supervisor")).json()
    await h.post(f"/api/v1/campaigns/{camp['id']}/start", who="supervisor")
    h.graph.fail_next(131049)  # first recipient: the healthy-ecosystem limit, synchronously
    await run_until(h, clock, clock.now)  # one per 10 s at 6/min
    h.graph.fail_next(131050)  # second: the user stopped marketing messages
    await run_until(h, clock, clock.now + timedelta(seconds=10))
    h.graph.fail_next(131026)  # third: not on WhatsApp — a failure, and the number is blocked next time
    await run_until(h, clock, clock.now + timedelta(minutes=2))
    accepted = h.graph.sent[-1]
    failed = h.graph.status_for(accepted.wamid, "failed", errors=[error_item(131049)])  # limit after acceptance
    await post_webhook(h, c, failed)
    await h.drain()
    got = (await h.get(f"/api/v1/campaigns/{camp['id']}", who="supervisor")).json()
    assert got["stats"] == {**got["stats"], "sent": 1, "limited": 3, "failed": 1, "queued": 0}
    async with h.rt.read() as conn:
        codes = sorted(r[0] for r in await conn.execute(select(campaign_recipients.c.error_code)))
    assert codes == ["131026", "131049", "131049", "131050"]
    again = (await h.post("/api/v1/campaigns", _body(c, numbers), who="supervisor")).json()
    assert again["estimate"]["excluded"] == {"opted_out": 1, "duplicate": 0, "invalid": 0, "blocked": 1}
    assert again["estimate"]["recipients"] == 2


async def test_throughput_caps_the_pace_and_a_stopper_pauses(harness: Harness) -> None:
    h = harness
    clock = travel(h)
    h.rt.pacer = fake_pacer(clock)
    c = await _connector(h, rate_per_second=0.5)  # the number takes 30 a minute
    numbers = phones(70)
    camp = (await h.post("/api/v1/campaigns", _body(c, numbers, rate_per_minute=600), who="supervisor")).json()
    await h.post(f"/api/v1/campaigns/{camp['id']}/start", who="supervisor")
    started = clock.now
    await run_until(h, clock, started + timedelta(minutes=1, seconds=30))
    async with h.rt.read() as conn:
        stamps = sorted((r[0] - started).total_seconds() for r in await conn.execute(
            select(campaign_recipients.c.sent_at).where(campaign_recipients.c.sent_at.is_not(None))))
    assert 40 <= len(stamps) <= 50, len(stamps)
    for i, t in enumerate(stamps):
        assert sum(1 for u in stamps[i:] if u < t + 60) <= 30
    h.graph.fail_next(190, http_status=401)  # the token expired: no use failing the rest of the list
    await run_until(h, clock, clock.now + timedelta(minutes=5))
    got = (await h.get(f"/api/v1/campaigns/{camp['id']}", who="supervisor")).json()
    assert got["status"] == "paused" and "token" in got["error"]
    assert got["stats"]["failed"] == 0 and got["stats"]["sent"] + got["stats"]["queued"] == 70
