from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atende.domain.optout import (
    DEFAULT_OPT_IN_KEYWORDS,
    DEFAULT_OPT_OUT_KEYWORDS,
    is_opt_in,
    is_opt_out,
    matches_keyword,
    normalize_keyword_text,
)


def test_defaults() -> None:
    assert DEFAULT_OPT_OUT_KEYWORDS == ("SAIR", "PARE", "STOP", "CANCELAR")
    assert DEFAULT_OPT_IN_KEYWORDS == ("VOLTAR", "START", "ATIVAR")


@pytest.mark.parametrize(
    "text",
    [
        "SAIR",
        "Sair",
        "sair",
        " sair! ",
        "PARE.",
        "pare!!!",
        "Stop",
        "cancelar 🙏",
        "👋 SAIR",
        "«sair»",
        "\tSAIR\n",
        "*SAIR*",
        "sair.\u200d",
        "ＳＡＩＲ",
    ],
)
def test_opt_out_matches(text: str) -> None:
    assert matches_keyword(text, DEFAULT_OPT_OUT_KEYWORDS)
    assert is_opt_out(text)


@pytest.mark.parametrize(
    "text",
    [
        "não quero sair agora",
        "sair agora",
        "quero sair",
        "SAIRR",
        "sai",
        "S A I R",
        "",
        "   ",
        "!!!",
        "🙏",
        "s-air",
        "pare de mandar mensagem",
        "voltar",
    ],
)
def test_opt_out_does_not_match(text: str) -> None:
    assert not matches_keyword(text, DEFAULT_OPT_OUT_KEYWORDS)


@pytest.mark.parametrize("text", ["voltar", "Start!", " ativar ", "ATIVAR."])
def test_opt_in_matches(text: str) -> None:
    assert is_opt_in(text)
    assert not is_opt_out(text)


def test_accents_are_removed_on_both_sides() -> None:
    assert matches_keyword("Não", ["NAO"])
    assert matches_keyword("NAO!", ["não"])
    assert matches_keyword("  não   quero  ", ["NÃO QUERO"])  # inner spaces collapsed
    assert not matches_keyword("anything", [])
    assert not matches_keyword("", [""])


def test_normalize_keyword_text() -> None:
    assert normalize_keyword_text(" Não, pare! 🙏 ") == "NAO, PARE"
    assert normalize_keyword_text("çÇãõ") == "CCAO"
    assert normalize_keyword_text("...") == ""


decoration = st.text(st.sampled_from(" \t\n!?.,;:*_-\"'()🙏👍😀✋\u200d\ufe0f"), max_size=5)


@given(st.sampled_from(DEFAULT_OPT_OUT_KEYWORDS), decoration, decoration, st.lists(st.booleans(), max_size=8))
def test_keyword_with_any_case_and_decoration_matches(keyword: str, before: str, after: str, caps: list[bool]) -> None:
    cased = "".join(ch.lower() if i < len(caps) and caps[i] else ch for i, ch in enumerate(keyword))
    assert matches_keyword(before + cased + after, DEFAULT_OPT_OUT_KEYWORDS)


@given(
    st.sampled_from(DEFAULT_OPT_OUT_KEYWORDS),
    st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzãé"), min_size=1, max_size=10),
    st.booleans(),
)
def test_keyword_inside_a_sentence_does_not_match(keyword: str, word: str, word_first: bool) -> None:
    sentence = f"{word} {keyword}" if word_first else f"{keyword} {word}"
    assert not matches_keyword(sentence, DEFAULT_OPT_OUT_KEYWORDS)
