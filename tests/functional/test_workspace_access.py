"""Who may use which workspace route: every route × role × desk membership × recusal.

The case is routed to the anti-corruption team and consults the ethics
committee (a conflict-of-interest report). One table says what each kind of
member gets; anonymous visitors and members without the second factor are
sent to sign in.
"""

from __future__ import annotations

import io
import itertools
import re

import pytest
import sqlalchemy as sa

from caseflow.domain.commands import DeclareConflict
from caseflow.service.cases import Step
from caseflow.store.records import files_table
from tests.functional.pages import hidden_fields, submit_report
from tests.functional.staff_pages import add_member, sign_in
from tests.functional.workspace_pages import CASE_LINK, action_form, post_action, signed_in

CASE_ROLES = ("investigator", "desk_lead", "committee_member", "oversight")
NO_CONTENT_ROLES = ("administrator", "auditor")
MEMBERSHIP = {"case desk": "anticorruption", "consulted desk": "ethics", "other desk": "oversight"}


def expected(role: str, membership: str, recused: bool) -> dict[str, int]:
    """The one table: the status each route answers."""
    if role in NO_CONTENT_ROLES:
        return {"inbox": 403, "case": 403, "act": 403, "file": 403}
    allowed = membership in ("case desk", "consulted desk") and not recused
    return {
        "inbox": 200,
        "case": 200 if allowed else 403,
        "act": 303 if allowed else 403,
        "file": 200 if allowed else 403,
    }


ROWS = list(itertools.product(CASE_ROLES + NO_CONTENT_ROLES, MEMBERSHIP, (False, True)))


def _case_with_file(deployment) -> tuple[str, str]:
    status, page = submit_report(
        deployment.client(),
        category="conflict_of_interest",
        what="Handläggaren beviljade bidrag till sin makes förening utan att anmäla jäv.",
        files=(io.BytesIO(b"protokoll 12/2026: beviljat 400 000 kr"), "protokoll.txt"),
    )
    assert status == 200
    with deployment.engine.connect() as conn:
        row = conn.execute(sa.select(files_table.c.id, files_table.c.case_id)).one()
    return row.case_id, row.id


def _recuse(deployment, case_id: str, staff_id: str) -> None:
    cases = deployment.app.extensions["visselpipa.cases"]
    cases.execute(case_id, [Step(DeclareConflict(case_id, staff_id, staff_id, "min bror"))])


def _answers(client, case_id: str, file_id: str) -> dict[str, int]:
    inbox = client.get("/staff/inbox")
    page = client.get(f"/staff/cases/{case_id}")
    hidden = action_form(page.get_data(as_text=True), "add_internal_note")
    if hidden is None:
        # Not offered (a page refused): post what a forger would, with a valid token.
        hidden = {
            **hidden_fields(client.get("/staff/").get_data(as_text=True)),
            "action": "add_internal_note",
            "version": "3",
        }
        hidden["add_internal_note-csrf_token"] = hidden.pop("csrf_token", "")
    act = post_action(client, case_id, hidden, "add_internal_note", note="En anteckning.")
    download = client.get(f"/staff/cases/{case_id}/files/{file_id}")
    return {
        "inbox": inbox.status_code,
        "case": page.status_code,
        "act": act.status_code,
        "file": download.status_code,
    }


@pytest.mark.parametrize(("role", "membership", "recused"), ROWS)
def test_access_matrix(deployment, role, membership, recused):
    case_id, file_id = _case_with_file(deployment)
    client, member = signed_in(deployment, username="m", role=role, desks=(MEMBERSHIP[membership],))
    if recused:
        _recuse(deployment, case_id, member.id)
    want = expected(role, membership, recused)
    assert _answers(client, case_id, file_id) == want
    if want["inbox"] == 200:
        listed = case_id in CASE_LINK.findall(client.get("/staff/inbox").get_data(as_text=True))
        # A recused member sees nothing of the case, its inbox row included.
        assert listed == (membership != "other desk" and not recused)
    if want["case"] == 403:
        # The same page as for a case that does not exist: ids cannot be probed.
        refused = client.get(f"/staff/cases/{case_id}").get_data(as_text=True)
        missing = client.get("/staff/cases/" + "0" * 32).get_data(as_text=True)
        assert _main(refused) == _main(missing)
        assert "Handläggaren beviljade" not in refused


def _main(page: str) -> str:
    return re.search(r"<main[^>]*>(.*)</main>", page, re.S).group(1)


ROUTES = [
    ("GET", "/staff/inbox"),
    ("GET", "/staff/workload"),
    ("GET", "/staff/cases/{case}"),
    ("POST", "/staff/cases/{case}"),
    ("GET", "/staff/cases/{case}/files/{file}"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_anonymous_visitors_are_sent_to_sign_in(deployment, method, path):
    case_id, file_id = _case_with_file(deployment)
    client = deployment.client()
    url = path.format(case=case_id, file=file_id)
    if method == "GET":
        response = client.get(url)
    else:
        token = hidden_fields(client.get("/staff/login").get_data(as_text=True))
        response = client.post(url, data={**token, "action": "add_internal_note", "version": "1"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/login"


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_a_password_alone_opens_nothing(deployment, method, path):
    case_id, file_id = _case_with_file(deployment)
    member = add_member(deployment, username="halv", role="investigator")
    client = deployment.client()
    sign_in(client, member.username, member.password)
    url = path.format(case=case_id, file=file_id)
    if method == "GET":
        response = client.get(url)
    else:
        token = hidden_fields(client.get("/staff/login").get_data(as_text=True))
        response = client.post(url, data={**token, "action": "add_internal_note", "version": "1"})
    assert response.status_code == 303
    assert response.headers["Location"] in ("/staff/login/code", "/staff/enrol")
