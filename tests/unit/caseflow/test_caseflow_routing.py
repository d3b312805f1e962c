"""Routing and recusal: who gets a report, and who must never hold its key."""

from __future__ import annotations

from datetime import date

import pytest
from caseflow_helpers import DESK_MEMBERS, RULES, received, run, stockholm

from caseflow.domain.commands import Assign, DeclareConflict, Receive, Refer
from caseflow.domain.decider import decide
from caseflow.domain.errors import ActorRecused, InvalidCommand
from caseflow.domain.events import AccessRevoked, DeskChanged
from caseflow.domain.policies.routing import UnknownCategory, route_report
from caseflow.domain.state import CaseState

NOW = stockholm("2026-04-01 10:00")


@pytest.mark.parametrize(
    ("category", "also", "desk", "consulted"),
    [
        ("bribery", (), "anticorruption", ()),
        ("procurement", (), "anticorruption", ()),
        ("fraud", (), "anticorruption", ()),
        ("conflict_of_interest", (), "anticorruption", ("ethics",)),  # a mixed category
        ("partisan_bias", (), "ethics", ()),
        ("impartiality", (), "ethics", ()),
        ("ethics", (), "ethics", ()),
        ("partisan_bias", ("bribery",), "ethics", ("anticorruption",)),  # a mixed report
        ("bribery", ("fraud",), "anticorruption", ()),
    ],
)
def test_a_category_goes_to_its_desk(
    category: str, also: tuple[str, ...], desk: str, consulted: tuple[str, ...]
) -> None:
    route = route_report(category, RULES.routing, also_concerns=also)
    assert (route.desk, route.consulted_desks) == (desk, consulted)
    assert not route.inform_oversight


def test_an_unknown_category_is_refused() -> None:
    with pytest.raises(UnknownCategory, match="'gossip'"):
        route_report("gossip", RULES.routing)
    receive = Receive("c", "intake", "gossip", "csn", date(2026, 4, 1), False)
    with pytest.raises(InvalidCommand, match="receive refused for case c: unknown category"):
        decide(CaseState(), receive, NOW, RULES)


def test_senior_officials_involved_inform_oversight() -> None:
    route = route_report("bribery", RULES.routing, senior_officials_involved=True)
    assert route.inform_oversight


def test_a_desk_whose_every_member_is_named_sends_the_case_to_oversight() -> None:
    route = route_report(
        "bribery", RULES.routing, named_staff=("ana", "bo"), desk_members=DESK_MEMBERS
    )
    assert route.desk == "oversight"
    case = received(date(2026, 4, 1), named_staff=("ana", "bo"))
    assert case.desk == "oversight"


def test_named_staff_are_recused_and_never_receive_the_key() -> None:
    case = received(date(2026, 4, 1), named_staff=("bo",))
    assert case.recused == {"bo"}
    with pytest.raises(ActorRecused, match="assign refused for case case-1: bo is recused"):
        decide(case, Assign("case-1", "ana", "bo"), NOW, RULES)
    with pytest.raises(ActorRecused, match="bo is recused"):
        decide(case, Assign("case-1", "bo", "ana"), NOW, RULES)  # nor may they act on it
    case = run(case, [Assign("case-1", "ana", "ana")], NOW)
    assert case.grants == {"ana"}


def test_declaring_a_conflict_destroys_the_grant_first() -> None:
    case = run(received(date(2026, 4, 1)), [Assign("case-1", "ana", "ana")], NOW)
    events = decide(
        case, DeclareConflict("case-1", "ana", "ana", "my brother-in-law", frozenset()), NOW, RULES
    )
    assert isinstance(events[0], AccessRevoked) and events[0].staff_id == "ana"
    case = run(case, [DeclareConflict("case-1", "ana", "ana", "my brother-in-law")], NOW)
    assert case.grants == set() and case.assignee is None and "ana" in case.recused


def test_when_the_whole_desk_is_recused_the_case_goes_to_oversight() -> None:
    members = DESK_MEMBERS["anticorruption"]
    case = run(
        received(date(2026, 4, 1), named_staff=("ana",)),
        [Assign("case-1", "bo", "bo")],
        NOW,
    )
    events = decide(
        case, DeclareConflict("case-1", "bo", "bo", "former colleague", members), NOW, RULES
    )
    moved = [e for e in events if isinstance(e, DeskChanged)]
    assert [(e.from_desk, e.to_desk) for e in moved] == [("anticorruption", "oversight")]
    case = run(case, [DeclareConflict("case-1", "bo", "bo", "former colleague", members)], NOW)
    assert case.desk == "oversight" and case.grants == set()


def test_referral_to_the_other_desk_takes_the_key_from_the_old_desk() -> None:
    case = run(received(date(2026, 4, 1)), [Assign("case-1", "ana", "ana")], NOW)
    case = run(case, [Refer("case-1", "ana", "a question of impartiality", to_desk="ethics")], NOW)
    assert (case.desk, case.grants, case.assignee) == ("ethics", frozenset(), None)
    with pytest.raises(InvalidCommand, match="unknown desk 'hr'"):
        decide(case, Refer("case-1", "dan", "why not", to_desk="hr"), NOW, RULES)
