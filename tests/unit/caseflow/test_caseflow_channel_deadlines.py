"""The feedback deadline follows the channel type: internal never extends, external to 6 months.

Directive 2019/1937 art. 9.1.f and the Swedish Act 2021:890 give an internal
channel 3 months; art. 11.2.d gives an external channel (a competent
authority) 3 months, or 6 "in duly justified cases".
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from caseflow_helpers import RULES, received, run, stockholm

from caseflow.domain.commands import Acknowledge, ExtendFeedbackDeadline
from caseflow.domain.decider import decide
from caseflow.domain.errors import InvalidCommand
from caseflow.domain.policies.deadlines import feedback_due, latest_feedback_due
from caseflow.domain.rules import Rules
from caseflow.domain.vocabulary import ChannelType, ExtensionReason

INTERNAL = replace(RULES, deadlines=replace(RULES.deadlines, channel=ChannelType.INTERNAL))
EXTERNAL = replace(RULES, deadlines=replace(RULES.deadlines, channel=ChannelType.EXTERNAL))
COMPLEX = ExtensionReason.COMPLEX_MATTER.value


def _acknowledged_case(rules: Rules):  # acknowledged 2026-01-10: feedback due 2026-04-10
    case = received(date(2026, 1, 5))
    return run(case, [Acknowledge("case-1", "ana", "ack")], stockholm("2026-01-10 09:00"), rules)


def test_the_shipped_default_is_an_internal_channel() -> None:
    assert RULES.deadlines.channel is ChannelType.INTERNAL


@pytest.mark.parametrize(
    ("channel", "extensions", "due_on", "refused"),
    [
        # internal: 3 months, and no extension at all, whatever the reason
        (ChannelType.INTERNAL, [], date(2026, 4, 10), None),
        (ChannelType.INTERNAL, [(1, COMPLEX)], date(2026, 4, 10), "no extension"),
        (ChannelType.INTERNAL, [(3, "many_reports")], date(2026, 4, 10), "no extension"),
        # external: 3 months, extended up to 6 in total, only with a recorded reason
        (ChannelType.EXTERNAL, [], date(2026, 4, 10), None),
        (ChannelType.EXTERNAL, [(3, COMPLEX)], date(2026, 7, 10), None),
        (
            ChannelType.EXTERNAL,
            [(1, COMPLEX), (2, "awaiting_information")],
            date(2026, 7, 10),
            None,
        ),
        (
            ChannelType.EXTERNAL,
            [(2, COMPLEX), (2, COMPLEX)],
            date(2026, 6, 10),
            "6 months in total",
        ),
        (ChannelType.EXTERNAL, [(4, COMPLEX)], date(2026, 4, 10), "1 to 3 months"),
        (ChannelType.EXTERNAL, [(0, COMPLEX)], date(2026, 4, 10), "1 to 3 months"),
        (ChannelType.EXTERNAL, [(1, "")], date(2026, 4, 10), "a reason must be recorded"),
        (ChannelType.EXTERNAL, [(1, "the boss asked")], date(2026, 4, 10), "a reason must be"),
    ],
)
def test_the_feedback_deadline_follows_the_channel_type(
    channel: ChannelType,
    extensions: list[tuple[int, str]],
    due_on: date,
    refused: str | None,
) -> None:
    rules = INTERNAL if channel is ChannelType.INTERNAL else EXTERNAL
    case = _acknowledged_case(rules)
    now = stockholm("2026-03-01 10:00")
    for i, (months, reason) in enumerate(extensions):
        command = ExtendFeedbackDeadline("case-1", "ana", reason, months)
        if refused is not None and i == len(extensions) - 1:
            with pytest.raises(InvalidCommand, match=refused):
                decide(case, command, now, rules)
        else:
            case = run(case, [command], now, rules)
    assert feedback_due(case, rules.deadlines) == due_on


@pytest.mark.parametrize(
    ("channel", "latest"),
    [(ChannelType.INTERNAL, date(2026, 4, 10)), (ChannelType.EXTERNAL, date(2026, 7, 10))],
)
def test_the_latest_feedback_day_the_law_allows(channel: ChannelType, latest: date) -> None:
    rules = INTERNAL if channel is ChannelType.INTERNAL else EXTERNAL
    assert latest_feedback_due(_acknowledged_case(rules), rules.deadlines) == latest


def test_the_recorded_reason_is_kept_on_the_event() -> None:
    case = _acknowledged_case(EXTERNAL)
    events = decide(
        case,
        ExtendFeedbackDeadline("case-1", "ana", "awaiting_information", 2),
        stockholm("2026-03-01 10:00"),
        EXTERNAL,
    )
    assert [(type(e).__name__, e.reason, e.new_due_on) for e in events] == [  # type: ignore[attr-defined]
        ("FeedbackDeadlineExtended", "awaiting_information", date(2026, 6, 10))
    ]
