"""Campaign recipient references: ours read back, anything else names nobody."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from atende.domain.campaign_refs import genuine, new_key, recipient_id_of, recipient_reference

ids = st.integers(min_value=1, max_value=10**18 - 1)


@given(ids)
def test_a_reference_we_made_reads_back(recipient_id: int) -> None:
    key = new_key()
    ref = recipient_reference(recipient_id, key)
    assert recipient_id_of(ref) == recipient_id
    assert genuine(ref, recipient_id, key)
    assert len(ref) <= 64


@given(ids, st.text(max_size=40))
def test_another_key_id_or_tag_is_refused(recipient_id: int, junk: str) -> None:
    key, other = new_key(), new_key()
    ref = recipient_reference(recipient_id, key)
    assert not genuine(ref, recipient_id, other)
    assert not genuine(ref, recipient_id + 1, key)
    assert not genuine(f"cr{recipient_id}", recipient_id, key)
    assert not genuine(ref, recipient_id, None)
    assert not genuine(junk, recipient_id, key) or junk == ref


@given(st.text(max_size=80))
def test_reading_never_raises(text: str) -> None:
    got = recipient_id_of(text)
    assert got is None or recipient_reference(got, "k").startswith(f"cr{got}.")
