"""What a search box's text means: words without accents, phone numbers in any spelling, marked snippets."""

from __future__ import annotations

import html

from hypothesis import given
from hypothesis import strategies as st

from atende.search import terms


def test_words_are_folded_deduplicated_and_bounded() -> None:
    assert terms.words("Não  NAO coração, João_Silva!") == ["nao", "coracao", "joao", "silva"]
    assert terms.words("...  ---") == []
    assert len(terms.words(" ".join(f"w{i}" for i in range(30)))) == terms.MAX_WORDS
    assert terms.words("x" * 100) == ["x" * terms.MAX_WORD_CHARS]


def test_numbers_with_or_without_country_code_and_ninth_digit() -> None:
    same = ["(11) 98765-4321", "11987654321", "5511987654321", "+55 11 98765-4321", "1187654321",
            "551187654321", "011 98765-4321", "0055 11 98765 4321"]
    for spelling in same:
        assert terms.number_variants(spelling) == ["11987654321"], spelling
    assert terms.number_variants("final 4321") == ["4321"]
    assert terms.number_variants("123") == []  # too short to mean a number
    assert terms.number_variants("boleto") == []
    # A landline (first local digit 2-5) gets no 9th digit.
    assert terms.number_variants("(11) 3333-4444") == ["1133334444"]


@given(st.text(max_size=80))
def test_queries_never_break_the_fts_syntax(q: str) -> None:
    """Whatever is typed, the MATCH text is quoted prefixes of word characters only."""
    words = terms.words(q)
    match = terms.fts5_query(words)
    parts = match.split(" ") if match else []
    for i, part in enumerate(parts):
        closing = '"*' if i == len(parts) - 1 else '"'
        assert part.startswith('"') and part.endswith(closing)
        assert '"' not in part[1:-len(closing)]
    tsq = terms.tsquery(words)
    assert all(ch.isalnum() or ch in " &:*" for ch in tsq)
    for word in words:
        assert word == terms.fold(word) and word.isalnum()


@given(st.from_regex(r"\+?55 ?\(?[1-9][1-9]\)? ?9?[6-9][0-9]{3}[ -]?[0-9]{4}", fullmatch=True))
def test_every_spelling_of_a_mobile_finds_the_canonical_digits(spelling: str) -> None:
    digits = "".join(ch for ch in spelling if ch.isdigit())[2:]  # drop 55
    if len(digits) == 10:
        digits = digits[:2] + "9" + digits[2:]
    [variant] = terms.number_variants(spelling)
    assert variant == digits and len(variant) == 11
    assert variant in "55" + digits  # a substring of the stored +55DD9XXXXXXXX


@given(st.text(max_size=60), st.lists(st.text(alphabet="abcão", min_size=1, max_size=4), max_size=3))
def test_marking_escapes_everything_else(text: str, words: list[str]) -> None:
    out = terms.mark_words(text, [terms.fold(w) for w in words])
    plain = out.replace("<mark>", "").replace("</mark>", "")
    assert html.unescape(plain) == text.replace(terms.START, "").replace(terms.STOP, "") or terms.START in text \
        or terms.STOP in text
    assert "<" not in plain and ">" not in plain


def test_snippets_become_html_with_marks() -> None:
    raw = f"a <b> {terms.START}não{terms.STOP} & c"
    assert terms.marked(raw) == "a &lt;b&gt; <mark>não</mark> &amp; c"
    assert terms.mark_words("João da Silva", ["joao"]) == "<mark>João</mark> da Silva"
