"""A case whose whole desk is recused goes to a substitute desk that can open it.

The finding: when every member of a desk declared a conflict after intake,
the case moved to oversight without a grant (DeskChanged, no new key), so
oversight could not open it and had no actions, while its deadline ran.
"""

from __future__ import annotations

import itertools

import pytest

from caseflow.domain.policies.routing import substitute_for
from caseflow.domain.rules import RoutingRules
from tests.functional.pages import submit_report
from tests.functional.workspace_pages import CASE_LINK, act, offered, signed_in


def _declare(client, case_id: str, reason: str) -> None:
    response = act(client, case_id, "declare_conflict", reason=reason)
    assert response.status_code in (200, 303), response.get_data(as_text=True)


def test_the_substitute_desk_opens_and_acts_on_a_case_its_desk_cannot(deployment):
    ana, _ = signed_in(deployment, "ana", "investigator", ("anticorruption",))
    bo, _ = signed_in(deployment, "bo", "investigator", ("anticorruption",))
    tilda, _ = signed_in(deployment, "tilda", "oversight", ("oversight",))
    assert submit_report(deployment.client())[0] == 200
    (case_id,) = CASE_LINK.findall(ana.get("/staff/inbox").get_data(as_text=True))
    _declare(ana, case_id, "Min syster är inblandad.")
    _declare(bo, case_id, "Jag har arbetat med den utpekade.")
    # Neither may open it any more; oversight can, and has what to do.
    for member in (ana, bo):
        assert member.get(f"/staff/cases/{case_id}").status_code in (403, 404)
    page = tilda.get(f"/staff/cases/{case_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "framework contract" in html  # the report itself, opened with the desk's key
    assert offered(html), "oversight has no action on the case"
    # The reporter is told who handles the case now.


RULES = RoutingRules(
    desks=frozenset({"a", "b", "o"}),
    oversight_desk="o",
    categories={},
    substitutes={"a": "b"},
    desk_order=("a", "b", "o"),
)


@pytest.mark.parametrize(
    "recused",
    [set(c) for n in range(0, 7) for c in itertools.combinations("123456", n)],
)
def test_no_case_is_left_with_a_desk_nobody_may_open_it_at(recused):
    """Every desk and every set of recused members: the substitute has someone left."""
    members = {"a": frozenset("12"), "b": frozenset("34"), "o": frozenset("56")}
    for desk in members:
        chosen = substitute_for(desk, RULES, members, frozenset(recused))
        anyone = [d for d in members if d != desk and not members[d] <= frozenset(recused)]
        if anyone:
            assert chosen != desk and not members[chosen] <= frozenset(recused), (desk, recused)
        if desk == "a" and not members["b"] <= frozenset(recused):
            assert chosen == "b"  # the configured substitute first
