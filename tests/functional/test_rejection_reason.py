"""A rejected report tells its reporter why, in the desk's words, not a generic line."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from caseflow.store import events_table
from tests.functional.pages import open_status, receipt_from, submit_report, text_of
from tests.functional.workspace_pages import act, signed_in

REPORT = "Min granne parkerar på gatan framför mitt hus varje dag, fast det är förbjudet."
REASON = "Rapporten gäller en privatperson, inte en myndighet: vänd dig till QZX-kvarteret."


def _rejectable_case(deployment) -> tuple[object, str, str]:
    status, page = submit_report(deployment.client(), what=REPORT)
    assert status == 200, text_of(page)
    with deployment.engine.connect() as conn:
        case_id = conn.execute(
            sa.select(events_table.c.stream_id).where(events_table.c.type == "ReportReceived")
        ).scalar_one()
    anna, _ = signed_in(deployment, "anna")
    assert (
        act(anna, case_id, "acknowledge", message="Vi har tagit emot din rapport.").status_code
        == 303
    )
    return anna, case_id, receipt_from(page)


def _reject(anna, case_id: str, message: str):
    return act(
        anna,
        case_id,
        "assess",
        admissible="no",
        severity="low",
        retaliation_risk="low",
        reason="Utanför lagens tillämpningsområde.",
        message=message,
    )


@pytest.mark.parametrize(
    ("lang", "closed_line"),
    [
        ("sv", "Avslutad: handläggarna tar inte upp rapporten. Deras skäl:"),
        ("en", "Closed: the desk will not handle the report. The desk's reason:"),
    ],
)
def test_the_reporter_reads_the_reason_the_desk_wrote(deployment, lang, closed_line):
    anna, case_id, receipt = _rejectable_case(deployment)

    # Without a reason for the reporter the form comes back, nothing stored.
    refused = _reject(anna, case_id, "")
    assert refused.status_code == 400
    assert "Skriv till rapportören varför rapporten inte kan tas upp." in text_of(
        refused.get_data(as_text=True)
    )
    assert _reject(anna, case_id, REASON).status_code == 303

    reporter = deployment.client()
    reporter.get(f"/lang/{lang}")
    status, page = open_status(reporter, receipt)
    assert status == 200
    shown = text_of(page)
    assert closed_line in shown
    assert REASON in shown
    generic = {
        "sv": "Avslutad: rapporten gäller något som den här kanalen inte hanterar.",
        "en": "Closed: the report falls outside what this channel handles.",
    }[lang]
    assert generic not in shown

    # The reason is sealed like every message to the reporter: not in the log's clear text.
    with deployment.engine.connect() as conn:
        metas = conn.execute(
            sa.select(events_table.c.meta).where(events_table.c.stream_id == case_id)
        ).scalars()
        assert not any("QZX-kvarter" in str(meta) for meta in metas)  # not hex: no id matches
