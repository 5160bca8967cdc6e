"""LGPD and the campaigns issue: campaign sends nobody answered, excluded list lines and satisfaction
comments are exported and erased like the rest; campaign lists follow the consent ledger, erased
opted-out numbers included."""

from __future__ import annotations

import io
import json
import zipfile

from sqlalchemy import select

from atende.actions.campaigns import screen_lookups
from atende.db.tables import attendances, campaign_exclusions, campaign_recipients, campaigns
from atende.db.tx import Tx
from tests.support.harness import Harness
from tests.support.lgpd import build_world, scan_database, seed_campaign_traces


async def test_campaign_traces_are_exported_and_erased(harness: Harness) -> None:
    h = harness
    world = await build_world(h, opt_out=False)
    await seed_campaign_traces(h, world)
    titular, other = world.titular, world.other
    first = titular.name.split()[0]

    r = await h.get(f"/api/v1/contacts/{titular.contact_id}/export")
    assert r.status_code == 200, r.text
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        data = json.loads(zf.read("dados.json"))
    assert [(m["campaign"], m["text"]) for m in data["campaign_messages"]] == [
        ("Cobrança de março", f"{first}, sua fatura Cacimbinhazona vence hoje")]
    assert [(s["rating"], s["comment"]) for s in data["satisfaction"]] == [(4, "Gostei, mas Zabumbeirinha demorou")]
    dumped = json.dumps(data, ensure_ascii=False)
    assert all(n not in dumped for n in other.needles()), "nothing about anyone else"

    hits = {t for t, _ in await scan_database(h, titular.needles())}
    assert {"campaign_recipients", "attendances"} <= hits  # the scan sees the campaign traces before...
    async with h.rt.read() as conn:
        before = (await conn.execute(select(campaigns))).one()
    r = await h.post(f"/api/v1/contacts/{titular.contact_id}/erase", {"reason": "pedido do titular"})
    assert r.status_code == 200, r.text
    assert await scan_database(h, titular.needles()) == []  # ...and nothing after

    async with h.rt.read() as conn:
        assert tuple((await conn.execute(select(campaigns))).one()) == tuple(before)  # the report adds up
        rows = list(await conn.execute(select(campaign_recipients).order_by(campaign_recipients.c.row_no)))
        excluded = [r.phone for r in await conn.execute(select(campaign_exclusions))]
        ratings = [(r.csat_rating, r.csat_comment) for r in await conn.execute(
            select(attendances).where(attendances.c.csat_rating.is_not(None)).order_by(attendances.c.id))]
    mine, theirs = rows
    assert (mine.state, mine.segments, mine.text, mine.vars) == ("delivered", 1, None, {})
    assert mine.address_key != titular.phone and mine.sent_at is not None
    assert theirs.address_key == other.phone and theirs.text and theirs.vars == {"nome": other.name}
    assert excluded == [f"({other.national[:2]}) {other.national[2:]}"]
    assert sorted(ratings, key=str) == sorted([(4, None), (4, "Gostei, mas Pirapitingueira demorou")], key=str)


async def test_campaign_lists_follow_the_consent_ledger(harness: Harness) -> None:
    h = harness
    world = await build_world(h)  # the titular wrote SAIR
    titular, other = world.titular, world.other

    async def opted() -> set[str]:
        async with h.rt.read() as conn:
            found, _blocked, _known = await screen_lookups(Tx(conn, identity_key=h.rt.identity_key),
                                                           world.sms["id"], "sms", [titular.phone, other.phone])
        return found

    assert await opted() == {titular.phone}
    r = await h.post(f"/api/v1/contacts/{titular.contact_id}/erase", {"reason": "pedido do titular"})
    assert r.status_code == 200, r.text
    assert await opted() == {titular.phone}  # erased, and still never messaged again
