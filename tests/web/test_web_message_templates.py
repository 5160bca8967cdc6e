"""Pages of message templates with variables: settings (with the live preview) and the composer."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Awaitable, Callable

from tests.support.harness import Harness
from tests.web.pagekit import PageClient

Pages = Callable[[str], Awaitable[PageClient]]


async def test_settings_page_and_composer_offer_the_templates(harness: Harness, pages: Pages) -> None:
    h = harness
    c = await h.kolmeya_connector()
    sup = await pages("supervisor")
    page = await sup.get("/settings/message-templates")
    assert page.status_code == 200 and "Modelos com variáveis" in page.text and "templatePreview" in page.text
    r = await sup.post("/settings/message-templates", {"name": "Lembrete", "text": "Oi {{nome}}, vence {{vencimento}}",
                                                      "connector_id": str(c["id"])})
    assert r.status_code == 204 and r.headers["HX-Redirect"] == "/settings/message-templates"
    r = await sup.post("/settings/message-templates", {"name": "Lembrete", "text": "outro", "connector_id": ""})
    assert r.status_code == 409 and "já existe" in r.text
    ana = await pages("ana")
    assert (await ana.get("/settings/message-templates")).status_code == 403
    sent = await h.post("/api/v1/messages", {"connector_id": c["id"], "to": "+5548991910234", "text": "Oi"}, who="ana")
    conv_id = sent.json()["conversation_id"]
    body = (await ana.get(f"/conversations/{conv_id}")).text
    assert 'data-testid="message-template"' in body and ">Lembrete</option>" in body
    cfg = json.loads(html.unescape(re.search(r'x-data="composer\(([^"]*)\)"', body).group(1)))  # type: ignore[union-attr]
    assert cfg["messageTemplates"][0]["text"] == "Oi {{nome}}, vence {{vencimento}}"
    assert cfg["values"]["agente"] == "Ana" and cfg["values"]["telefone"] == "(48) 99191-0234"
