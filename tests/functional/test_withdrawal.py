"""A reporter really withdraws a report: the case closes as withdrawn, staff see it,
retention shreds it like any closed case, and logging out stays what it was."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from caseflow.clock import STOCKHOLM
from caseflow.service.tick import Tick
from caseflow.store import events_table
from tests.functional.pages import hidden_fields, open_status, receipt_from, submit_report, text_of
from tests.functional.workspace_pages import offered, signed_in

REPORT = "Enhetschefen tar emot middagar från en leverantör som just fått ett nytt avtal."


def _reported(deployment) -> tuple[str, str]:
    status, page = submit_report(deployment.client(), what=REPORT)
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


@pytest.mark.parametrize(
    ("lang", "unticked", "withdrawn_line"),
    [
        (
            "sv",
            "Kryssa i rutan för att bekräfta, eller gå tillbaka till ditt ärende.",
            "Du har återkallat rapporten. Ärendet är avslutat",
        ),
        (
            "en",
            "Tick the box to confirm, or go back to your case.",
            "You have withdrawn the report. The case is closed",
        ),
    ],
)
def test_the_reporter_withdraws_after_confirming_and_the_case_closes(
    deployment, lang, unticked, withdrawn_line
):
    case_id, receipt = _reported(deployment)
    reporter = deployment.client()
    reporter.get(f"/lang/{lang}")
    status, page = open_status(reporter, receipt)
    assert status == 200
    assert 'href="/status/withdraw"' in page
    assert 'action="/status/leave"' in page  # logging out is still there, and separate

    confirm = reporter.get("/status/withdraw").get_data(as_text=True)
    assert 'name="understood"' in confirm

    # Not ticked: the page comes back with the message, and nothing changes.
    refused = reporter.post("/status/withdraw", data=hidden_fields(confirm))
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert unticked in text_of(page)
    assert "<title>" + ("Fel" if lang == "sv" else "Error") in page
    assert "CaseWithdrawn" not in _types(deployment, case_id)

    done = reporter.post("/status/withdraw", data={**hidden_fields(confirm), "understood": "y"})
    assert done.status_code == 303
    page = reporter.get("/status").get_data(as_text=True)
    assert withdrawn_line in text_of(page)
    assert 'href="/status/withdraw"' not in page  # nothing left to withdraw
    assert 'action="/status/message"' not in page  # a closed case takes no more messages
    assert _types(deployment, case_id)[-1] == "CaseWithdrawn"

    # A second withdrawal (another tab) is refused gently, not an error page.
    again = reporter.post("/status/withdraw", data={**hidden_fields(confirm), "understood": "y"})
    assert again.status_code == 303
    assert _types(deployment, case_id).count("CaseWithdrawn") == 1


def test_staff_see_the_withdrawal_and_retention_shreds_the_case(deployment):
    case_id, receipt = _reported(deployment)
    reporter = deployment.client()
    open_status(reporter, receipt)
    confirm = reporter.get("/status/withdraw").get_data(as_text=True)
    reporter.post("/status/withdraw", data={**hidden_fields(confirm), "understood": "y"})

    anna, _ = signed_in(deployment, "anna")
    anna.get("/lang/en")
    case_page = anna.get(f"/staff/cases/{case_id}").get_data(as_text=True)
    assert "Withdrawn by the reporter" in text_of(case_page)
    # A withdrawn case is closed: nothing to handle, but it can be kept or noted.
    assert offered(case_page) == {"add_internal_note", "place_hold"}
    inbox = anna.get("/staff/inbox?status=withdrawn").get_data(as_text=True)
    assert case_id[:8] in inbox and "Withdrawn by the reporter" in text_of(inbox)
    assert case_id[:8] not in anna.get("/staff/inbox").get_data(as_text=True)  # not open

    # Retention applies as to any closed case: shredded two years on, and the
    # receipt no longer opens anything.
    today = datetime.now(STOCKHOLM)
    tick = Tick(deployment.engine, deployment.settings.rules)
    assert tick.run(today + timedelta(days=30)).shredded == []
    assert tick.run(today + timedelta(days=2 * 366 + 1)).shredded == [case_id]
    status, page = open_status(deployment.client(), receipt)
    assert status == 400


def test_a_message_or_file_sent_from_a_page_shown_before_the_withdrawal_is_refused_gently(
    deployment,
):
    import io

    from caseflow.store.blobs import blob_chunks_table

    case_id, receipt = _reported(deployment)
    reporter = deployment.client()
    status, page = open_status(reporter, receipt)
    token = hidden_fields(page)["csrf_token"]
    confirm = reporter.get("/status/withdraw").get_data(as_text=True)
    reporter.post("/status/withdraw", data={**hidden_fields(confirm), "understood": "y"})

    message = reporter.post("/status/message", data={"csrf_token": token, "message": "Ett till."})
    assert message.status_code == 303
    files = reporter.post(
        "/status/files",
        data={"csrf_token": token, "files": (io.BytesIO(b"anbud\n" * 50), "anbud.txt")},
        content_type="multipart/form-data",
    )
    assert files.status_code == 303
    assert "Ärendet är avslutat" in text_of(reporter.get("/status").get_data(as_text=True))
    assert _types(deployment, case_id)[-1] == "CaseWithdrawn"
    with deployment.engine.connect() as conn:  # the refused file left no sealed rows
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(blob_chunks_table)).scalar_one()
            == 0
        )
