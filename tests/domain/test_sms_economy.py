"""Economizar SMS: Portuguese stays in GSM-7 (160 a segment) instead of UCS-2 (70)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from atende.domain.sms import GSM7_BASIC, GSM7_EXTENSION, count_segments, is_gsm7
from atende.domain.sms_economy import REPLACEMENTS, cheaper, economize

PT = "Olá, João! Sua fatura de março já está disponível: “2ª via” – acesse até 30/11… Atenção: não responda."


def test_portuguese_becomes_gsm7_and_cheaper() -> None:
    out = economize(PT)
    assert out == ('Ola, Joao! Sua fatura de marco ja esta disponivel: "2a via" - acesse até 30/11... '
                   "Atencao: nao responda.")
    before, after = count_segments(PT), count_segments(out)
    assert (before.encoding, before.segments) == ("ucs2", 2)
    assert (after.encoding, after.segments) == ("gsm7", 1)


def test_gsm7_accents_are_kept() -> None:
    assert economize("é è à ù ì ò Ç É ü Ü ñ Ñ ä ö Ä Ö å Å ø Ø æ Æ ß € ^ { } [ ] ~ | \\") == \
        "é è à ù ì ò Ç É ü Ü ñ Ñ ä ö Ä Ö å Å ø Ø æ Æ ß € ^ { } [ ] ~ | \\"
    assert economize("ã õ ç á í ó ú â ê ô Ã Õ Á Í Ó Ú Â Ê Ô À") == "a o c a i o u a e o A O A I O U A E O A"


def test_what_has_no_gsm7_spelling_stays() -> None:
    assert economize("Obrigado 😊 漢字") == "Obrigado 😊 漢字"
    assert count_segments(economize("Olá 😊")).encoding == "ucs2"


def test_every_replacement_is_gsm7() -> None:
    for key, value in REPLACEMENTS.items():
        assert len(key) == 1 and key not in GSM7_BASIC | GSM7_EXTENSION, key
        assert is_gsm7(value), (key, value)


@given(st.text(max_size=200))
def test_economize_is_idempotent_and_leaves_gsm7_alone(text: str) -> None:
    out = economize(text)
    assert economize(out) == out
    if is_gsm7(text):
        assert out == text  # nothing to save: untouched


@given(st.text(max_size=400) | st.text(st.sampled_from(list("…a😀ã")), max_size=400))
def test_cheaper_never_costs_more(text: str) -> None:
    out = cheaper(text)
    assert out in (text, economize(text))
    assert count_segments(out).segments <= count_segments(text).segments
    if out != text:
        assert count_segments(out).segments < count_segments(text).segments


def test_cheaper_keeps_a_text_that_would_grow() -> None:
    dots = "…" * 160  # UCS-2: 3 segments; spelled "..." it would be 480 GSM-7 characters, 4 segments
    assert cheaper(dots) == dots
    assert cheaper("Olá, tudo bem?") == "Olá, tudo bem?"  # 1 segment either way: accents stay
    long_pt = "Atenção: sua fatura de março está disponível. " * 3
    assert cheaper(long_pt) == economize(long_pt)


@given(st.text(alphabet=st.sampled_from(list("abcdeçãõáéíóúâêôàÇÃÕÁÉÍÓÚÂÊÔ .,!?“”‘’–—…ºª0123456789")), max_size=300))
def test_portuguese_letters_always_fit_gsm7(text: str) -> None:
    out = economize(text)
    assert is_gsm7(out)
    assert count_segments(out).segments <= count_segments(text).segments
