"""SMS campaigns end to end on the fake Kolmeya: estimate, lifecycle, pacing, windows, crashes,
replies and opt-outs. Time is a clock the tests move (no sleeping)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from atende.actions import campaign_sends
from atende.actions import contacts as contact_actions
from atende.channels.kolmeya.provider import KolmeyaProvider
from atende.db.tables import campaign_recipients, jobs, report_daily
from atende.jobs.campaigns import campaign_tick
from atende.jobs.handlers import HANDLERS, ensure_periodic
from atende.jobs.worker import Worker
from atende.testing.fake_kolmeya import FakeReply
from tests.reports.test_rollups_recount import assert_counters_equal_recount
from tests.support.campaigns import SAO_PAULO, create_campaign, csv_of, next_local, phones, run_until, travel
from tests.support.harness import Harness


async def test_sms_campaign_goes_out_and_counts(harness: Harness) -> None:
    h = harness
    clock = travel(h)
    c = await h.kolmeya_connector()
    numbers = phones(30)
    camp = await create_campaign(h, c["id"], csv_of(numbers, nome=[f"Cliente {i}" for i in range(30)]),
                                 rate_per_minute=60)
    assert camp["status"] == "draft" and camp["estimate"]["recipients"] == 30
    assert camp["stats"]["queued"] == 30 and camp["stats"]["sent"] == 0
    r = await h.post(f"/api/v1/campaigns/{camp['id']}/start", who="supervisor")
    assert r.status_code == 200 and r.json()["status"] == "running"
    await run_until(h, clock, clock.now + timedelta(minutes=5))
    got = (await h.get(f"/api/v1/campaigns/{camp['id']}", who="supervisor")).json()
    assert got["status"] == "done", got
    assert got["stats"]["sent"] == 30 and got["stats"]["queued"] == 0
    assert Decimal(got["stats"]["cost"]) == Decimal("0.08") * 30
    sent = h.kolmeya.state.sent
    assert len(sent) == 30 and len({m.phone for m in sent}) == 30
    assert all(m.reference.startswith("cr") for m in sent)
    assert sent[0].text == "Olá Cliente 0!"
    stats = (await h.get(f"/api/v1/connectors/{c['id']}")).json()["stats"]
    assert stats["sent"] == 30 and Decimal(stats["cost"]) == Decimal("0.08") * 30
    # The dashboard's SMS cost counts them the day they went out, and a recount finds the same.
    async with h.rt.read() as conn:
        day = (await conn.execute(select(func.sum(report_daily.c.sms_sent), func.sum(report_daily.c.sms_cost))
                                  .where(report_daily.c.connector_id == c["id"]))).one()
    assert day[0] == 30 and Decimal(day[1]) == Decimal("0.08") * 30
    await assert_counters_equal_recount(h)
    for action in ("campaign.create", "campaign.start"):  # spending the SMS budget leaves evidence
        items = (await h.get(f"/api/v1/audit?action={action}")).json()["items"]
        assert [(i["actor_id"], i["target_id"]) for i in items] == [(h.user_ids["supervisor"], camp["id"])]


async def test_agents_may_not_touch_campaigns(harness: Harness) -> None:
    c = await harness.kolmeya_connector()
    body = {"name": "x", "connector_id": c["id"], "text": "oi", "csv": "telefone\n11988887777\n"}
    assert (await harness.post("/api/v1/campaigns", body, who="ana")).status_code == 403
    assert (await harness.get("/api/v1/campaigns", who="ana")).status_code == 403
    camp = await create_campaign(harness, c["id"], "telefone\n11988887777\n")
    for action in ("start", "pause", "resume", "cancel"):
        assert (await harness.post(f"/api/v1/campaigns/{camp['id']}/{action}", who="ana")).status_code == 403
    assert (await harness.get(f"/api/v1/campaigns/{camp['id']}/exclusions.csv", who="ana")).status_code == 403


async def _opt_out(h: Harness, phone: str) -> None:
    async with h.rt.write() as tx:
        contact_id = await contact_actions.resolve_contact(tx, phone, "sms", name="Quer sair")
        await contact_actions.set_sms_opt_out(tx, contact_id, True)


async def test_estimate_and_exclusions_on_a_csv_with_every_kind_of_bad_row(harness: Harness) -> None:
    h = harness
    travel(h)
    c = await h.kolmeya_connector()
    # A first campaign teaches us that Kolmeya has 31966665555 on its blacklist.
    h.kolmeya.state.blacklist.add(31966665555)
    first = await create_campaign(h, c["id"], "telefone\n31966665555\n", text="Oi")
    await h.post(f"/api/v1/campaigns/{first['id']}/start", who="supervisor")
    await h.drain()
    got = (await h.get(f"/api/v1/campaigns/{first['id']}", who="supervisor")).json()
    assert got["stats"]["failed"] == 1 and got["status"] == "done"
    await _opt_out(h, "+5521977776666")
    await _opt_out(h, "+5551955554444")  # opted out, but also a duplicate below: counted once, as duplicate

    text = "Ola {{nome}}, sua fatura de {{valor}} vence em {{vencimento}}. Pague pelo app ou responda SAIR."
    csv_text = (
        "Nome;Celular;Valor;Vencimento\n"
        "Ana;(48) 99191-0234;R$ 10,00;10/12\n"        # 1 ok (GSM-7, 1 segment)
        "Ana de novo;48991910234;R$ 11,00;10/12\n"    # 2 duplicate
        "Caio;abc;R$ 1,00;10/12\n"                    # 3 invalid
        "Sem número;;R$ 1,00;10/12\n"                 # 4 invalid
        "Fixo;(48) 3222-1234;R$ 2,00;10/12\n"         # 5 blocked: landline
        "Estrangeiro;+1 650 253 0000;R$ 3,00;10/12\n"  # 6 blocked: abroad
        "Bruno;11988887777;;10/12\n"                  # 7 missing_vars: valor
        "Opt;21977776666;R$ 4,00;10/12\n"             # 8 opted_out
        "Bloq;31966665555;R$ 5,00;10/12\n"            # 9 blocked: Kolmeya's blacklist
        "João;51955554444;R$ 6,00;10/12\n"            # 10 ok, but: opted out
        "João outra vez;51955554444;R$ 6,00;10/12\n"  # 11 duplicate
        "Márcia;21966665555;R$ 7,00;10/12\n"          # 12 ok (UCS-2 because of á)
    )
    camp = await create_campaign(h, c["id"], csv_text, text=text)
    est = camp["estimate"]
    assert est["rows"] == 12 and est["recipients"] == 2
    assert est["excluded"] == {"opted_out": 2, "duplicate": 2, "invalid": 2, "blocked": 3}
    assert est["missing_vars"] == 1 and est["missing_by_var"] == {"valor": 1}
    assert est["variables"] == ["nome", "valor", "vencimento"]
    assert est["encodings"] == {"gsm7": 1, "ucs2": 1}
    # Ana's text: 80 GSM-7 characters → 1 segment; Márcia's: UCS-2 (á), 82 units → 2 segments.
    assert est["segments"] == 3 and est["cost"] == "0.24"
    assert est["cost_per_recipient"] == {"min": "0.08", "max": "0.16", "average": "0.12"}
    assert camp["stats"]["recipients"] == 2 and camp["stats"]["queued"] == 2

    r = await h.get(f"/api/v1/campaigns/{camp['id']}/exclusions.csv", who="supervisor")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lines = r.text.lstrip("\ufeff").strip().split("\r\n")
    assert lines[0] == "linha;telefone;motivo;codigo;detalhe"
    codes = [(int(line.split(";")[0]), line.split(";")[3]) for line in lines[1:]]
    assert codes == [(2, "duplicate"), (3, "invalid"), (4, "invalid"), (5, "blocked"), (6, "blocked"),
                     (7, "missing_vars"), (8, "opted_out"), (9, "blocked"), (10, "opted_out"), (11, "duplicate")]
    assert "blacklist" in lines[8] and "fixo" in lines[4] and "valor" in lines[6]


async def test_bad_requests_are_clear_4xx(harness: Harness) -> None:
    h = harness
    c = await h.kolmeya_connector()
    base = {"name": "x", "connector_id": c["id"], "text": "oi"}
    cases = [
        ({**base, "csv": "nome;valor\nAna;1\n"}, 422, "telefone"),
        ({**base}, 422, "destinatários"),
        ({**base, "csv": "telefone\n1\n", "recipients": []}, 422, "um dos dois"),
        ({**base, "text": None, "csv": "telefone\n11988887777\n"}, 422, "texto"),
        ({**base, "text": "   ", "csv": "telefone\n11988887777\n"}, 422, "vazio"),
        ({**base, "csv": "telefone\n11988887777\n", "window": {"start": "20:00", "end": "08:00"}}, 422, "janela"),
        ({**base, "csv": "telefone\n11988887777\n", "schedule_at": "2030-01-01T08:00:00"}, 422, "fuso"),
        ({**base, "csv": "telefone\n11988887777\n", "rate_per_minute": 0}, 422, None),
        ({**base, "connector_id": 999, "csv": "telefone\n11988887777\n"}, 404, "conector"),
        ({**base, "csv": "telefone\n11988887777\n", "template": {"name": "x"}}, 422, "um dos dois"),
        ({**base, "recipients": [{"phone": True}]}, 422, None),
    ]
    for body, status, words in cases:
        r = await h.post("/api/v1/campaigns", body, who="supervisor")
        assert r.status_code == status, (body, r.text)
        if words:
            assert words in str(r.json()["detail"]), (body, r.text)
    listed = (await h.get("/api/v1/campaigns", who="supervisor")).json()
    assert listed == {"items": [], "next_cursor": None}  # nothing half-made was left behind
    camp = await create_campaign(h, c["id"], "telefone\n11988887777\n", text="oi")
    await h.post(f"/api/v1/campaigns/{camp['id']}/start", who="supervisor")
    r = await h.post(f"/api/v1/campaigns/{camp['id']}/start", who="supervisor")
    assert r.status_code == 409 and r.json()["code"] == "campaign_status"
    assert (await h.post(f"/api/v1/campaigns/{camp['id']}/resume", who="supervisor")).status_code == 409
    assert (await h.get("/api/v1/campaigns/999", who="supervisor")).status_code == 404
    assert (await h.get("/api/v1/campaigns?cursor=zz", who="supervisor")).status_code == 400


async def test_list_is_keyset_paged_newest_first(harness: Harness) -> None:
    c = await harness.kolmeya_connector()
    ids = [(await create_campaign(harness, c["id"], "telefone\n11988887777\n", text="oi"))["id"] for _ in range(3)]
    page = (await harness.get("/api/v1/campaigns?limit=2", who="admin")).json()
    assert [i["id"] for i in page["items"]] == ids[::-1][:2] and page["next_cursor"]
    rest = (await harness.get(f"/api/v1/campaigns?limit=2&cursor={page['next_cursor']}", who="admin")).json()
    assert [i["id"] for i in rest["items"]] == [ids[0]] and rest["next_cursor"] is None
    assert set(page["items"][0]["stats"]) >= {"queued", "sent", "delivered", "failed", "replied", "opted_out", "cost"}


async def test_pacing_follows_rate_per_minute_on_the_fake_clock(harness: Harness) -> None:
    h = harness
    clock = travel(h)
    c = await h.kolmeya_connector()
    camp = await create_campaign(h, c["id"], csv_of(phones(500)), text="Promoção de hoje", rate_per_minute=120)
    started = clock.now
    await h.post(f"/api/v1/campaigns/{camp['id']}/start", who="supervisor")
    await run_until(h, clock, started + timedelta(minutes=10))
    sent = h.kolmeya.state.sent
    assert len(sent) == 500 and len({m.phone for m in sent}) == 500
    stamps = sorted((m.created_at - started).total_seconds() for m in sent)
    # At most 120 in any minute: every message's 60-second window holds ≤ 120 sends.
    for i, t in enumerate(stamps):
        j = i
        while j < len(stamps) and stamps[j] < t + 60:
            j += 1
        assert j - i <= 120, f"{j - i} sends in the minute after {t}s"
    # ...and no slower than the rate: 500 at 120/min is about 4 minutes 10 seconds.
    assert 240 <= stamps[-1] <= 260, stamps[-1]
    per_request = Counter(m.request_id for m in sent)
    assert set(per_request.values()) == {20}  # batches of 20 every 10 s, one /sms/store each
    assert len(h.kolmeya.state.calls_to("/sms/store")) == 25
    assert (await h.get(f"/api/v1/campaigns/{camp['id']}", who="supervisor")).json()["status"] == "done"


class _Killed(BaseException):
    """Stands for the process dying: nothing after it runs, no except clause catches it."""


async def _tick_job(h: Harness) -> object:
    claimed = await Worker(h.rt, HANDLERS, name="dying").claim(50)
    return next(j for j in claimed if j.kind == "campaign_tick")


async def _expire_leases(h: Harness) -> None:
    async with h.rt.write() as tx:
        await tx.conn.execute(update(jobs).where(jobs.c.status == "running").values(
            lease_until=h.rt.clock() - timedelta(seconds=1)))


async def _campaign(h: Harness, n: int, **extra: object) -> dict:
    c = await h.kolmeya_connector(poll_interval_s=0)  # only the campaign talks to the fake
    camp = await create_campaign(h, c["id"], csv_of(phones(n)), text="Oferta especial", **extra)
    r = await h.post(f"/api/v1/campaigns/{camp['id']}/start", who="supervisor")
    assert r.status_code == 200, r.text
    return camp


async def _exactly_once(h: Harness, camp: dict, n: int) -> dict:
    got = (await h.get(f"/api/v1/campaigns/{camp['id']}", who="supervisor")).json()
    sent = h.kolmeya.state.sent
    assert len(sent) == n, f"{len(sent)} accepted for {n} recipients"
    assert Counter(m.phone for m in sent).most_common(1)[0][1] == 1, "a recipient got the campaign twice"
    assert got["status"] == "done" and got["stats"]["sent"] == n and got["stats"]["queued"] == 0
    async with h.rt.read() as conn:
        states = Counter(r[0] for r in await conn.execute(select(campaign_recipients.c.state)))
    assert states == {"sent": n}
    return dict(got)


async def test_crash_after_the_provider_accepted_a_batch_sends_each_recipient_once(
    harness: Harness, monkeypatch: pytest.MonkeyPatch,
) -> None:
    h = harness
    clock = travel(h)
    camp = await _campaign(h, 45, rate_per_minute=120)  # batches of 20
    await run_until(h, clock, clock.now)  # first batch: 20 sent
    assert len(h.kolmeya.state.sent) == 20
    clock.advance(10)
    job = await _tick_job(h)

    async def killed(*args: object, **kwargs: object) -> None:
        raise _Killed

    with monkeypatch.context() as m:  # the process dies after Kolmeya took batch 2, before we wrote it down
        m.setattr(campaign_sends, "record", killed)
        with pytest.raises(_Killed):
            await campaign_tick(h.rt, job)
    assert len(h.kolmeya.state.sent) == 40
    await _expire_leases(h)
    clock.advance(campaign_sends.DOUBT_AFTER.total_seconds() + 1)  # the lost batch is now "in doubt"
    await run_until(h, clock, clock.now + timedelta(minutes=5))
    got = await _exactly_once(h, camp, 45)
    assert Decimal(got["stats"]["cost"]) == Decimal("0.08") * 45
    lookups = h.kolmeya.state.calls_to("/sms/status/request")
    assert [c.body for c in lookups] == [{"reference": f"atende-c{camp['id']}-b2"}]


async def test_crash_before_the_provider_call_sends_the_batch_later_once(
    harness: Harness, monkeypatch: pytest.MonkeyPatch,
) -> None:
    h = harness
    clock = travel(h)
    camp = await _campaign(h, 25, rate_per_minute=120)
    job = await _tick_job(h)

    async def killed(*args: object, **kwargs: object) -> None:
        raise _Killed

    with monkeypatch.context() as m:  # claimed (sending), then dead before /sms/store
        m.setattr(KolmeyaProvider, "send_many", killed)
        with pytest.raises(_Killed):
            await campaign_tick(h.rt, job)
    assert h.kolmeya.state.sent == []
    await _expire_leases(h)
    await run_until(h, clock, clock.now + timedelta(minutes=1))
    # The other 5 went out; the 20 of the dead batch are not touched before they are in doubt.
    assert len(h.kolmeya.state.sent) == 5
    clock.advance(campaign_sends.DOUBT_AFTER.total_seconds())
    await run_until(h, clock, clock.now + timedelta(minutes=5))
    await _exactly_once(h, camp, 25)


async def test_a_timeout_is_asked_about_not_resent(harness: Harness) -> None:
    h = harness
    clock = travel(h)
    camp = await _campaign(h, 10, rate_per_minute=600)
    h.kolmeya.fail_next(504, times=1)  # Kolmeya may have taken it: we cannot tell
    await run_until(h, clock, clock.now)
    assert h.kolmeya.state.sent == []
    await run_until(h, clock, clock.now + timedelta(minutes=2))
    await _exactly_once(h, camp, 10)
    assert len(h.kolmeya.state.calls_to("/sms/status/request")) == 1  # asked once: 404, then sent


async def test_a_refusal_for_every_recipient_pauses_the_campaign_with_the_reason(harness: Harness) -> None:
    h = harness
    clock = travel(h)
    camp = await _campaign(h, 10)
    h.kolmeya.fail_next(422, {"errors": ["Saldo insuficiente."]})
    await run_until(h, clock, clock.now)
    got = (await h.get(f"/api/v1/campaigns/{camp['id']}", who="supervisor")).json()
    assert got["status"] == "paused" and "Saldo insuficiente" in got["error"]
    assert got["stats"]["queued"] == 10 and got["stats"]["failed"] == 0
    r = await h.post(f"/api/v1/campaigns/{camp['id']}/resume", who="supervisor")
    assert r.status_code == 200 and r.json()["error"] is None
    await run_until(h, clock, clock.now + timedelta(minutes=1))
    await _exactly_once(h, camp, 10)


async def test_window_stops_at_its_end_and_resumes_at_the_next_opening(harness: Harness) -> None:
    h = harness
    saturday_evening = next_local(5, 19, 58)  # Saturday 19:58 in São Paulo
    clock = travel(h, saturday_evening)
    window = {"timezone": "America/Sao_Paulo", "start": "08:00", "end": "20:00"}  # no Sundays by default
    camp = await _campaign(h, 60, rate_per_minute=12, window=window)  # 2 per 10 s: 24 fit before 20:00
    await run_until(h, clock, saturday_evening + timedelta(minutes=5))
    got = (await h.get(f"/api/v1/campaigns/{camp['id']}", who="supervisor")).json()
    sent = h.kolmeya.state.sent
    assert len(sent) == 24 and got["status"] == "running" and got["stats"]["queued"] == 36
    monday = saturday_evening.astimezone(SAO_PAULO).replace(hour=8, minute=0) + timedelta(days=2)
    assert got["waiting_until"] == monday.astimezone(UTC).isoformat().replace("+00:00", "Z")
    await run_until(h, clock, monday + timedelta(hours=1))
    sent = h.kolmeya.state.sent
    local = [m.created_at.astimezone(SAO_PAULO) for m in sent]
    assert all(t.weekday() != 6 for t in local), "nothing on Sunday"
    assert all(8 <= t.hour < 20 for t in local), "nothing outside 08:00-20:00"
    assert sum(t.weekday() == 0 for t in local) == 36
    assert min(t for t in local if t.weekday() == 0) == monday.astimezone(SAO_PAULO)
    await _exactly_once(h, camp, 60)


async def test_scheduled_campaign_waits_for_its_time(harness: Harness) -> None:
    h = harness
    clock = travel(h)
    at = clock.now + timedelta(hours=3)
    camp = await _campaign(h, 5, schedule_at=at.isoformat())
    got = (await h.get(f"/api/v1/campaigns/{camp['id']}", who="supervisor")).json()
    assert got["status"] == "scheduled"
    await run_until(h, clock, at - timedelta(seconds=1))
    assert h.kolmeya.state.sent == []
    await run_until(h, clock, at + timedelta(minutes=1))
    assert {m.created_at for m in h.kolmeya.state.sent} == {at}
    await _exactly_once(h, camp, 5)


async def test_pause_resume_and_cancel(harness: Harness) -> None:
    h = harness
    clock = travel(h)
    camp = await _campaign(h, 40, rate_per_minute=60)  # 10 every 10 s
    await run_until(h, clock, clock.now)
    assert len(h.kolmeya.state.sent) == 10
    r = await h.post(f"/api/v1/campaigns/{camp['id']}/pause", who="supervisor")
    assert r.status_code == 200 and r.json()["status"] == "paused"
    await run_until(h, clock, clock.now + timedelta(minutes=10))
    assert len(h.kolmeya.state.sent) == 10
    r = await h.post(f"/api/v1/campaigns/{camp['id']}/resume", who="supervisor")
    assert r.json()["status"] == "running"
    await run_until(h, clock, clock.now)  # resume wakes the pacer at once, not at its next poll
    assert len(h.kolmeya.state.sent) == 20
    r = await h.post(f"/api/v1/campaigns/{camp['id']}/cancel", who="supervisor")
    got = r.json()
    assert got["status"] == "cancelled" and got["stats"]["queued"] == 0 and got["stats"]["skipped"] == 20
    await run_until(h, clock, clock.now + timedelta(minutes=10))
    assert len(h.kolmeya.state.sent) == 20
    assert (await h.post(f"/api/v1/campaigns/{camp['id']}/resume", who="supervisor")).status_code == 409


async def test_restart_recreates_the_pacer_jobs(harness: Harness) -> None:
    h = harness
    clock = travel(h)
    camp = await _campaign(h, 5)
    async with h.rt.write() as tx:  # the jobs table lost the tick (say, an operator cleaned it)
        await tx.conn.execute(jobs.delete().where(jobs.c.kind == "campaign_tick"))
    await ensure_periodic(h.rt)
    await run_until(h, clock, clock.now + timedelta(minutes=1))
    await _exactly_once(h, camp, 5)


async def test_opt_out_after_the_list_was_screened_is_never_sent(harness: Harness) -> None:
    h = harness
    clock = travel(h)
    numbers = phones(3)
    c = await h.kolmeya_connector()
    camp = await create_campaign(h, c["id"], csv_of(numbers), text="Oferta")
    await _opt_out(h, "+55" + numbers[1])
    await h.post(f"/api/v1/campaigns/{camp['id']}/start", who="supervisor")
    await run_until(h, clock, clock.now + timedelta(minutes=1))
    assert sorted(m.phone for m in h.kolmeya.state.sent) == [int(numbers[0]), int(numbers[2])]
    got = (await h.get(f"/api/v1/campaigns/{camp['id']}", who="supervisor")).json()
    assert got["status"] == "done" and got["stats"]["sent"] == 2 and got["stats"]["skipped"] == 1


async def test_statuses_replies_and_opt_outs_are_counted(harness: Harness) -> None:
    h = harness
    clock = travel(h)
    numbers = phones(4)
    c = await h.kolmeya_connector()
    camp = await create_campaign(h, c["id"], csv_of(numbers, nome=["Ana", "Bia", "Caio", "Duda"]),
                                 text="Oi {{nome}}, sua fatura vence amanhã. Responda SAIR para sair.")
    await h.post(f"/api/v1/campaigns/{camp['id']}/start", who="supervisor")
    await run_until(h, clock, clock.now + timedelta(minutes=1))
    sent = {m.phone: m for m in h.kolmeya.state.sent}
    ana, bia, caio, duda = (sent[int(n)] for n in numbers)
    for m in (ana, bia, caio):
        assert (await h.kolmeya.deliver_status(m.id, 3)).status_code == 200
    await h.kolmeya.deliver_status(duda.id, 5)  # rejected by the carrier after acceptance
    await h.kolmeya.deliver_status(ana.id, 2)  # a late "enviado" never downgrades
    clock.advance(60)
    await h.kolmeya.send_reply(ana.id, "Já paguei")
    await h.kolmeya.send_reply(ana.id, "Obrigada")  # the same customer again: one reply counted
    await h.kolmeya.send_reply(bia.id, "SAIR")
    await h.drain()
    got = (await h.get(f"/api/v1/campaigns/{camp['id']}", who="supervisor")).json()
    assert got["stats"] == {**got["stats"], "sent": 4, "delivered": 3, "failed": 1, "replied": 2, "opted_out": 1}

    # Ana's reply opened her conversation in the queue, the campaign's text shown first.
    convs = (await h.get("/api/v1/conversations?channel=sms")).json()["items"]
    by_address = {cv["contact"]["address"]: cv for cv in convs}
    conv = by_address["+55" + numbers[0]]
    assert conv["status"] == "new" and conv["unread"] == 2
    thread = (await h.get(f"/api/v1/conversations/{conv['id']}/messages")).json()["items"]
    assert [(m["direction"], m["text"]) for m in thread] == [
        ("out", "Oi Ana, sua fatura vence amanhã. Responda SAIR para sair."), ("in", "Já paguei"), ("in", "Obrigada")]
    assert thread[0]["attributes"]["campaign_id"] == camp["id"] and thread[0]["status"] == "delivered"
    assert thread[1]["reply_to_id"] == thread[0]["id"]
    assert "+55" + numbers[2] not in by_address  # no reply, no conversation

    # Bia's SAIR works as today: opted out, confirmation, Kolmeya's blacklist; later campaigns skip her.
    assert int(numbers[1]) in h.kolmeya.state.blacklist
    bia_conv = by_address["+55" + numbers[1]]
    contact = (await h.get(f"/api/v1/contacts/{bia_conv['contact']['id']}")).json()
    assert contact["sms_opted_out"] is True
    # The consent ledger proves which campaign she left from (source "campaign", with its id).
    ledger = (await h.get(f"/api/v1/contacts/{bia_conv['contact']['id']}/consents", who="admin")).json()["items"]
    assert [(e["channel"], e["opted_out"], e["source"], e["detail"]["campaign_id"]) for e in ledger] == [
        ("sms", True, "campaign", camp["id"])]
    again = await create_campaign(h, c["id"], csv_of(numbers), text="Nova oferta")
    assert again["estimate"]["excluded"]["opted_out"] == 1 and again["estimate"]["recipients"] == 3


async def test_a_reply_without_a_link_finds_the_campaign_by_number(harness: Harness) -> None:
    h = harness
    clock = travel(h)
    numbers = phones(1)
    c = await h.kolmeya_connector(poll_interval_s=60)
    camp = await create_campaign(h, c["id"], csv_of(numbers), text="Confirma a visita?")
    await h.post(f"/api/v1/campaigns/{camp['id']}/start", who="supervisor")
    await run_until(h, clock, clock.now + timedelta(seconds=5))
    # A reply Kolmeya only shows to polling, without message id or reference: linked by the number.
    h.kolmeya.state.replies.append(FakeReply(id=77, phone=int(numbers[0]), text="SIM", received_at=clock.now))
    assert (await h.post(f"/api/v1/connectors/{c['id']}/poll")).status_code == 202
    await h.drain()
    got = (await h.get(f"/api/v1/campaigns/{camp['id']}", who="supervisor")).json()
    assert got["stats"]["replied"] == 1
    conv = (await h.get("/api/v1/conversations?channel=sms")).json()["items"][0]
    thread = (await h.get(f"/api/v1/conversations/{conv['id']}/messages")).json()["items"]
    assert [m["text"] for m in thread] == ["Confirma a visita?", "SIM"]


async def test_a_forged_reference_never_links_another_number(harness: Harness) -> None:
    h = harness
    clock = travel(h)
    numbers = phones(2)
    c = await h.kolmeya_connector()
    camp = await create_campaign(h, c["id"], csv_of(numbers), text="Oferta")
    await h.post(f"/api/v1/campaigns/{camp['id']}/start", who="supervisor")
    await run_until(h, clock, clock.now + timedelta(seconds=5))
    victim = next(m for m in h.kolmeya.state.sent if m.phone == int(numbers[0]))
    body = {"reply": {"id": "x1", "reply": "oi", "received_at": "16/11/2025 14:30:00",
                      "message": {"id": victim.id, "reference": victim.reference, "phone": "5511977776666"}}}
    r = await h.client.post(c["webhook_url"].replace("http://atende.test", ""), json=body)
    assert r.status_code == 200
    got = (await h.get(f"/api/v1/campaigns/{camp['id']}", who="supervisor")).json()
    assert got["stats"]["replied"] == 0
    convs = (await h.get("/api/v1/conversations")).json()["items"]
    assert [cv["contact"]["address"] for cv in convs] == ["+5511977776666"]
    thread = (await h.get(f"/api/v1/conversations/{convs[0]['id']}/messages")).json()["items"]
    assert [m["text"] for m in thread] == ["oi"]


async def test_a_status_naming_a_recipient_by_a_guessed_reference_is_ignored(harness: Harness) -> None:
    """Recipient references are signed with the campaign's key: ids alone (or a wrong tag) name nobody."""
    h = harness
    clock = travel(h)
    numbers = phones(2)
    c = await h.kolmeya_connector()
    camp = await create_campaign(h, c["id"], csv_of(numbers), text="Oferta")
    await h.post(f"/api/v1/campaigns/{camp['id']}/start", who="supervisor")
    await run_until(h, clock, clock.now + timedelta(seconds=5))
    victim = next(m for m in h.kolmeya.state.sent if m.phone == int(numbers[0]))
    recipient_id = int(victim.reference.split(".")[0][2:])
    hook = c["webhook_url"].replace("http://atende.test", "")
    for forged in (f"cr{recipient_id}", f"cr{recipient_id}.AAAAAAAAAAAAAAAA", f"cr{recipient_id + 1}.{'B' * 16}"):
        body = {"id": "req-x", "reference": None,
                "messages": [{"id": "not-ours", "reference": forged, "status_code": 5, "status": "rejeitado"}]}
        assert (await h.client.post(hook, json=body)).status_code == 200
    await h.drain()
    got = (await h.get(f"/api/v1/campaigns/{camp['id']}", who="supervisor")).json()
    assert got["stats"]["failed"] == 0 and got["stats"]["sent"] == 2

    # The reference we handed out does name its recipient.
    body = {"id": "req-x", "reference": None,
            "messages": [{"id": "not-ours", "reference": victim.reference, "status_code": 3, "status": "entregue"}]}
    assert (await h.client.post(hook, json=body)).status_code == 200
    await h.drain()
    got = (await h.get(f"/api/v1/campaigns/{camp['id']}", who="supervisor")).json()
    assert got["stats"]["delivered"] == 1


async def test_the_exclusions_file_never_carries_a_formula(harness: Harness) -> None:
    h = harness
    travel(h)
    c = await h.kolmeya_connector()
    csv_text = 'nome;telefone\nA;=HYPERLINK("http://x.test";"clique")\nB;@SUM(1+1)\nC;+1 650 253 0000\nD;-2+3\n'
    camp = await create_campaign(h, c["id"], csv_text, text="Oi {{nome}}")
    assert camp["estimate"]["excluded"]["invalid"] == 3 and camp["estimate"]["excluded"]["blocked"] == 1
    r = await h.get(f"/api/v1/campaigns/{camp['id']}/exclusions.csv", who="supervisor")
    cells = [line.split(";")[1] for line in r.text.lstrip("\ufeff").strip().split("\r\n")[1:]]
    assert cells[0].startswith('"\'=HYPERLINK') and cells[1] == "'@SUM(1+1)" and cells[3] == "'-2+3"
    assert cells[2] == "+1 650 253 0000"  # a plain number stays as it was typed


async def test_a_supervisor_runs_campaigns_only_on_connectors_their_teams_may_use(harness: Harness) -> None:
    """auth.policy.require_connector: another team's connector is out of a supervisor's reach (create,
    read, list, moves); admins reach every campaign."""
    h = harness
    travel(h)
    ours = await h.kolmeya_connector()
    theirs = await h.kolmeya_connector()
    await h.post("/api/v1/teams", {"name": "Nossa", "member_ids": [h.user_ids["supervisor"]],
                                   "connector_ids": [ours["id"]]})
    await h.post("/api/v1/teams", {"name": "Outra", "member_ids": [], "connector_ids": [theirs["id"]]})
    r = await h.post("/api/v1/campaigns", {"name": "X", "connector_id": theirs["id"], "text": "Oi",
                                           "csv": csv_of(phones(1))}, who="supervisor")
    assert r.status_code == 403 and "outra equipe" in r.json()["detail"]
    mine = await create_campaign(h, ours["id"], csv_of(phones(1)), text="Oi")
    other = (await h.post("/api/v1/campaigns", {"name": "Y", "connector_id": theirs["id"], "text": "Oi",
                                                "csv": csv_of(phones(1))}, who="admin")).json()
    listed = [c["id"] for c in (await h.get("/api/v1/campaigns", who="supervisor")).json()["items"]]
    assert listed == [mine["id"]]
    assert (await h.get(f"/api/v1/campaigns/{other['id']}", who="supervisor")).status_code == 404
    assert (await h.post(f"/api/v1/campaigns/{other['id']}/start", who="supervisor")).status_code == 404
    assert (await h.get(f"/api/v1/campaigns/{other['id']}/exclusions.csv", who="supervisor")).status_code == 404
    assert {c["id"] for c in (await h.get("/api/v1/campaigns")).json()["items"]} == {mine["id"], other["id"]}
