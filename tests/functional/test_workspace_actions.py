"""Case page actions: concurrent edits, internal notes, downloads, and bad input."""

from __future__ import annotations

import io
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from caseflow.store import events_table
from caseflow.store.records import files_table
from tests.functional.pages import open_status, receipt_from, submit_report, text_of
from tests.functional.workspace_pages import act, action_form, post_action, signed_in

REPORT = "Chefen lät sin brors firma vinna upphandlingen av städtjänster trots högre pris."


def _report(deployment, **fields) -> tuple[str, str]:
    status, page = submit_report(deployment.client(), what=REPORT, **fields)
    assert status == 200, text_of(page)
    with deployment.engine.connect() as conn:
        case_id = conn.execute(
            sa.select(events_table.c.stream_id).where(events_table.c.type == "ReportReceived")
        ).scalar_one()
    return case_id, receipt_from(page)


def _types(deployment, case_id: str) -> list[str]:
    with deployment.engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(events_table.c.type)
                .where(events_table.c.stream_id == case_id)
                .order_by(events_table.c.version)
            ).scalars()
        )


def test_a_concurrent_edit_is_refused_with_the_input_kept(deployment):
    case_id, _ = _report(deployment)
    anna, _a = signed_in(deployment, "anna")
    bo, _b = signed_in(deployment, "bo")
    page_a = anna.get(f"/staff/cases/{case_id}").get_data(as_text=True)
    page_b = bo.get(f"/staff/cases/{case_id}").get_data(as_text=True)
    form_a = action_form(page_a, "acknowledge")
    form_b = action_form(page_b, "acknowledge")

    first = post_action(anna, case_id, form_a, "acknowledge", message="Tack från Anna.")
    assert first.status_code == 303
    second = post_action(
        bo, case_id, form_b, "acknowledge", message="Tack från Bo, unik text 4711."
    )
    assert second.status_code == 409
    page = second.get_data(as_text=True)
    assert "Tack från Bo, unik text 4711." in page  # what Bo typed is still in the form
    assert 'id="case-changed"' in page
    assert "Tack från Anna." in text_of(page)  # the new state is shown
    assert _types(deployment, case_id).count("CaseAcknowledged") == 1

    # The same form sent twice (a double click): one note, not two.
    page_a = anna.get(f"/staff/cases/{case_id}").get_data(as_text=True)
    form = action_form(page_a, "add_internal_note")
    assert post_action(anna, case_id, form, "add_internal_note", note="En gång").status_code == 303
    again = post_action(anna, case_id, form, "add_internal_note", note="En gång")
    assert again.status_code == 409
    assert _types(deployment, case_id).count("InternalNoteAdded") == 1


def test_internal_notes_never_reach_the_reporter(deployment):
    case_id, receipt = _report(deployment)
    staff, _ = signed_in(deployment)
    assert (
        act(staff, case_id, "acknowledge", message="Vi har tagit emot rapporten.").status_code
        == 303
    )
    note = "Intern anteckning: ring revisorn, hemligt 9931."
    assert act(staff, case_id, "add_internal_note", note=note).status_code == 303

    case_page = text_of(staff.get(f"/staff/cases/{case_id}").get_data(as_text=True))
    assert note in case_page
    status, page = open_status(deployment.client(), receipt)
    assert status == 200
    assert "Vi har tagit emot rapporten." in text_of(page)
    assert "9931" not in page and "anteckning" not in page.lower()
    with deployment.engine.connect() as conn:
        bodies = conn.execute(sa.select(events_table.c.body)).scalars().all()
    assert not any(b and b"9931" in b for b in bodies)  # sealed, not stored in clear


def test_a_file_downloads_as_a_decrypted_attachment(deployment):
    # Plain text over two 64 KiB chunks, so the stream spans several pieces.
    content = "".join(f"rad {i}: belopp {i * 17} kr, åäö\n" for i in range(5000)).encode()
    assert len(content) > 2 * 65536
    case_id, _ = _report(deployment, files=(io.BytesIO(content), "räkning 2026.txt"))
    staff, _ = signed_in(deployment)
    page = staff.get(f"/staff/cases/{case_id}").get_data(as_text=True)
    assert "räkning 2026.txt" in text_of(page)
    with deployment.engine.connect() as conn:
        file_id = conn.execute(sa.select(files_table.c.id)).scalar_one()
    response = staff.get(f"/staff/cases/{case_id}/files/{file_id}")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Disposition"] == (
        "attachment; filename*=UTF-8''" + quote("räkning 2026.txt", safe="")
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_data() == content


def test_every_staff_page_is_not_stored(deployment):
    case_id, _ = _report(deployment)
    staff, _ = signed_in(deployment)
    for path in ("/staff/inbox", f"/staff/cases/{case_id}", "/staff/cases/" + "f" * 32):
        assert staff.get(path).headers["Cache-Control"] == "no-store"


def test_a_missing_field_comes_back_with_a_message_and_nothing_is_stored(deployment):
    case_id, _ = _report(deployment)
    staff, _ = signed_in(deployment)
    staff.get("/lang/en?next=/")
    response = act(staff, case_id, "acknowledge", message="")
    assert response.status_code == 400
    assert "Write the message to the reporter." in text_of(response.get_data(as_text=True))
    staff.get("/lang/sv?next=/")
    response = act(staff, case_id, "assign")
    assert response.status_code == 400
    assert "CaseAcknowledged" not in _types(deployment, case_id)


def test_a_refusal_of_the_workflow_is_shown_with_its_reason(deployment):
    case_id, _ = _report(deployment)
    staff, _ = signed_in(deployment)
    act(staff, case_id, "acknowledge", message="Mottaget.")
    act(
        staff,
        case_id,
        "assess",
        admissible="yes",
        severity="low",
        retaliation_risk="low",
        reason="Inom området",
    )
    response = act(staff, case_id, "conclude", outcome="substantiated", reason="Klart")
    assert response.status_code == 409
    page = text_of(response.get_data(as_text=True))
    assert "needs a substantiated finding" in page
    assert "Klart" in response.get_data(as_text=True)  # the reason typed is kept
    assert "CaseConcluded" not in _types(deployment, case_id)


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"action": "fly_to_the_moon"}, 400),
        ({"action": ""}, 400),
        ({"version": ""}, 400),
        ({"version": "abc"}, 400),
        ({"version": "-1"}, 400),
        ({"version": "99"}, 409),
        ({"action": "record_finding"}, 400),  # not offered while received
        ({"action": "receive"}, 400),  # not a staff action at all
    ],
)
def test_bad_action_input_is_a_4xx_with_a_message(deployment, change, status):
    case_id, _ = _report(deployment)
    staff, _ = signed_in(deployment)
    page = staff.get(f"/staff/cases/{case_id}").get_data(as_text=True)
    data = {**action_form(page, "add_internal_note"), "add_internal_note-note": "x"}
    data.update(change)
    response = staff.post(f"/staff/cases/{case_id}", data=data)
    assert response.status_code == status
    assert 'role="alert"' in response.get_data(as_text=True)
    assert "InternalNoteAdded" not in _types(deployment, case_id)


@pytest.mark.parametrize(
    "path",
    [
        "/staff/cases/" + "0" * 32,
        "/staff/cases/NOT-A-CASE",
        "/staff/cases/%00%ff",
        "/staff/cases/" + "a" * 5000,
        "/staff/cases/{case}/files/" + "0" * 32,
        "/staff/cases/{case}/files/..%2f..%2fsecrets.toml",
        "/staff/cases/" + "0" * 32 + "/files/" + "0" * 32,
    ],
)
def test_garbage_ids_are_refused_not_crashed(deployment, path):
    case_id, _ = _report(deployment)
    staff, _ = signed_in(deployment)
    response = staff.get(path.format(case=case_id))
    assert 400 <= response.status_code < 500
    if response.status_code == 403:
        assert 'id="denied"' in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "query", ["status=bogus", "page=abc", "page=0", "category=nope", "agency=%00"]
)
def test_bad_inbox_filters_are_a_400_with_the_form(deployment, query):
    staff, _ = signed_in(deployment)
    response = staff.get(f"/staff/inbox?{query}")
    assert response.status_code == 400
    assert 'role="alert"' in response.get_data(as_text=True)
