"""How channel fidelity shows in the pages (issue 13 §1): deleted and edited messages, orders,
groups, number changes and connector alerts."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from atende.channels.whatsapp_cloud.fixtures import fixture_bytes, load_fixture
from tests.support.harness import Harness
from tests.support.whatsapp import message_by_wamid, post_webhook, settle
from tests.web.pagekit import PageClient

Pages = Callable[[str], Awaitable[PageClient]]
TEXT_WAMID = "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABIYFjNFQjBDMEI3RjZBMzE0QjM5NkFFAA=="
ORIGINAL = "Olá! Vocês têm esse tênis em azul, tamanho 38? 😊"


def bubble(html: str, message_id: int) -> str:
    start = html.index(f'id="msg-{message_id}"')
    ends = [i for i in (html.find('<div class="msg ', start + 10), html.find('<div class="sysline', start + 10))
            if i > 0]
    return html[start:min(ends) if ends else len(html)]


async def _post(h: Harness, c: dict[str, Any], body: bytes | dict[str, Any]) -> None:
    r = await post_webhook(h, c, body)
    assert r.status_code == 200, r.text


async def test_agents_see_the_placeholder_supervisors_the_content(sqlite_harness: Harness,
                                                                  sqlite_pages: Pages) -> None:
    h = sqlite_harness
    c = await h.whatsapp_connector()
    await _post(h, c, fixture_bytes("text"))
    await _post(h, c, fixture_bytes("revoke"))
    msg = await message_by_wamid(h, TEXT_WAMID)
    ana, supervisor = await sqlite_pages("ana"), await sqlite_pages("supervisor")

    seen = bubble((await ana.get(f"/conversations/{msg['conversation_id']}")).text, msg["id"])
    assert "mensagem apagada pelo cliente" in seen and ORIGINAL not in seen
    again = (await ana.get(f"/messages/{msg['id']}/bubble")).text
    assert "mensagem apagada pelo cliente" in again and ORIGINAL not in again
    contact_id = (await h.get(f"/api/v1/conversations/{msg['conversation_id']}")).json()["contact"]["id"]
    timeline = (await ana.get(f"/contacts/{contact_id}")).text
    assert ORIGINAL not in timeline

    audited = bubble((await supervisor.get(f"/conversations/{msg['conversation_id']}")).text, msg["id"])
    assert ORIGINAL in audited and "apagada pelo cliente" in audited and "visível só para supervisão" in audited


async def test_edited_message_shows_editada_with_its_versions(sqlite_harness: Harness, sqlite_pages: Pages) -> None:
    h = sqlite_harness
    c = await h.whatsapp_connector()
    await _post(h, c, fixture_bytes("text"))
    await _post(h, c, fixture_bytes("edit_text"))
    msg = await message_by_wamid(h, TEXT_WAMID)
    ana = await sqlite_pages("ana")
    html = bubble((await ana.get(f"/conversations/{msg['conversation_id']}")).text, msg["id"])
    assert "Na verdade quero o tamanho 39, por favor" in html
    assert 'data-testid="edited"' in html and "editada" in html and ORIGINAL in html  # the versions, folded


async def test_order_group_and_number_change_render(sqlite_harness: Harness, sqlite_pages: Pages) -> None:
    h = sqlite_harness
    c = await h.whatsapp_connector()
    await _post(h, c, fixture_bytes("order"))
    await _post(h, c, fixture_bytes("group_text"))
    await _post(h, c, fixture_bytes("system_user_changed_number"))
    ana = await sqlite_pages("ana")
    order = await message_by_wamid(h, load_fixture("order")["entry"][0]["changes"][0]["value"]["messages"][0]["id"])
    html = (await ana.get(f"/conversations/{order['conversation_id']}")).text
    table = bubble(html, order["id"])
    assert 'data-testid="order"' in table and "TENIS-AZUL-38" in table and "R$ 349,80" in table
    assert "O cliente trocou de número do WhatsApp: agora +5511976543210" in html

    group = await message_by_wamid(h, load_fixture("group_text")["entry"][0]["changes"][0]["value"]
                                   ["messages"][0]["id"])
    group_html = bubble((await ana.get(f"/conversations/{group['conversation_id']}")).text, group["id"])
    assert 'data-testid="participant"' in group_html and "Maria Souza" in group_html
    assert "Pessoal, a loja abre sábado?" in group_html

    english = await ana.post("/preferences/language", {"language": "en", "next": "/board"})
    assert english.status_code in (200, 204, 303)
    html = (await ana.get(f"/conversations/{order['conversation_id']}")).text
    assert "The customer changed their WhatsApp number: now +5511976543210" in html


async def test_settings_show_the_connector_alerts(sqlite_harness: Harness, sqlite_pages: Pages) -> None:
    h = sqlite_harness
    c = await h.whatsapp_connector()
    payload = load_fixture("account_update_restriction")
    payload["entry"][0]["time"] = int(time.time())
    await _post(h, c, payload)
    await settle(h)
    supervisor = await sqlite_pages("supervisor")
    listing = (await supervisor.get("/settings/connectors")).text
    assert "⚠ 1" in listing and "alert-count" in listing
    page = (await supervisor.get(f"/settings/connectors/{c['id']}")).text
    assert 'data-testid="connector-alerts"' in page and "Conta restringida pela Meta" in page
    assert "sev-critical" in page


async def test_instagram_and_messenger_on_the_board_with_badges_and_filters(sqlite_harness: Harness,
                                                                           sqlite_pages: Pages) -> None:
    from atende.channels.meta.signature import sign
    from atende.testing.fake_graph import encode
    from tests.support.harness import APP_HOST, INSTAGRAM_ACCOUNT, MESSENGER_PAGE

    h = sqlite_harness
    ig, ms = await h.instagram_connector(), await h.messenger_connector()
    h.graph.messaging.add_user("1234567890123456", "Marina")
    h.graph.messaging.add_user("6784912345678901", "Joana")
    for connector, payload in ((ig, h.graph.messaging.text(INSTAGRAM_ACCOUNT, "1234567890123456", "Oi do Insta")),
                               (ms, h.graph.messaging.text(MESSENGER_PAGE, "6784912345678901", "Oi do Messenger"))):
        raw = encode(payload)
        r = await h.client.post(str(connector["webhook_url"]).removeprefix(f"http://{APP_HOST}"), content=raw,
                                headers={"X-Hub-Signature-256": sign(raw, h.graph.app_secret)})
        assert r.status_code == 200, r.text
    await settle(h)
    ana = await sqlite_pages("ana")
    board = (await ana.get("/board")).text
    assert "📸 Instagram" in board and "💬 Messenger" in board
    assert 'href="/board?f=instagram"' in board and 'href="/board?f=messenger"' in board
    only_ig = (await ana.get("/board?f=instagram")).text
    assert "Oi do Insta" in only_ig and "Oi do Messenger" not in only_ig
    assert "Contact Center · Instagram" in only_ig
    inbox = (await ana.get("/inbox?f=messenger")).text
    assert "Oi do Messenger" in inbox and "Oi do Insta" not in inbox and "badge ch-messenger" in inbox


async def test_an_admin_creates_an_instagram_connector_in_the_settings(sqlite_harness: Harness,
                                                                       sqlite_pages: Pages) -> None:
    admin = await sqlite_pages("admin")
    form = await admin.get("/settings/connectors")
    assert 'name="cfg_ig_user_id"' in form.text and 'name="cfg_page_access_token"' in form.text
    r = await admin.post("/settings/connectors", {
        "name": "Instagram da loja", "provider": "instagram", "cfg_ig_user_id": "17841400123456789",
        "cfg_page_access_token": "segredo-da-pagina", "cfg_app_secret": "app-secret", "cfg_verify_token": "vt",
        "cfg_human_agent_tag": "true", "cfg_base_url": "http://graph.test"}, htmx=False)
    assert r.status_code == 303, r.text
    listed = (await sqlite_harness.get("/api/v1/connectors")).json()["items"]
    (created,) = [c for c in listed if c["provider"] == "instagram"]
    assert created["channel"] == "instagram"
    page = (await admin.get(f"/settings/connectors/{created['id']}")).text
    assert "segredo-da-pagina" not in page and "app-secret" not in page
