"""The data-subject export: everything about the contact, nothing about anyone else, audited."""

from __future__ import annotations

import io
import json
import zipfile

from sqlalchemy import select

from atende.db.tables import audit_log
from tests.support.harness import Harness
from tests.support.lgpd import build_world, fold


async def _export(h: Harness, contact_id: int, who: str = "admin", **params: int) -> zipfile.ZipFile:
    r = await h.get(f"/api/v1/contacts/{contact_id}/export", who=who, params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    assert f"dados-titular-{contact_id}.zip" in r.headers["content-disposition"]
    return zipfile.ZipFile(io.BytesIO(r.content))


async def test_export_holds_everything_about_the_contact_and_nothing_else(harness: Harness) -> None:
    h = harness
    world = await build_world(h)
    titular, other = world.titular, world.other
    zf = await _export(h, titular.contact_id)
    names = zf.namelist()
    assert {"dados.json", "dados.html"} <= set(names)
    media = [n for n in names if n.startswith("midia/")]
    assert len(media) == 1 and zf.read(media[0]) == titular.image

    data = json.loads(zf.read("dados.json"))
    assert data["format"] == "atende/lgpd-export/v1"
    assert data["contact"]["id"] == titular.contact_id and data["contact"]["name"] == titular.name
    assert {"kind": "phone", "value": titular.phone} in [
        {"kind": i["kind"], "value": i["value"]} for i in data["contact"]["identities"]]
    channels = sorted(c["channel"] for c in data["conversations"])
    assert channels == ["sms", "whatsapp"]
    texts = [m["text"] or "" for c in data["conversations"] for m in c["messages"]]
    for t in titular.texts:
        assert t in texts, t
    assert any("ligou também" in t for t in texts)  # the internal note about them
    assert any(m.get("media_file") == media[0] for c in data["conversations"] for m in c["messages"])
    kinds = {m["from"] for c in data["conversations"] for m in c["messages"]}
    assert kinds == {"titular", "empresa", "nota interna"}
    assert [(e["channel"], e["opted_out"], e["source"]) for e in data["consents"]] == [("sms", True, "keyword")]
    assert {"contact.opt_out"} <= {a["action"] for a in data["access_log"]}
    assert all(set(a) == {"at", "action", "user_id"} for a in data["access_log"])

    html = zf.read("dados.html").decode()
    assert titular.name in html and titular.texts[0] in html

    # Nothing about anyone else: the other customer, or the employees.
    everything = fold(" ".join(zf.read(n).decode("latin-1") for n in names))
    for needle in other.needles():
        assert fold(needle) not in everything, needle
    assert other.image not in b"".join(zf.read(n) for n in names)
    for person in ("bruno", "@example.com", "supervisor"):
        assert person not in everything, person


async def test_export_is_audited_and_logged_as_a_request(harness: Harness) -> None:
    h = harness
    world = await build_world(h, opt_out=False)
    cid = world.titular.contact_id
    r = await h.post("/api/v1/data-requests", {"contact_id": cid, "kind": "export", "requested_at": "2020-01-10"})
    assert r.status_code == 201, r.text
    req = r.json()
    assert req["status"] == "open" and req["requested_at"].startswith("2020-01-10")
    assert req["due_at"].startswith("2020-01-25") and req["overdue"] is True
    await _export(h, cid, request_id=req["id"])
    done = (await h.get("/api/v1/data-requests", params={"contact_id": cid})).json()["items"]
    assert [(d["id"], d["status"], d["handler_id"], d["on_time"]) for d in done] == [
        (req["id"], "done", h.user_ids["admin"], False)]
    assert done[0]["outcome"]["media"] == 1
    async with h.rt.read() as conn:
        entry = (await conn.execute(select(audit_log).where(audit_log.c.action == "contact.export"))).one()
    assert entry.actor_id == h.user_ids["admin"] and entry.contact_id == cid and entry.detail["request_id"] == req["id"]
    # An export with no request open registers one, done at once.
    await _export(h, cid)
    items = (await h.get("/api/v1/data-requests", params={"contact_id": cid})).json()["items"]
    assert len(items) == 2 and items[0]["status"] == "done" and items[0]["on_time"] is True


async def test_only_admins_and_the_dpo_export(harness: Harness) -> None:
    h = harness
    await h.add_user("dora", "dpo")
    world = await build_world(h, opt_out=False)
    cid = world.titular.contact_id
    for who in ("ana", "supervisor"):
        r = await h.get(f"/api/v1/contacts/{cid}/export", who=who)
        assert r.status_code == 403, who
        assert (await h.get("/api/v1/data-requests", who=who)).status_code == 403
    assert (await h.get("/api/v1/contacts/999999/export")).status_code == 404
    zf = await _export(h, cid, who="dora")
    assert "dados.json" in zf.namelist()
    assert (await h.get("/api/v1/data-requests", who="dora")).status_code == 200
