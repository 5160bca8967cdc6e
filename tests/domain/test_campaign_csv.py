"""Reading a campaign's CSV and checking its phones (the fast path agrees with normalize_phone)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atende.domain.campaign_csv import CsvError, check_phone, quick_br_mobile, read_csv, rows_from_list
from atende.domain.phones import InvalidPhone, normalize_phone


def test_semicolon_file_with_bom_and_accented_header() -> None:
    text = "\ufeffNome;Celular;Valor;Data de Vencimento\r\nAna;(48) 99191-0234;R$ 1.234,56;10/12\r\n\r\n" \
           'Bruno;"11 98888-7777";"R$ 5,00";\n'
    header, rows = read_csv(text)
    assert header == ["nome", "celular", "valor", "data_de_vencimento"]
    got = list(rows)
    assert [(r.row_no, r.phone) for r in got] == [(1, "(48) 99191-0234"), (2, "11 98888-7777")]
    assert got[0].values == {"nome": "Ana", "valor": "R$ 1.234,56", "data_de_vencimento": "10/12"}
    assert got[1].values == {"nome": "Bruno", "valor": "R$ 5,00"}  # the blank date is missing, not ""


def test_comma_file_and_short_rows() -> None:
    header, rows = read_csv("phone,nome\n5548991910234,Ana\n48991910235\n")
    assert header == ["phone", "nome"]
    assert [(r.phone, r.values) for r in rows] == [("5548991910234", {"nome": "Ana"}), ("48991910235", {})]


@pytest.mark.parametrize(("text", "message"), [
    ("", "vazio"),
    ("nome;valor\nAna;1\n", "coluna do telefone"),
    ("telefone;nome;Nome\n1;2;3\n", "repetidas"),
])
def test_unreadable_files_say_why(text: str, message: str) -> None:
    with pytest.raises(CsvError, match=message):
        read_csv(text)


def test_row_limit() -> None:
    _, rows = read_csv("telefone\n" + "48991910234\n" * 5, max_rows=3)
    with pytest.raises(CsvError, match="passa de 3"):
        list(rows)


def test_api_list() -> None:
    rows = list(rows_from_list([{"phone": "48991910234", "vars": {"Nome": "Ana", "valor": 10}},
                                {"phone": 5511988887777}, {"vars": {}}]))
    assert rows[0].values == {"nome": "Ana", "valor": "10"}
    assert rows[1].phone == "5511988887777" and rows[2].phone == ""


def test_check_phone_reasons() -> None:
    assert check_phone("(48) 99191-0234", "sms").address == "+5548991910234"
    assert check_phone("48 9191-0234", "sms").address == "+5548991910234"  # old mobile: the 9 comes back
    assert check_phone("", "sms").reason == "invalid"
    assert check_phone("abc", "sms").reason == "invalid"
    assert check_phone("123", "sms").reason == "invalid"
    landline = check_phone("(48) 3222-1234", "sms")
    assert landline.reason == "blocked" and "fixo" in landline.detail
    assert check_phone("(48) 3222-1234", "whatsapp").address == "+554832221234"
    foreign = check_phone("+1 650 555 1234", "sms")
    assert foreign.reason == "blocked" and "Brasil" in foreign.detail
    assert check_phone("+1 650 253 0000", "whatsapp").address == "+16502530000"


ddd = st.sampled_from(["11", "21", "48", "85", "99", "10", "20", "23", "37", "56", "61", "79", "90"])
spellings = st.builds(
    lambda area, nine, rest, style: {
        0: f"{area}{nine}{rest}", 1: f"55{area}{nine}{rest}", 2: f"+55 ({area}) {nine}{rest[:4]}-{rest[4:]}",
        3: f"({area}) {nine}{rest[:4]}-{rest[4:]}", 4: f"+{area}{nine}{rest}", 5: f"0{area}{nine}{rest}",
        6: f"{area} {nine}{rest[:4]}.{rest[4:]}", 7: f"55{area}{rest}",
    }[style],
    ddd, st.sampled_from(["9", "8", "3", "7"]), st.text(st.sampled_from("0123456789"), min_size=8, max_size=8),
    st.integers(0, 7))


@given(st.one_of(spellings, st.text(max_size=20)))
def test_fast_path_agrees_with_normalize_phone(raw: str) -> None:
    quick = quick_br_mobile(raw)
    if quick is None:
        return
    assert normalize_phone(raw) == quick


@given(spellings)
def test_check_phone_is_normalize_phone_or_a_reason(raw: str) -> None:
    found = check_phone(raw, "whatsapp")
    try:
        expected: str | None = normalize_phone(raw)
    except InvalidPhone:
        expected = None
    assert found.address == expected
    assert (found.reason is None) == (expected is not None)
