"""The fake Odoo wired into a harness: host odoo.test, an admin with an API key, helpers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from atende.testing.fake_odoo import FakeOdoo, create_fake_odoo
from tests.support.harness import Harness

ODOO_HOST = "odoo.test"
ODOO_URL = f"http://{ODOO_HOST}"
ODOO_DB = "empresa"
ODOO_LOGIN = "integracao@empresa.com.br"


@dataclass
class OdooSide:
    fake: FakeOdoo
    uid: int
    api_key: str
    password: str = "senha-do-usuario"

    def settings(self, **overrides: Any) -> dict[str, Any]:
        return {"url": ODOO_URL, "db": ODOO_DB, "login": ODOO_LOGIN, "api_key": self.api_key,
                "link_partners": True, "post_transcripts": True, "create_partners": False, **overrides}

    def partner(self, name: str, **values: Any) -> int:
        return self.fake.create_record("res.partner", {"name": name, "company_id": 1, **values})


def attach_odoo(h: Harness, fake: FakeOdoo | None = None) -> OdooSide:
    fake = fake or create_fake_odoo([ODOO_DB])
    fake.databases.add(ODOO_DB)
    uid = fake.add_user(ODOO_LOGIN, "Integração atende")
    side = OdooSide(fake=fake, uid=uid, api_key=fake.new_api_key(uid))
    fake.set_password(uid, side.password)
    h.router.add(ODOO_HOST, fake.app)
    return side


async def configure(h: Harness, side: OdooSide, **overrides: Any) -> httpx.Response:
    return await h.client.put("/api/v1/integrations/odoo", json=side.settings(**overrides), headers=h.auth())


async def inbound_sms(h: Harness, connector: dict[str, Any], phone: str, text: str, rid: str) -> dict[str, Any]:
    """A customer writes by SMS (Kolmeya reply webhook); returns the conversation."""
    body = {"reply": {"id": rid, "reply": text, "received_at": "16/11/2025 14:30:00",
                      "message": {"id": f"m-{rid}", "reference": None, "phone": phone, "content": "x"}}}
    r = await h.client.post("/webhooks/" + connector["webhook_url"].rsplit("/", 1)[1], json=body)
    assert r.status_code == 200, r.text
    items = (await h.get("/api/v1/conversations")).json()["items"]
    return next(i for i in items if i["contact"]["address"].endswith(phone[-8:]))
