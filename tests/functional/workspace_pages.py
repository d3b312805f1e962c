"""Driving the staff workspace (inbox, case page, actions) like a person would."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient

from tests.functional.pages import hidden_fields
from tests.functional.staff_pages import Member, add_member, enrol, sign_in

CASE_LINK = re.compile(r'href="/staff/cases/([0-9a-f]+)"')


def signed_in(
    deployment: Any,
    username: str = "anna",
    role: str = "investigator",
    desks: tuple[str, ...] = ("anticorruption",),
) -> tuple[FlaskClient, Member]:
    """A new member, signed in past both factors, and their client."""
    member = add_member(deployment, username=username, role=role, desks=desks)
    client = deployment.client()
    sign_in(client, username, member.password)
    enrol(client)
    return client, member


def action_form(page: str, action: str) -> dict[str, str] | None:
    """The hidden fields of one action's form on the case page; None if not offered."""
    match = re.search(rf'<section class="action" id="action-{action}">(.*?)</section>', page, re.S)
    return None if match is None else hidden_fields(match.group(1))


def offered(page: str) -> set[str]:
    return set(re.findall(r'<section class="action" id="action-([a-z_]+)">', page))


def act(client: FlaskClient, case_id: str, action: str, **fields: str) -> Any:
    """Load the case page, then submit one action's form with ``fields`` (unprefixed)."""
    page = client.get(f"/staff/cases/{case_id}").get_data(as_text=True)
    hidden = action_form(page, action)
    assert hidden is not None, f"{action} is not offered"
    return post_action(client, case_id, hidden, action, **fields)


def post_action(
    client: FlaskClient, case_id: str, hidden: dict[str, str], action: str, **fields: str
) -> Any:
    data = {**hidden, **{f"{action}-{name}": value for name, value in fields.items()}}
    return client.post(f"/staff/cases/{case_id}", data=data)
