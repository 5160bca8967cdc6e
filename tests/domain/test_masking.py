"""Masking of CPF, CNPJ and card numbers in previews: examples and properties."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from atende.domain.masking import cnpj_valid, cpf_valid, luhn_valid, mask_documents


def _cpf_from(nine: str) -> str:
    def digit(ds: str, start: int) -> str:
        rest = sum(int(d) * w for d, w in zip(ds, range(start, 1, -1), strict=False)) % 11
        return "0" if rest < 2 else str(11 - rest)

    first = digit(nine, 10)
    return nine + first + digit(nine + first, 11)


def _cnpj_from(twelve: str) -> str:
    w1 = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]
    w2 = [6, *w1]

    def digit(ds: str, weights: list[int]) -> str:
        rest = sum(int(d) * w for d, w in zip(ds, weights, strict=False)) % 11
        return "0" if rest < 2 else str(11 - rest)

    first = digit(twelve, w1)
    return twelve + first + digit(twelve + first, w2)


def _luhn_from(body: str) -> str:
    for last in "0123456789":
        if luhn_valid(body + last):
            return body + last
    raise AssertionError("unreachable")


cpfs = st.text("0123456789", min_size=9, max_size=9).map(_cpf_from).filter(cpf_valid)
cnpjs = st.text("0123456789", min_size=12, max_size=12).map(_cnpj_from).filter(cnpj_valid)
cards = st.builds(lambda first, body: _luhn_from(first + body), st.sampled_from("3456"),
                  st.text("0123456789", min_size=14, max_size=14))
# Text around a number that never glues digits (or a "+") to it.
words = st.text(st.characters(blacklist_categories=("Nd", "Cs"), blacklist_characters="+*"), max_size=20)


def fmt_cpf(d: str) -> str:
    return f"{d[:3]}.{d[3:6]}.{d[6:9]}-{d[9:]}"


def fmt_cnpj(d: str) -> str:
    return f"{d[:2]}.{d[2:5]}.{d[5:8]}/{d[8:12]}-{d[12:]}"


def test_examples() -> None:
    assert mask_documents("CPF 123.456.789-09, ok?") == "CPF ***.456.789-**, ok?"
    assert mask_documents("meu cpf é 52998224725") == "meu cpf é ***982247**"
    assert mask_documents("CNPJ 11.222.333/0001-81") == "CNPJ **.222.333/****-**"
    assert mask_documents("cartão 4111 1111 1111 1111 vence 12/30") == "cartão **** **** **** 1111 vence 12/30"
    assert mask_documents("4111-1111-1111-1111") == "****-****-****-1111"


def test_what_is_not_a_document_stays() -> None:
    for text in ("liga no +55 11 98765-4321", "11987654321", "pedido 12345678901", "R$ 1.234.567,89",
                 "protocolo 2024000123456", "", "sem números"):
        assert mask_documents(text) == text


@given(cpfs, words, words, st.booleans())
def test_every_cpf_is_masked(cpf: str, before: str, after: str, formatted: bool) -> None:
    written = fmt_cpf(cpf) if formatted else cpf
    masked = mask_documents(f"{before} {written} {after}")
    assert written not in masked
    assert cpf not in "".join(ch for ch in masked if ch.isdigit())
    assert len(masked) == len(before) + len(written) + len(after) + 2


@given(cnpjs, words, st.booleans())
def test_every_cnpj_is_masked(cnpj: str, before: str, formatted: bool) -> None:
    written = fmt_cnpj(cnpj) if formatted else cnpj
    masked = mask_documents(f"{before} {written}.")
    assert written not in masked
    digits = "".join(ch for ch in masked if ch.isdigit())
    assert cnpj not in digits and not digits.startswith(cnpj[:2] + cnpj[2:8])


@given(cards, words, st.sampled_from(["", " ", "-"]))
def test_every_card_keeps_only_its_last_four(card: str, before: str, sep: str) -> None:
    written = sep.join(card[i:i + 4] for i in range(0, len(card), 4))
    masked = mask_documents(f"{before} {written} ")
    digits = "".join(ch for ch in masked if ch.isdigit())
    assert card not in digits
    assert masked.endswith(card[-4:] + " ")


@given(st.text(max_size=80))
def test_idempotent_and_length_preserving(text: str) -> None:
    once = mask_documents(text)
    assert mask_documents(once) == once
    assert len(once) == len(text)


@given(st.text(st.characters(blacklist_categories=("Nd",)), max_size=80))
def test_text_without_digits_is_untouched(text: str) -> None:
    assert mask_documents(text) == text


def test_random_eleven_digit_runs_are_masked_only_when_valid() -> None:
    rng = random.Random(15)
    for _ in range(2000):
        digits = "".join(rng.choice("0123456789") for _ in range(11))
        masked = mask_documents(digits)
        assert (masked != digits) == cpf_valid(digits)
