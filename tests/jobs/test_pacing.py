"""The per-recipient pair bucket (Meta's pair rate: ≈ one per 6 s, short bursts borrow)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atende.channels.whatsapp_cloud.config import WhatsAppCloudConfig
from atende.jobs.pacing import pair_tokens, pair_wait


def test_a_burst_goes_at_once_then_one_per_interval() -> None:
    sent: list[float] = []
    for _ in range(3):
        assert pair_wait(sent, 100.0, 6.0, 3) == 0.0
        sent.append(100.0)
    assert pair_wait(sent, 100.0, 6.0, 3) == pytest.approx(6.0)  # the 4th waits for one token
    assert pair_wait(sent, 104.0, 6.0, 3) == pytest.approx(2.0)
    assert pair_wait(sent, 106.0, 6.0, 3) == 0.0
    sent.append(106.0)
    assert pair_wait(sent, 106.0, 6.0, 3) == pytest.approx(6.0)  # no second burst right away
    assert pair_tokens(sent, 200.0, 6.0, 3) == 3.0  # idle long enough: full again, never more


def test_burst_of_one_is_the_strict_gap_and_no_interval_means_no_wait() -> None:
    assert pair_wait([100.0], 103.0, 6.0, 1) == pytest.approx(3.0)
    assert pair_wait([100.0], 106.0, 6.0, 1) == 0.0
    assert pair_wait([100.0] * 50, 100.0, 0.0, 3) == 0.0


def test_sends_faster_than_allowed_leave_the_bucket_in_debt() -> None:
    # Another process sent 5 at once: the next waits for the debt and one token.
    assert pair_tokens([100.0] * 5, 100.0, 6.0, 3) == pytest.approx(-2.0)
    assert pair_wait([100.0] * 5, 100.0, 6.0, 3) == pytest.approx(18.0)


def test_config_default_burst() -> None:
    config = WhatsAppCloudConfig(access_token="t", phone_number_id="1", app_secret="s", verify_token="v")
    assert (config.pair_interval_s, config.pair_burst) == (6.0, 3)
    with pytest.raises(ValueError):
        WhatsAppCloudConfig(access_token="t", phone_number_id="1", app_secret="s", verify_token="v", pair_burst=0)


@given(
    st.lists(st.floats(min_value=0, max_value=20, allow_nan=False), min_size=1, max_size=25),
    st.floats(min_value=0.1, max_value=10, allow_nan=False),
    st.integers(min_value=1, max_value=5),
)
def test_a_sender_that_waits_as_told_never_exceeds_burst_plus_rate(
    gaps: list[float], interval: float, burst: int,
) -> None:
    sent: list[float] = []
    t = 0.0
    for gap in gaps:  # the agent asks to send `gap` seconds after the previous request
        t += gap
        wait = pair_wait(sent, t, interval, burst)
        assert 0.0 <= wait <= interval + 1e-9  # never more than one interval behind
        t += wait
        assert pair_wait(sent, t, interval, burst) == 0.0
        sent.append(t)
    for (i, a), (j, b) in itertools.combinations(enumerate(sent), 2):
        # Any run of sends fits in the bucket: at most `burst` plus one per interval elapsed.
        assert j - i + 1 <= burst + (b - a) / interval + 1e-6
