"""The case page puts the step the workflow expects next first and folds the rest.

Walked through a case's life, the "next step" box always holds the action a
careful investigator would take next; every other action the workflow offers
is still on the page, folded into a named group; a form sent back with an
error comes back in an unfolded group, with what was typed.
"""

from __future__ import annotations

import re

from tests.functional.pages import submit_report
from tests.functional.workspace_pages import CASE_LINK, act, offered, signed_in


def _next_step(page: str) -> str | None:
    """The action in the next-step box, if the page has one."""
    box = re.search(
        r'<section class="next-step" id="next-step".*?</section>\s*</section>', page, re.S
    )
    if box is None:
        return None
    found = re.findall(r'<section class="action" id="action-([a-z_]+)">', box.group(0))
    assert len(found) == 1, found
    return found[0]


def _groups(page: str) -> dict[str, tuple[bool, set[str]]]:
    """Each folded group: (unfolded?, the actions in it)."""
    groups = {}
    for m in re.finditer(
        r'<details class="action-group" id="group-([a-z]+)"( open)?>(.*?)</details>', page, re.S
    ):
        actions = set(re.findall(r'<section class="action" id="action-([a-z_]+)">', m.group(3)))
        groups[m.group(1)] = (bool(m.group(2)), actions)
    return groups


def _page(client, case_id: str) -> str:
    return client.get(f"/staff/cases/{case_id}").get_data(as_text=True)


def test_the_next_step_follows_the_case_and_every_other_action_stays_reachable(deployment):
    assert submit_report(deployment.client())[0] == 200
    staff, _ = signed_in(deployment)
    case_id = CASE_LINK.findall(staff.get("/staff/inbox").get_data(as_text=True))[0]

    steps = [
        ("acknowledge", {"message": "Mottaget."}),
        (
            "assess",
            {"admissible": "yes", "severity": "low", "retaliation_risk": "low", "reason": "Ja"},
        ),
        ("open_investigation", {}),
        ("record_finding", {"substantiated": "yes", "subject_id": "subj-1", "severity": "low"}),
        ("begin_deliberation", {}),
    ]
    for expected, fields in steps:
        page = _page(staff, case_id)
        assert _next_step(page) == expected
        groups = _groups(page)
        folded = set().union(*(actions for _, actions in groups.values()))
        # Nothing lost: the next step and the groups hold every action offered, once.
        assert folded | {expected} == offered(page)
        assert expected not in folded
        assert not any(is_open for is_open, _ in groups.values())
        assert act(staff, case_id, expected, **fields).status_code == 303

    # Deliberating, an investigator has no committee step: concluding comes next.
    assert _next_step(_page(staff, case_id)) == "conclude"


def test_a_form_sent_back_with_an_error_comes_back_unfolded(deployment):
    assert submit_report(deployment.client())[0] == 200
    staff, _ = signed_in(deployment)
    case_id = CASE_LINK.findall(staff.get("/staff/inbox").get_data(as_text=True))[0]
    response = act(staff, case_id, "add_internal_note", note="   ")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    is_open, actions = _groups(page)["records"]
    assert is_open and "add_internal_note" in actions
    # The next step is still first and the other groups stay folded.
    assert _next_step(page) == "acknowledge"
    assert [key for key, (unfolded, _) in _groups(page).items() if unfolded] == ["records"]
