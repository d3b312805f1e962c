"""The case file as PDF: for authorised staff, with the reporter's identity redacted."""

from __future__ import annotations

import io

from pypdf import PdfReader

from tests.functional.pages import submit_report
from tests.functional.workspace_pages import CASE_LINK, act, signed_in


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_case_file_has_the_report_and_timeline_but_not_the_contact(deployment):
    reporter = deployment.client()
    status, _page = submit_report(
        reporter,
        what="Chefen lät svågerns bolag vinna upphandlingen av städning.",
        persons="enhetschef K",
        contact_choice="give",
        contact="anna.andersson@example.se",
    )
    assert status == 200
    staff, _anna = signed_in(deployment)
    (case_id,) = CASE_LINK.findall(staff.get("/staff/inbox").get_data(as_text=True))
    assert (
        act(staff, case_id, "acknowledge", message="Tack, vi har fått din rapport.").status_code
        == 303
    )

    response = staff.get(f"/staff/cases/{case_id}/export.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Cache-Control"] == "no-store"
    text = _pdf_text(response.get_data())
    assert "svågerns bolag vinna upphandlingen" in text
    assert "enhetschef K" in text and "Tack, vi har fått din rapport." in text
    assert "CaseAcknowledged" in text and case_id in text
    assert "anna.andersson" not in text and "redacted" in text


def test_the_case_file_is_refused_like_the_case_page(deployment):
    reporter = deployment.client()
    submit_report(reporter, what="Mutor i samband med bygglov.")
    staff, _anna = signed_in(deployment)
    (case_id,) = CASE_LINK.findall(staff.get("/staff/inbox").get_data(as_text=True))
    anonymous = deployment.client()
    assert anonymous.get(f"/staff/cases/{case_id}/export.pdf").status_code in (302, 303)
    unknown = staff.get("/staff/cases/" + "0" * 32 + "/export.pdf")
    assert unknown.status_code == staff.get("/staff/cases/" + "0" * 32).status_code == 403
