"""Campaign pages: upload a CSV, see the estimate and the exclusions link, start/pause/cancel,
the live card; agents are kept out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from tests.support.campaigns import run_until, travel
from tests.support.harness import Harness
from tests.teams.kit import make_team
from tests.web.pagekit import PageClient

Pages = Callable[[str], Awaitable[PageClient]]

CSV = ("Nome;Celular;Valor\r\nAna;(48) 99191-0234;R$ 10,00\r\nBruno;11988887777;R$ 20,00\r\n"
       "Ana de novo;48991910234;R$ 1,00\r\nFixo;(48) 3222-1234;R$ 2,00\r\n")


async def _upload(client: PageClient, connector_id: int, csv_bytes: bytes, **fields: str) -> object:
    data = {"name": "Cobrança dezembro", "connector_id": str(connector_id),
            "text": "Olá {{nome}}, sua fatura de {{valor}} vence amanhã.", "rate_per_minute": "120", **fields}
    return await client.http.post("/campaigns/new", data=data, files={"file": ("lista.csv", csv_bytes, "text/csv")},
                                  headers={"X-CSRF-Token": client.csrf})


async def test_upload_estimate_start_and_live_card(harness: Harness, pages: Pages) -> None:
    h = harness
    clock = travel(h)
    c = await h.kolmeya_connector(poll_interval_s=0)
    sup = await pages("supervisor")
    await h.post("/api/v1/message-templates", {"name": "Cobrança", "text": "Oi {{nome}}"}, who="supervisor")
    page = await sup.get("/campaigns/new")
    assert page.status_code == 200 and 'x-data="campaignForm"' in page.text and "SMS Kolmeya" in page.text
    assert 'data-testid="campaign-saved-template"' in page.text and ">Cobrança</option>" in page.text
    assert 'href="/campaigns"' in (await sup.get("/board")).text  # in the main navigation
    r = await _upload(sup, c["id"], CSV.encode("cp1252"))  # Excel's Windows-1252: "Olá" still arrives
    assert r.status_code == 303, r.text  # type: ignore[attr-defined]
    location = r.headers["location"]  # type: ignore[attr-defined]
    detail = (await sup.get(location)).text
    assert 'data-testid="est-recipients">2<' in detail
    assert 'data-testid="excluded-duplicate">1<' in detail and 'data-testid="excluded-blocked">1<' in detail
    assert "exclusions.csv" in detail and 'data-testid="campaign-start"' in detail
    campaign_id = int(location.rsplit("/", 1)[1])
    assert (await h.get(f"/api/v1/campaigns/{campaign_id}", who="admin")).json()["text"].startswith("Olá {{nome}}")
    r = await sup.post(f"/campaigns/{campaign_id}/start", htmx=False)
    assert r.status_code == 303
    await run_until(h, clock, clock.now + timedelta(minutes=1))
    live = (await sup.get(f"/campaigns/{campaign_id}/live")).text
    assert 'data-testid="campaign-status">Concluída<' in live and 'data-stat="sent">2<' in live
    listing = (await sup.get("/campaigns")).text
    assert "Cobrança dezembro" in listing and 'data-stat="sent">2<' in listing
    assert {m.text for m in h.kolmeya.state.sent} == {"Olá Ana, sua fatura de R$ 10,00 vence amanhã.",
                                                     "Olá Bruno, sua fatura de R$ 20,00 vence amanhã."}


async def test_form_errors_keep_what_was_typed(harness: Harness, pages: Pages) -> None:
    h = harness
    c = await h.kolmeya_connector()
    sup = await pages("supervisor")
    r = await _upload(sup, c["id"], b"nome;valor\nAna;1\n")
    assert r.status_code == 422 and "telefone" in r.text and "Cobrança dezembro" in r.text  # type: ignore[attr-defined]
    r = await _upload(sup, c["id"], CSV.encode(), use_window="1", window_start="20:00", window_end="08:00")
    assert r.status_code == 422 and "janela" in r.text  # type: ignore[attr-defined]
    r = await sup.http.post("/campaigns/new", data={"name": "x", "connector_id": str(c["id"]), "text": "oi"},
                            headers={"X-CSRF-Token": sup.csrf})
    assert r.status_code == 422 and "CSV" in r.text
    listed = (await h.get("/api/v1/campaigns", who="admin")).json()["items"]
    assert listed == []


async def test_pause_resume_cancel_from_the_page_and_agents_are_kept_out(harness: Harness, pages: Pages) -> None:
    h = harness
    travel(h)
    c = await h.kolmeya_connector(poll_interval_s=0)
    sup = await pages("supervisor")
    r = await _upload(sup, c["id"], CSV.encode(), schedule_at="2099-01-01T09:00")
    campaign_id = int(r.headers["location"].rsplit("/", 1)[1])  # type: ignore[attr-defined]
    await sup.post(f"/campaigns/{campaign_id}/start")
    assert (await h.get(f"/api/v1/campaigns/{campaign_id}")).json()["status"] == "scheduled"
    await sup.post(f"/campaigns/{campaign_id}/pause")
    assert (await h.get(f"/api/v1/campaigns/{campaign_id}")).json()["status"] == "paused"
    live = (await sup.get(f"/campaigns/{campaign_id}/live")).text
    assert 'data-testid="campaign-resume"' in live and 'data-testid="campaign-cancel"' in live
    r = await sup.post(f"/campaigns/{campaign_id}/start")
    assert r.status_code == 409
    await sup.post(f"/campaigns/{campaign_id}/cancel")
    assert (await h.get(f"/api/v1/campaigns/{campaign_id}")).json()["status"] == "cancelled"
    ana = await pages("ana")
    for path in ("/campaigns", "/campaigns/new", f"/campaigns/{campaign_id}", f"/campaigns/{campaign_id}/live"):
        assert (await ana.get(path)).status_code == 403, path
    assert (await ana.post(f"/campaigns/{campaign_id}/resume")).status_code == 403
    assert 'href="/campaigns"' not in (await ana.get("/board")).text


async def test_the_form_offers_only_connectors_the_supervisor_may_send_on(harness: Harness, pages: Pages) -> None:
    h = harness
    free = await h.kolmeya_connector()
    theirs = await h.whatsapp_connector()
    await make_team(h, "Vendas", ["bruno"], [theirs])  # another team's connector
    page = (await (await pages("supervisor")).get("/campaigns/new")).text
    assert f'value="{free["id"]}"' in page and f'value="{theirs["id"]}"' not in page
    assert f'value="{theirs["id"]}"' in (await (await pages("admin")).get("/campaigns/new")).text
