"""Which customer messages are a 1-5 rating."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atende.domain.csat import parse_rating


@pytest.mark.parametrize(("text", "rating"), [
    ("5", 5), (" 4 ", 4), ("4!", 4), ("nota 3", 3), ("Nota: 2", 2), ("minha nota 5", 5), ("dou nota 4", 4),
    ("4/5", 4), ("4 de 5", 4), ("5 estrelas", 5), ("1 estrela", 1), ("Cinco", 5), ("três", 3), ("tres", 3),
    ("um", 1), ("4️⃣", 4), ("⭐⭐⭐", 3), ("⭐️⭐️⭐️⭐️", 4), ("★", 1),
])
def test_ratings(text: str, rating: int) -> None:
    assert parse_rating(text) == rating


@pytest.mark.parametrize("text", [
    "", None, "0", "6", "10", "45", "4 reais", "quero falar com alguém", "obrigado", "5 5", "⭐⭐⭐⭐⭐⭐", "nota",
    "1234", "o 5",
])
def test_not_ratings(text: str | None) -> None:
    assert parse_rating(text) is None


@given(st.integers(1, 5), st.sampled_from(["{}", " {} ", "nota {}", "{}/5", "{} de 5", "{} estrelas", "{}."]))
def test_every_form_of_every_rating(value: int, form: str) -> None:
    assert parse_rating(form.format(value)) == value


@given(st.text(max_size=60))
def test_anything_else_is_none_or_a_rating(text: str) -> None:
    assert parse_rating(text) in (None, 1, 2, 3, 4, 5)


@given(st.integers(6, 10_000))
def test_numbers_above_five_are_not_ratings(value: int) -> None:
    assert parse_rating(str(value)) is None
