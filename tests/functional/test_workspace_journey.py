"""The investigator's journey: inbox, case, acknowledge, question, answer, finding, conclude."""

from __future__ import annotations

import sqlalchemy as sa

from caseflow.store import events_table
from tests.functional.pages import hidden_fields, open_status, receipt_from, submit_report, text_of
from tests.functional.workspace_pages import CASE_LINK, act, offered, signed_in


def _only_case_id(client) -> str:
    ids = CASE_LINK.findall(client.get("/staff/inbox").get_data(as_text=True))
    assert len(ids) == 1, ids
    return ids[0]


def test_an_investigator_handles_a_report_from_inbox_to_conclusion(deployment):
    reporter = deployment.client()
    status, page = submit_report(
        reporter,
        what="Upphandlingen av IT-drift gick till chefens svågers bolag utan annons.",
        persons="enhetschef K",
    )
    assert status == 200
    receipt = receipt_from(page)

    staff, anna = signed_in(deployment)
    inbox = staff.get("/staff/inbox")
    assert inbox.status_code == 200
    inbox_text = text_of(inbox.get_data(as_text=True))
    assert "7 dagar kvar" in inbox_text or "7 days left" in inbox_text
    assert "Upphandlingen" not in inbox_text  # nothing decrypted on the inbox
    case_id = _only_case_id(staff)

    case = staff.get(f"/staff/cases/{case_id}")
    assert case.status_code == 200
    page = case.get_data(as_text=True)
    assert "Upphandlingen av IT-drift gick till chefens svågers bolag" in text_of(page)
    assert "enhetschef K" in text_of(page)
    assert {"acknowledge", "assign", "add_internal_note", "declare_conflict"} <= offered(page)
    assert "assess" not in offered(page)

    response = act(staff, case_id, "acknowledge", message="Tack, vi har tagit emot din rapport.")
    assert response.status_code == 303, text_of(response.get_data(as_text=True))

    status, page = open_status(reporter, receipt)
    assert "Tack, vi har tagit emot din rapport." in text_of(page)

    assert act(staff, case_id, "assign", assignee=anna.id).status_code == 303
    response = act(staff, case_id, "request_information", message="Vilket datum skrevs avtalet?")
    assert response.status_code == 303
    status, page = open_status(reporter, receipt)
    assert "Vilket datum skrevs avtalet?" in text_of(page)

    status_page = reporter.get("/status").get_data(as_text=True)
    answer = reporter.post(
        "/status/message",
        data={**hidden_fields(status_page), "message": "Den 3 mars, enligt diariet."},
        follow_redirects=True,
    )
    assert answer.status_code == 200

    page = staff.get(f"/staff/cases/{case_id}").get_data(as_text=True)
    assert "Den 3 mars, enligt diariet." in text_of(page)

    for action, fields in (
        (
            "assess",
            {
                "admissible": "yes",
                "severity": "high",
                "retaliation_risk": "medium",
                "reason": "Inom området",
            },
        ),
        ("open_investigation", {}),
        ("record_finding", {"substantiated": "yes", "subject_id": "subj-17", "severity": "high"}),
        ("conclude", {"outcome": "substantiated", "reason": "Avtalet bröt mot LOU."}),
    ):
        response = act(staff, case_id, action, **fields)
        assert response.status_code == 303, (action, text_of(response.get_data(as_text=True)))

    page = staff.get(f"/staff/cases/{case_id}").get_data(as_text=True)
    assert "Avslutat" in text_of(page) or "Concluded" in text_of(page)
    assert offered(page) >= {"reopen", "add_internal_note"}
    with deployment.engine.connect() as conn:
        rows = conn.execute(
            sa.select(events_table.c.type, events_table.c.actor)
            .where(events_table.c.stream_id == case_id)
            .order_by(events_table.c.version)
        ).all()
    staff_rows = [r for r in rows if r.type not in ("ReportReceived", "ReporterMessageAdded")]
    assert {r.actor for r in staff_rows if r.type != "AccessGranted"} == {anna.id}
    assert [r.type for r in rows].count("CaseConcluded") == 1
