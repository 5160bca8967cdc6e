"""The login page names only the channels this installation has (it advertised Instagram and Messenger)."""

from __future__ import annotations

import re

from tests.support.harness import Harness
from tests.web.pagekit import PageClient


async def login_blurb(h: Harness, language: str = "pt_BR") -> str:
    client = PageClient(h)
    try:
        client.http.cookies.set("atende_lang", language)
        html = (await client.get("/login")).text
    finally:
        await client.aclose()
    match = re.search(r'data-testid="login-channels">([^<]*)<', html)
    assert match, "login page without its channel line"
    return match.group(1)


async def test_login_page_shows_only_configured_channels(harness: Harness) -> None:
    assert await login_blurb(harness) == "Contact center omnichannel."
    sms = await harness.kolmeya_connector()
    assert await login_blurb(harness) == "Contact center omnichannel: SMS."
    await harness.whatsapp_connector()
    assert await login_blurb(harness) == "Contact center omnichannel: WhatsApp e SMS."
    assert await login_blurb(harness, "en") == "Omnichannel contact center: WhatsApp and SMS."
    r = await harness.client.patch(f"/api/v1/connectors/{sms['id']}", json={"active": False},
                                   headers=harness.auth())
    assert r.status_code == 200, r.text
    blurb = await login_blurb(harness)
    assert blurb == "Contact center omnichannel: WhatsApp." and "Instagram" not in blurb and "Messenger" not in blurb


async def test_api_docs_page_is_self_hosted(harness: Harness) -> None:
    r = await harness.client.get("/docs")
    assert r.status_code == 200
    html = r.text
    assert "/static/vendor/swagger-ui-bundle.js" in html and "/static/vendor/swagger-ui.css" in html
    assert "cdn" not in html.lower() and "https://" not in html
    assert re.search(r"<script(?![^>]*\bsrc=)", html) is None  # no inline script: the CSP stays strict
    for asset in ("/static/vendor/swagger-ui-bundle.js", "/static/vendor/swagger-ui.css", "/static/js/api-docs.js"):
        assert (await harness.client.get(asset)).status_code == 200, asset
    assert (await harness.client.get("/openapi.json")).json()["info"]["title"] == "atende"
