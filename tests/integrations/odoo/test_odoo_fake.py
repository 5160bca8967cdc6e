"""The fake Odoo speaks Odoo 15's external API: JSON-RPC and XML-RPC shapes, errors, API keys."""

from __future__ import annotations

import base64
import xmlrpc.client
from typing import Any

import httpx
import pytest

from atende.testing.fake_odoo import create_fake_odoo, populate_chatroom


@pytest.fixture
async def odoo() -> Any:
    fake = create_fake_odoo(["odoo"])
    data = populate_chatroom(fake, conversations=12, messages=120)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app), base_url="http://odoo.test")
    yield fake, data, client
    await client.aclose()


async def _rpc(client: httpx.AsyncClient, service: str, method: str, *args: Any) -> dict[str, Any]:
    r = await client.post("/jsonrpc", json={"jsonrpc": "2.0", "method": "call", "id": 7,
                                            "params": {"service": service, "method": method, "args": list(args)}})
    assert r.status_code == 200
    body = r.json()
    assert body["jsonrpc"] == "2.0" and body["id"] == 7
    return dict(body)


async def test_version_and_authentication(odoo: Any) -> None:
    _fake, data, client = odoo
    version = (await _rpc(client, "common", "version"))["result"]
    assert version["server_version"] == "15.0" and version["protocol_version"] == 1
    login = "admin@empresa.com.br"
    assert (await _rpc(client, "common", "authenticate", "odoo", login, data.api_key, {}))["result"] == data.admin_uid
    assert (await _rpc(client, "common", "login", "odoo", login, "senha-admin"))["result"] == data.admin_uid
    assert (await _rpc(client, "common", "authenticate", "odoo", login, "errada", {}))["result"] is False
    error = (await _rpc(client, "common", "authenticate", "outro", login, data.api_key, {}))["error"]
    assert error["code"] == 200 and error["message"] == "Odoo Server Error"
    assert error["data"]["name"] == "psycopg2.OperationalError" and "does not exist" in error["data"]["message"]


async def test_api_key_is_for_the_external_api_only(odoo: Any) -> None:
    """Odoo 15: an API key logs in over RPC, never into a web session; the password does both."""
    _fake, data, client = odoo
    params = {"db": "odoo", "login": "admin@empresa.com.br"}
    r = await client.post("/web/session/authenticate", json={"jsonrpc": "2.0", "params": {**params,
                                                                                         "password": data.api_key}})
    assert r.json()["error"]["data"]["name"] == "odoo.exceptions.AccessDenied"
    r = await client.post("/web/session/authenticate", json={"jsonrpc": "2.0", "params": {**params,
                                                                                         "password": "senha-admin"}})
    assert r.json()["result"]["uid"] == data.admin_uid


async def test_execute_kw_shapes(odoo: Any) -> None:
    fake, data, client = odoo
    args = ("odoo", data.admin_uid, data.api_key)
    rows = (await _rpc(client, "object", "execute_kw", *args, "acrux.chat.message", "search_read",
                       [[["id", ">", 0]]], {"fields": ["contact_id", "date_message", "read_date", "user_id", "text"],
                                            "limit": 5, "order": "id"}))["result"]
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows) and len(rows) == 5
    first = rows[0]
    assert isinstance(first["contact_id"], list) and isinstance(first["contact_id"][1], str)  # many2one
    assert len(first["date_message"]) == 19 and first["date_message"][10] == " "  # naive UTC
    assert any(r["user_id"] is False for r in rows) or any(r["read_date"] is False for r in rows)  # empty = false
    count = (await _rpc(client, "object", "execute_kw", *args, "acrux.chat.message", "search_count",
                        [[["connector_id", "=", 1]]]))["result"]
    assert count == sum(1 for m in fake.store.records["acrux.chat.message"].values() if m["connector_id"] == 1)
    mid, blob = next(iter(data.attachments.items()))
    att_id = fake.store.records["acrux.chat.message"][mid]["res_id"]
    att = (await _rpc(client, "object", "execute_kw", *args, "ir.attachment", "read", [[att_id]],
                      {"fields": ["datas", "mimetype", "name"]}))["result"][0]
    assert base64.b64decode(att["datas"]) == blob  # binaries in base64
    created = (await _rpc(client, "object", "execute_kw", *args, "res.partner", "create",
                          [{"name": "Novo", "mobile": "(48) 99191-0234"}]))["result"]
    partner = (await _rpc(client, "object", "execute_kw", *args, "res.partner", "read", [[created]],
                          {"fields": ["phone_sanitized"]}))["result"][0]
    assert partner["phone_sanitized"] == "+5548991910234"
    note = (await _rpc(client, "object", "execute_kw", *args, "res.partner", "message_post", [[created]],
                       {"body": "<p>oi</p>", "message_type": "comment", "subtype_xmlid": "mail.mt_note"}))["result"]
    assert fake.store.records["mail.message"][note]["res_id"] == created


async def test_errors_have_odoo_shape(odoo: Any) -> None:
    fake, data, client = odoo
    error = (await _rpc(client, "object", "execute_kw", "odoo", data.admin_uid, "chave-errada", "res.partner",
                        "search_read", [[]], {}))["error"]
    assert error["data"]["name"] == "odoo.exceptions.AccessDenied" and error["data"]["message"] == "Access Denied"
    args = ("odoo", data.admin_uid, data.api_key)
    error = (await _rpc(client, "object", "execute_kw", *args, "res.partner", "read", [[10**6]], {}))["error"]
    assert error["data"]["name"] == "odoo.exceptions.MissingError"
    error = (await _rpc(client, "object", "execute_kw", *args, "res.partner", "search_read",
                        [[["nao_existe", "=", 1]]], {}))["error"]
    assert error["data"]["name"] == "builtins.ValueError" and "Invalid field" in error["data"]["message"]
    fake.fail_next(model="res.partner", method="search_count", error="odoo.exceptions.AccessError",
                   message="Sem acesso")
    error = (await _rpc(client, "object", "execute_kw", *args, "res.partner", "search_count", [[]]))["error"]
    assert error["data"]["name"] == "odoo.exceptions.AccessError"
    assert "result" in await _rpc(client, "object", "execute_kw", *args, "res.partner", "search_count", [[]])


async def test_phone_mobile_search_ignores_formatting(odoo: Any) -> None:
    fake, data, client = odoo
    fake.create_record("res.partner", {"name": "Formatado", "mobile": "+55 (48) 99191-0234"})
    args = ("odoo", data.admin_uid, data.api_key)
    for value in ("48991910234", "+5548991910234", "99191-0234"):
        rows = (await _rpc(client, "object", "execute_kw", *args, "res.partner", "search_read",
                           [[["phone_mobile_search", "ilike", value]]], {"fields": ["name"]}))["result"]
        assert [r["name"] for r in rows] == ["Formatado"], value


async def test_xmlrpc(odoo: Any) -> None:
    _fake, data, client = odoo
    body = xmlrpc.client.dumps(("odoo", "admin@empresa.com.br", data.api_key, {}), "authenticate")
    r = await client.post("/xmlrpc/2/common", content=body, headers={"content-type": "text/xml"})
    assert xmlrpc.client.loads(r.text)[0][0] == data.admin_uid
    body = xmlrpc.client.dumps(("odoo", data.admin_uid, data.api_key, "acrux.chat.connector", "search_read",
                                [[]], {"fields": ["name", "connector_type"]}), "execute_kw")
    rows = xmlrpc.client.loads((await client.post("/xmlrpc/2/object", content=body)).text)[0][0]
    assert {r["connector_type"] for r in rows} == {"waba_extern", "apichat.io", "gupshup", "facebook", "instagram"}
    body = xmlrpc.client.dumps(("odoo", data.admin_uid, "errada", "res.partner", "search", [[]]), "execute_kw")
    with pytest.raises(xmlrpc.client.Fault) as fault:
        xmlrpc.client.loads((await client.post("/xmlrpc/2/object", content=body)).text)
    assert fault.value.faultCode == 3  # RPC_FAULT_CODE_ACCESS_DENIED


async def test_archived_records_hidden_unless_asked(odoo: Any) -> None:
    _fake, data, client = odoo
    args = ("odoo", data.admin_uid, data.api_key)
    inactive = data.agents[-1]
    ids = (await _rpc(client, "object", "execute_kw", *args, "res.users", "search", [[]]))["result"]
    assert inactive not in ids
    ids = (await _rpc(client, "object", "execute_kw", *args, "res.users", "search", [[]],
                      {"context": {"active_test": False}}))["result"]
    assert inactive in ids
