"""A case file as PDF for the records, with the reporter's identity details redacted.

For authorised staff only: it is made from a :class:`StaffCaseView`, which
exists only after the per-case access check and the decryption in the
member's session. It holds the routing facts, the deadlines, the report, the
list of files (names and sizes, not their content), and the timeline with the
messages and internal notes. The reporter's contact details are never
printed: the page says that they were given and were redacted (EU directive
2019/1937 art. 16: the identity is disclosed only with consent or a legal
ground, which this export is not).

.. warning::
   The PDF holds plaintext of the case. It is sent with ``no-store`` and as an
   attachment; where it goes after that is the member's responsibility.
"""

from __future__ import annotations

from caseflow.pdf import pdf_text
from caseflow.service.workspace import StaffCaseView

REDACTED = "[redacted: identity details of the reporter]"

_REPORT_FIELDS = (
    ("what", "What happened"),
    ("when", "When"),
    ("where", "Where"),
    ("persons", "Persons involved"),
)


def case_file_pdf(view: StaffCaseView, exported_by: str, exported_at: str) -> bytes:
    """The case file of ``view`` as PDF bytes (fpdf2, core fonts)."""
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    state = view.state
    pdf = FPDF(format="A4")
    pdf.set_title(pdf_text(f"Case file {view.case_id}"))
    pdf.set_creator("Visselpipa")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    width = pdf.epw

    def para(text: str, size: float = 9, style: str = "", family: str = "Helvetica") -> None:
        pdf.set_font(family, style=style, size=size)
        pdf.multi_cell(width, size * 0.5, pdf_text(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def heading(text: str) -> None:
        pdf.ln(3)
        para(text, 12, "B")

    para(f"Case file {view.case_id}", 15, "B")
    para(f"Exported by {exported_by} at {exported_at}. Confidential: for the records.", 8)
    heading("Case")
    for label, value in (
        ("State", state.status.value),
        ("Category", state.category),
        ("Agency", state.agency),
        ("Desk", state.desk),
        ("Consulted desks", ", ".join(state.consulted_desks) or "-"),
        ("Received on", str(state.received_on or "-")),
        ("Acknowledged on", str(state.acknowledged_on or "-")),
        ("Closed on", str(state.closed_on or "-")),
        ("Outcome", state.outcome.value if state.outcome else "-"),
        ("Severity", state.severity.value if state.severity else "-"),
        ("Risk of retaliation", state.retaliation_risk.value if state.retaliation_risk else "-"),
    ):
        para(f"{label}: {value}")
    if view.deadlines:
        heading("Deadlines")
        for shown in view.deadlines:
            due = shown.deadline
            what = due.kind.value + (f" {due.reference}" if due.reference else "")
            para(f"{what}: due {due.due_on.isoformat()} ({shown.days_left} days left)")
    heading("Report")
    if view.report is None:
        para("The report cannot be read (the case key is not available to this desk).")
    else:
        for key, label in _REPORT_FIELDS:
            para(f"{label}:", style="B")
            para(view.report.get(key) or "-")
    para(f"Contact details: {REDACTED if view.contact else 'none given'}")
    if view.files:
        heading("Files")
        for f in view.files:
            para(f"{f.name} ({f.size} bytes, {f.content_type}, added {f.added_on})")
    heading("Timeline")
    for item in view.timeline:
        actor = "reporter" if item.from_reporter else item.actor
        para(f"{item.when}  {item.type}  ({actor})", style="B")
        if item.text is not None:
            para(item.text)
    return bytes(pdf.output())
