"""The ChatRoom → atende mapping rules (pure functions), with property tests for the parsers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atende.actions.contacts import address_key, address_variants
from atende.integrations.odoo import chatroom_map as cmap
from atende.testing.fake_odoo import odoo_datetime


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1)))
def test_odoo_datetimes_round_trip(moment: datetime) -> None:
    moment = moment.replace(microsecond=0)
    parsed = cmap.odoo_time(odoo_datetime(moment))
    assert parsed == moment.replace(tzinfo=UTC) and parsed.tzinfo is UTC


@given(st.one_of(st.none(), st.just(False), st.just(""), st.just("   ")))
def test_empty_odoo_values(value: object) -> None:
    assert cmap.odoo_time(value) is None
    assert cmap.text_of(value) is None
    assert cmap.m2o_id(value) is None


@given(st.text(min_size=1).filter(lambda t: t.strip() != ""))
def test_bad_dates_are_a_clear_error(value: str) -> None:
    try:
        cmap.odoo_time(value)
    except ValueError as exc:
        assert "data inválida" in str(exc)


@given(st.integers(min_value=1, max_value=2**40), st.text(max_size=20))
def test_many2one(record_id: int, name: str) -> None:
    assert cmap.m2o_id([record_id, name]) == record_id
    assert cmap.m2o_id([True, name]) is None


DDD = st.sampled_from(["11", "21", "48", "51", "85", "61"])
LOCAL8 = st.integers(min_value=6_000_000_0, max_value=9_999_999_9).map(str)  # an old 8-digit mobile


@given(DDD, LOCAL8)
def test_old_and_new_spellings_meet_in_one_conversation(ddd: str, local: str) -> None:
    """A 12-digit ChatRoom number and the 13-digit one WhatsApp sends now share the conversation key."""
    old = cmap.address_of("55" + ddd + local, "whatsapp")
    new = cmap.address_of("55" + ddd + "9" + local, "whatsapp")
    assert old.problem is not None and "12 dígitos" in old.problem
    assert new.problem is None and new.address == "+55" + ddd + "9" + local
    assert old.address == "+55" + ddd + local  # replies go to the number ChatRoom knew
    assert address_key(old.address, "whatsapp") == address_key(new.address, "whatsapp")
    assert address_key(new.address, "whatsapp") in address_variants(address_key(old.address, "whatsapp"))


@given(st.text(max_size=30))
def test_any_number_gives_an_address(number: str) -> None:
    for channel in ("whatsapp", "messenger", "instagram"):
        result = cmap.address_of(number, channel)
        assert result.address  # never empty: the conversation keeps some identifier


def test_social_ids_are_kept() -> None:
    assert cmap.address_of("1234567890123456", "instagram") == cmap.Address("1234567890123456")
    assert cmap.address_of("120363041234567890@g.us", "whatsapp").problem is not None  # a group
    assert cmap.address_of("5548991910234@c.us", "whatsapp").address == "+5548991910234"


@pytest.mark.parametrize(("ttype", "kind"), [
    ("text", "text"), ("image", "image"), ("audio", "audio"), ("video", "video"), ("file", "document"),
    ("sticker", "sticker"), ("location", "location"), ("contact", "contacts"), ("url", "text"),
    ("info", "event"), ("info_comment", "event"), ("info_hidden", "event"),
])
def test_every_ttype_has_a_kind(ttype: str, kind: str) -> None:
    assert cmap.kind_of(ttype) == (kind, True)


@given(st.text())
def test_unknown_ttypes_are_unsupported(ttype: str) -> None:
    kind, known = cmap.kind_of(ttype)
    assert known == (ttype in cmap.KINDS) and (known or kind == "unsupported")


def test_connectors_and_statuses() -> None:
    assert [cmap.channel_of(t)[0] for t in ("waba_extern", "apichat.io", "gupshup", "facebook", "instagram")] == \
        ["whatsapp", "whatsapp", "whatsapp", "messenger", "instagram"]
    assert cmap.channel_of("not_set") == ("whatsapp", False)
    assert [cmap.status_of(s) for s in ("new", "current", "done")] == ["new", "open", "done"]


def test_contact_name_prefers_the_partner() -> None:
    assert cmap.contact_name({"res_partner_id": [3, "Maria"], "name": "maria zap"}) == "Maria"
    assert cmap.contact_name({"res_partner_id": False, "name": "Zé", "number": "5511"}) == "Zé"
    assert cmap.contact_name({"res_partner_id": False, "name": "+55 11 98765-4321",
                              "number": "5511987654321"}) is None
