from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atende.domain.status import (
    CONVERSATION_STATUSES,
    DELIVERY_STATUSES,
    can_transition,
    delivery_rank,
    is_final,
    should_apply,
)

FORWARD = ["queued", "sending", "sent", "delivered", "read"]


def test_delivery_order() -> None:
    assert DELIVERY_STATUSES == ("queued", "sending", "sent", "delivered", "read", "failed")
    assert [delivery_rank(s) for s in FORWARD] == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError):
        delivery_rank("failed")


@pytest.mark.parametrize(
    ("current", "new", "expected"),
    [
        ("queued", "sending", True),
        ("queued", "read", True),  # skipping steps is fine (receipts arrive out of order)
        ("sent", "delivered", True),
        ("delivered", "read", True),
        ("read", "delivered", False),  # late delivered never downgrades read
        ("delivered", "sent", False),
        ("sent", "sent", False),
        ("read", "read", False),
        ("queued", "failed", True),
        ("sending", "failed", True),
        ("sent", "failed", True),
        ("delivered", "failed", False),
        ("read", "failed", False),
        ("failed", "failed", False),
        ("failed", "queued", False),  # retry is an explicit action, not a receipt
        ("failed", "sent", False),
        ("failed", "read", False),
    ],
)
def test_should_apply(current: str, new: str, expected: bool) -> None:
    assert should_apply(current, new) is expected


def test_unknown_statuses_raise() -> None:
    with pytest.raises(ValueError, match="unknown delivery status"):
        should_apply("sent", "deleted")
    with pytest.raises(ValueError):
        should_apply("SENT", "read")
    with pytest.raises(ValueError):
        is_final("seen")


def test_is_final() -> None:
    assert [s for s in DELIVERY_STATUSES if is_final(s)] == ["read", "failed"]


@pytest.mark.parametrize(("current", "new"), list(itertools.product(DELIVERY_STATUSES, repeat=2)))
def test_final_means_nothing_applies(current: str, new: str) -> None:
    if is_final(current):
        assert not should_apply(current, new)
    assert not (should_apply(current, new) and should_apply(new, current))


def test_non_final_statuses_can_still_move() -> None:
    for status in DELIVERY_STATUSES:
        if not is_final(status):
            assert any(should_apply(status, new) for new in DELIVERY_STATUSES)


def _expected_outcome(start: str, reports: list[str]) -> str:
    """Independent model: the highest status seen wins, unless a 'failed' arrived while nothing seen
    so far had reached delivered, in which case the message is failed for good."""
    seen = [start]
    for status in reports:
        if status == "failed":
            if max(FORWARD.index(s) for s in seen) < FORWARD.index("delivered"):
                return "failed"
            continue
        seen.append(status)
    return max(seen, key=FORWARD.index)


@given(st.sampled_from(FORWARD[:3]), st.lists(st.sampled_from(DELIVERY_STATUSES), max_size=12))
def test_any_sequence_of_receipts_ends_at_the_max_rank_seen(start: str, reports: list[str]) -> None:
    status = start
    for report in reports:
        if should_apply(status, report):
            status = report
    assert status == _expected_outcome(start, reports)


@given(st.permutations(FORWARD))
def test_without_failures_the_order_of_arrival_does_not_matter(reports: list[str]) -> None:
    status = "queued"
    for report in reports:
        if should_apply(status, report):
            status = report
    assert status == "read"


# ---------------------------------------------------------------- conversations

ALLOWED = {
    # (current, target, has_assignee)
    ("new", "open", True),
    ("new", "done", True),
    ("new", "done", False),
    ("open", "done", True),
    ("open", "done", False),
    ("open", "new", True),
    ("open", "new", False),
    ("done", "new", True),
    ("done", "new", False),
    ("done", "open", True),
}


@pytest.mark.parametrize(
    ("current", "target", "has_assignee"),
    list(itertools.product(CONVERSATION_STATUSES, CONVERSATION_STATUSES, [True, False])),
)
def test_can_transition_table(current: str, target: str, has_assignee: bool) -> None:
    expected = (current, target, has_assignee) in ALLOWED
    assert can_transition(current, target, has_assignee=has_assignee) is expected


def test_conversation_statuses() -> None:
    assert CONVERSATION_STATUSES == ("new", "open", "done")
    assert not can_transition("new", "open", has_assignee=False)
    assert not can_transition("done", "open", has_assignee=False)
    assert not can_transition("open", "open", has_assignee=True)
    with pytest.raises(ValueError, match="unknown conversation status"):
        can_transition("closed", "new", has_assignee=False)
    with pytest.raises(ValueError):
        can_transition("new", "pending", has_assignee=True)


@given(st.lists(st.tuples(st.sampled_from(CONVERSATION_STATUSES), st.booleans()), max_size=20))
def test_open_conversations_always_had_an_assignee(moves: list[tuple[str, bool]]) -> None:
    status, assignee = "new", False
    for target, has_assignee in moves:
        if can_transition(status, target, has_assignee=has_assignee):
            status, assignee = target, has_assignee
        if status == "open":
            assert assignee
