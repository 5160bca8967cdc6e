"""The campaign lifecycle as a state machine: every path Hypothesis finds keeps the rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atende.domain.campaign_status import ACTIONS, FINAL, STATUSES, IllegalTransition, next_status


def test_the_happy_paths() -> None:
    assert next_status("preparing", "prepared") == "draft"
    assert next_status("draft", "start") == "running"
    assert next_status("draft", "start", later=True) == "scheduled"
    assert next_status("scheduled", "begin") == "running"
    assert next_status("running", "pause") == "paused"
    assert next_status("paused", "resume") == "running"
    assert next_status("paused", "resume", later=True) == "scheduled"
    assert next_status("running", "finish") == "done"


@pytest.mark.parametrize(("status", "action"), [("running", "start"), ("draft", "pause"), ("running", "resume"),
                                                ("done", "cancel"), ("cancelled", "resume"), ("preparing", "start")])
def test_refusals_are_illegal_transitions(status: str, action: str) -> None:
    with pytest.raises(IllegalTransition):
        next_status(status, action)


@given(st.lists(st.tuples(st.sampled_from(ACTIONS), st.booleans()), max_size=30))
def test_any_sequence_stays_in_the_machine(steps: list[tuple[str, bool]]) -> None:
    status, started = "preparing", False
    for action, later in steps:
        try:
            new = next_status(status, action, later=later)
        except IllegalTransition:
            continue
        assert new in STATUSES
        assert status not in FINAL, "nothing leaves a final status"
        if new in ("running", "scheduled", "paused"):
            assert status != "preparing"  # only a prepared list is ever sent
        if new == "done":
            assert status == "running" and started
        started = started or new == "running"
        status = new
