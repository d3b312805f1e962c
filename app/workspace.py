"""The investigator's workspace: the inbox, the case page, its actions and file downloads.

Routes (all under /staff, all behind :func:`app.staff_access.require_staff`):

- ``GET /staff/inbox``: the cases of the member's desks (primary or
  consulted) from the ``case_index`` projection: searched by reference,
  filtered, sorted and paged (:mod:`caseflow.service.inbox`), with the
  "needs my action" view. Nothing is decrypted here.
- ``GET /staff/workload``: a desk lead's desks' open cases per member.
- ``GET /staff/cases/<id>``: the case decrypted with the member's desk key,
  its timeline and deadlines, and one small form per action the workflow
  allows now. ``POST`` runs one of them.
- ``GET /staff/cases/<id>/files/<file_id>``: a file, decrypted as a stream.

"Does not exist" and "not yours" (another desk, recused, a role that sees
no content) get the same 403 page, so case ids cannot be probed.

Every action form carries the case version the page showed. When the case
has moved on, the page comes back with the new state and what was typed,
and nothing is stored (the check is repeated inside the append's
transaction, see :mod:`caseflow.service.workspace`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import (
    BooleanField,
    DateField,
    Field,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from app import services
from app.case_page import arrange
from app.i18n import collation_key
from app.paging import Paging
from app.staff_access import desk_private_key, require_staff
from app.words import ACTOR_TEXT, DEADLINE_TEXT, STATUS_TEXT
from caseflow.clock import STOCKHOLM
from caseflow.domain import CommandKind
from caseflow.domain.errors import CommandRefused
from caseflow.domain.transitions import OPEN_STATUSES
from caseflow.domain.vocabulary import ExtensionReason, Outcome, RetaliationRisk, Severity
from caseflow.service.inbox import SOON_DAYS, normalise_reference
from caseflow.service.workspace import (
    AccessDenied,
    Action,
    CaseChanged,
    InboxFilter,
    StaffCaseView,
    Workspace,
)
from crypto.signing import Signer
from identity.roles import CASE_ROLES, LEAD_ROLES

bp = Blueprint("workspace", __name__, url_prefix="/staff")

Page = str | tuple[str, int] | Response

MAX_TEXT = 10000
MAX_REASON = 2000

# -- words ---------------------------------------------------------------------------

EVENT_TEXT = {
    "ReportReceived": _l("Report received"),
    "ReporterMessageAdded": _l("Message from the reporter"),
    "ReporterFileAdded": _l("File from the reporter"),
    "ReporterContactProvided": _l("Contact details left"),
    "MessageToReporterSent": _l("Question to the reporter"),
    "CaseAcknowledged": _l("Acknowledged"),
    "CaseAssigned": _l("Assigned"),
    "AccessGranted": _l("Access granted"),
    "AccessRevoked": _l("Access revoked"),
    "ConflictDeclared": _l("Conflict of interest declared"),
    "DeskChanged": _l("Moved to another desk"),
    "OversightInformed": _l("Oversight informed"),
    "CaseAssessed": _l("Assessed"),
    "InvestigationOpened": _l("Investigation opened"),
    "FindingRecorded": _l("Finding recorded"),
    "ReferredToAuthority": _l("Referred to an authority"),
    "FeedbackGiven": _l("Feedback given"),
    "FeedbackDeadlineExtended": _l("Feedback deadline extended"),
    "DeliberationBegun": _l("Deliberation begun"),
    "CaseConcluded": _l("Concluded"),
    "CaseReopened": _l("Reopened"),
    "CaseWithdrawn": _l("Withdrawn by the reporter"),
    "InternalNoteAdded": _l("Internal note"),
    "RecommendationIssued": _l("Recommendation issued"),
    "RecommendationImplemented": _l("Recommendation implemented"),
    "SanctionProposed": _l("Sanction proposed"),
    "SanctionVoteCast": _l("Vote cast"),
    "SanctionDecided": _l("Sanction decided"),
    "CaseEscalated": _l("Escalated"),
    "InactivityReminderIssued": _l("Inactivity reminder"),
    "CaseShredded": _l("Shredded"),
    "HoldPlaced": _l("Kept from shredding"),
    "HoldReleased": _l("Legal hold released"),
}

SEVERITY_CHOICES = [
    SelectChoice(Severity.LOW.value, _l("Low")),
    SelectChoice(Severity.MEDIUM.value, _l("Medium")),
    SelectChoice(Severity.HIGH.value, _l("High")),
    SelectChoice(Severity.CRITICAL.value, _l("Critical")),
]
RISK_CHOICES = [
    SelectChoice(RetaliationRisk.LOW.value, _l("Low")),
    SelectChoice(RetaliationRisk.MEDIUM.value, _l("Medium")),
    SelectChoice(RetaliationRisk.HIGH.value, _l("High")),
]
OUTCOME_CHOICES = [
    SelectChoice(Outcome.SUBSTANTIATED.value, _l("Substantiated")),
    SelectChoice(Outcome.NOT_SUBSTANTIATED.value, _l("Not substantiated")),
    SelectChoice(Outcome.REFERRED.value, _l("Referred to an authority")),
    SelectChoice(Outcome.NO_FURTHER_ACTION.value, _l("No further action")),
]
EXTENSION_REASON_CHOICES = [
    SelectChoice(ExtensionReason.COMPLEX_MATTER.value, _l("The matter is complex")),
    SelectChoice(
        ExtensionReason.AWAITING_INFORMATION.value, _l("Information is awaited from others")
    ),
    SelectChoice(
        ExtensionReason.COORDINATION_WITH_AUTHORITIES.value,
        _l("Coordination with other authorities"),
    ),
    SelectChoice(ExtensionReason.MANY_REPORTS.value, _l("Many reports on the same matter")),
]
YES_NO = [SelectChoice("yes", _l("Yes")), SelectChoice("no", _l("No"))]


# -- forms ---------------------------------------------------------------------------


def _no_control_characters(form: FlaskForm, field: Field) -> None:
    text = field.data or ""
    if isinstance(text, str) and any(ord(c) < 32 and c not in "\t\r\n" for c in text):
        raise ValidationError(_l("Remove the invisible control characters from this field."))


def _text(label: Any, missing: Any, limit: int = MAX_TEXT) -> TextAreaField:
    return TextAreaField(
        label,
        validators=[
            DataRequired(message=missing),
            Length(max=limit, message=_l("Keep this under %(max)d characters.")),
            _no_control_characters,
        ],
    )


def _reason() -> TextAreaField:
    return _text(_l("Reason"), _l("Give a reason."), MAX_REASON)


def _message() -> TextAreaField:
    return _text(_l("Message to the reporter"), _l("Write the message to the reporter."))


class ActionForm(FlaskForm):
    """An action on a case. Subclasses name the command kind they run."""

    kind: CommandKind
    label: Any = ""

    def values(self) -> dict[str, Any]:
        """The checked values, as the workspace service takes them."""
        return {}

    def text(self) -> str:
        return ""


class ReasonForm(ActionForm):
    """An action whose only field is its reason."""

    reason = _reason()

    def values(self) -> dict[str, Any]:
        return {"reason": self.reason.data}


class AcknowledgeForm(ActionForm):
    kind = CommandKind.ACKNOWLEDGE
    label = _l("Acknowledge receipt")
    message = _message()

    def text(self) -> str:
        return str(self.message.data)


class AssignForm(ActionForm):
    kind = CommandKind.ASSIGN
    label = _l("Assign")
    assignee = SelectField(
        _l("Assign to"),
        validators=[InputRequired(message=_l("Choose who handles the case."))],
        validate_choice=True,
    )

    def values(self) -> dict[str, Any]:
        return {"assignee": self.assignee.data}


class ConflictForm(ReasonForm):
    kind = CommandKind.DECLARE_CONFLICT
    label = _l("Declare a conflict of interest (recuse myself)")


class AssessForm(ActionForm):
    kind = CommandKind.ASSESS
    label = _l("Assess")
    admissible = RadioField(
        _l("Is the report admissible?"),
        choices=YES_NO,
        validators=[InputRequired(message=_l("Say whether the report is admissible."))],
    )
    severity = SelectField(
        _l("Severity"),
        choices=SEVERITY_CHOICES,
        validators=[InputRequired(message=_l("Choose a severity."))],
    )
    retaliation_risk = SelectField(
        _l("Risk of retaliation against the reporter"),
        choices=RISK_CHOICES,
        validators=[InputRequired(message=_l("Choose the risk of retaliation."))],
    )
    reason = _reason()
    message = TextAreaField(
        _l("If it is not admissible: the reason, written to the reporter"),
        validators=[
            Length(max=MAX_TEXT, message=_l("Keep this under %(max)d characters.")),
            _no_control_characters,
        ],
    )

    def validate_message(self, field: TextAreaField) -> None:
        # The reporter is owed the reason for a rejection, in words meant for them.
        if self.admissible.data == "no" and not (field.data or "").strip():
            raise ValidationError(_l("Write to the reporter why the report is not admissible."))

    def text(self) -> str:
        return str(self.message.data or "") if self.admissible.data == "no" else ""

    def values(self) -> dict[str, Any]:
        return {
            "admissible": self.admissible.data == "yes",
            "severity": self.severity.data,
            "retaliation_risk": self.retaliation_risk.data,
            "reason": self.reason.data,
        }


class QuestionForm(ActionForm):
    kind = CommandKind.REQUEST_INFORMATION
    label = _l("Ask the reporter a question")
    message = _text(_l("Question"), _l("Write the question."))

    def text(self) -> str:
        return str(self.message.data)


class OpenInvestigationForm(ActionForm):
    kind = CommandKind.OPEN_INVESTIGATION
    label = _l("Open an investigation")


class FindingForm(ActionForm):
    kind = CommandKind.RECORD_FINDING
    label = _l("Record a finding")
    substantiated = RadioField(
        _l("Substantiated?"),
        choices=YES_NO,
        validators=[InputRequired(message=_l("Say whether the finding is substantiated."))],
    )
    subject_id = StringField(
        _l("Pseudonymous subject id (never a name)"),
        validators=[
            DataRequired(message=_l("Give the subject's pseudonymous id.")),
            Regexp(
                r"^[A-Za-z0-9._-]{1,64}$",
                message=_l("Use 1 to 64 letters, digits, dots, dashes or underscores."),
            ),
        ],
    )
    severity = SelectField(
        _l("Severity"),
        choices=SEVERITY_CHOICES,
        validators=[InputRequired(message=_l("Choose a severity."))],
    )

    def values(self) -> dict[str, Any]:
        return {
            "substantiated": self.substantiated.data == "yes",
            "subject_id": self.subject_id.data,
            "severity": self.severity.data,
        }


class FeedbackForm(ActionForm):
    kind = CommandKind.GIVE_FEEDBACK
    label = _l("Give feedback to the reporter")
    message = _message()

    def text(self) -> str:
        return str(self.message.data)


class ExtendForm(ActionForm):
    """Offered only on an external channel (``channel_type = "external"``)."""

    kind = CommandKind.EXTEND_FEEDBACK_DEADLINE
    label = _l("Extend the feedback deadline (external channel: at most 6 months in total)")
    months = IntegerField(
        _l("By how many months"),
        validators=[
            InputRequired(message=_l("Give a number of months.")),
            NumberRange(min=1, max=3, message=_l("Give a number from %(min)s to %(max)s.")),
        ],
    )
    reason = SelectField(
        _l("Why the case needs longer"),
        choices=EXTENSION_REASON_CHOICES,
        validators=[InputRequired(message=_l("Choose why the case needs longer."))],
    )

    def values(self) -> dict[str, Any]:
        return {"months": self.months.data, "reason": self.reason.data}


class DeliberationForm(ActionForm):
    kind = CommandKind.BEGIN_DELIBERATION
    label = _l("Begin deliberation")


class ConcludeForm(ActionForm):
    kind = CommandKind.CONCLUDE
    label = _l("Conclude the case")
    outcome = SelectField(
        _l("Outcome"),
        choices=OUTCOME_CHOICES,
        validators=[InputRequired(message=_l("Choose an outcome."))],
    )
    reason = _reason()

    def values(self) -> dict[str, Any]:
        return {"outcome": self.outcome.data, "reason": self.reason.data}


class ReopenForm(ReasonForm):
    kind = CommandKind.REOPEN
    label = _l("Reopen the case")


class NoteForm(ActionForm):
    kind = CommandKind.ADD_INTERNAL_NOTE
    label = _l("Add an internal note (never shown to the reporter)")
    note = _text(_l("Note"), _l("Write the note."))

    def text(self) -> str:
        return str(self.note.data)


class RecommendationForm(ActionForm):
    kind = CommandKind.ISSUE_RECOMMENDATION
    label = _l("Issue a recommendation")
    agency = SelectField(
        _l("To the agency"),
        validators=[InputRequired(message=_l("Choose the agency."))],
        validate_choice=True,
    )
    due_on = DateField(
        _l("Due date (empty: the default period)"),
        validators=[Optional()],
        format="%Y-%m-%d",
    )

    def validate_due_on(self, field: DateField) -> None:
        if field.data is not None and field.data <= services_today():
            raise ValidationError(_l("Choose a date after today."))

    def values(self) -> dict[str, Any]:
        return {"agency": self.agency.data, "due_on": self.due_on.data}


class ImplementationForm(ActionForm):
    kind = CommandKind.RECORD_IMPLEMENTATION
    label = _l("Record that a recommendation was implemented")
    recommendation_id = SelectField(
        _l("Recommendation"),
        validators=[InputRequired(message=_l("Choose the recommendation."))],
        validate_choice=True,
    )
    implemented_on = DateField(
        _l("Implemented on"),
        validators=[InputRequired(message=_l("Give the date (YYYY-MM-DD)."))],
        format="%Y-%m-%d",
    )

    def validate_implemented_on(self, field: DateField) -> None:
        if field.data is not None and field.data > services_today():
            raise ValidationError(_l("The date cannot lie in the future."))

    def values(self) -> dict[str, Any]:
        return {
            "recommendation_id": self.recommendation_id.data,
            "implemented_on": self.implemented_on.data,
        }


class ProposeForm(ActionForm):
    kind = CommandKind.PROPOSE_SANCTION
    label = _l("Propose a sanction (runs the ladder)")
    subject_id = SelectField(
        _l("Subject"),
        validators=[InputRequired(message=_l("Choose the subject."))],
        validate_choice=True,
    )

    def values(self) -> dict[str, Any]:
        return {"subject_id": self.subject_id.data}


class VoteForm(ActionForm):
    kind = CommandKind.VOTE
    label = _l("Vote on a sanction proposal")
    proposal_id = SelectField(
        _l("Proposal"),
        validators=[InputRequired(message=_l("Choose the proposal."))],
        validate_choice=True,
    )
    approve = RadioField(
        _l("Your vote"),
        choices=[SelectChoice("yes", _l("For")), SelectChoice("no", _l("Against"))],
        validators=[InputRequired(message=_l("Vote for or against."))],
    )

    def values(self) -> dict[str, Any]:
        return {"proposal_id": self.proposal_id.data, "approve": self.approve.data == "yes"}


class DecideForm(ActionForm):
    kind = CommandKind.DECIDE_SANCTION
    label = _l("Decide on a sanction proposal")
    proposal_id = SelectField(
        _l("Proposal"),
        validators=[InputRequired(message=_l("Choose the proposal."))],
        validate_choice=True,
    )

    def values(self) -> dict[str, Any]:
        return {"proposal_id": self.proposal_id.data}


class ReferForm(ActionForm):
    kind = CommandKind.REFER
    label = _l("Refer the case")
    to = SelectField(
        _l("Refer to"),
        validators=[InputRequired(message=_l("Choose where the case goes."))],
        validate_choice=True,
    )
    reason = _reason()

    def values(self) -> dict[str, Any]:
        return {"to": self.to.data, "reason": self.reason.data}


class HoldForm(ActionForm):
    kind = CommandKind.PLACE_HOLD
    label = _l("Keep the case from shredding")
    archive = BooleanField(
        _l("This is an archive decision: the records are kept for good and it cannot be released")
    )
    reason = _reason()

    def values(self) -> dict[str, Any]:
        return {"archive": bool(self.archive.data), "reason": self.reason.data}


class ReleaseHoldForm(ReasonForm):
    kind = CommandKind.RELEASE_HOLD
    label = _l("Release the legal hold")


#: Every action form, in the order the case page shows them.
ACTION_FORMS: dict[CommandKind, type[ActionForm]] = {
    cls.kind: cls
    for cls in (
        AcknowledgeForm,
        AssignForm,
        AssessForm,
        QuestionForm,
        OpenInvestigationForm,
        FindingForm,
        FeedbackForm,
        ExtendForm,
        DeliberationForm,
        RecommendationForm,
        ImplementationForm,
        ProposeForm,
        VoteForm,
        DecideForm,
        ConcludeForm,
        ReopenForm,
        ReferForm,
        NoteForm,
        HoldForm,
        ReleaseHoldForm,
        ConflictForm,
    )
}


class InboxForm(FlaskForm):
    """The inbox's search, filters and order: a GET form, so no CSRF token (it
    changes nothing) and every result has an address that can be bookmarked."""

    class Meta:
        csrf = False

    reference = StringField(
        _l("Case reference"),
        validators=[Optional(), Length(max=64, message=_l("A case reference is 32 characters."))],
    )
    status = SelectField(_l("State"), default="open", validate_choice=True)
    category = SelectField(_l("Category"), default="", validate_choice=True)
    agency = SelectField(_l("Agency"), default="", validate_choice=True)
    assignee = SelectField(_l("Assigned to"), default="", validate_choice=True)
    due = SelectField(_l("Next deadline"), default="", validate_choice=True)
    overdue = BooleanField(_l("Only overdue"))
    mine = BooleanField(_l("Only assigned to me"))
    unassigned = BooleanField(_l("Only without an assignee"))
    action = BooleanField(_l("Only what needs my action"))
    sort = SelectField(_l("Sort by"), default="deadline", validate_choice=True)
    order = SelectField(_l("Order"), default="asc", validate_choice=True)
    page = IntegerField(
        _l("Page"),
        default=1,
        validators=[
            Optional(),
            NumberRange(min=1, max=100000, message=_l("Give a page number from 1.")),
        ],
    )

    def validate_reference(self, field: StringField) -> None:
        if field.data and normalise_reference(field.data) is None:
            raise ValidationError(
                _l(
                    "A case reference has only the digits 0-9 and the letters a-f, "
                    "for example 4f2a91c0."
                )
            )


SORT_TEXT = {
    "deadline": _l("Next deadline"),
    "received": _l("Received"),
    "activity": _l("Last activity"),
    "reference": _l("Case reference"),
}
ORDER_TEXT = {"asc": _l("Earliest or lowest first"), "desc": _l("Latest or highest first")}
DUE_CHOICES = (7, 14, 30, 90)


# -- helpers -------------------------------------------------------------------------


def workspace() -> Workspace:
    service: Workspace = current_app.extensions["visselpipa.workspace"]
    return service


def services_today() -> date:
    return workspace().today()


def _locale() -> str:
    return str(get_locale() or "sv")


def _labels() -> dict[str, dict[str, str]]:
    settings, locale = services.settings(), _locale()
    return {
        "category": {c.id: c.label(locale) for c in settings.categories},
        "agency": {a.id: a.label(locale) for a in settings.agencies},
        "desk": {d.id: d.label(locale) for d in settings.desks},
    }


@bp.record_once
def _register(state: Any) -> None:
    app = state.app
    signing_seed = app.config["VISSELPIPA"].signing_seed
    app.extensions["visselpipa.workspace"] = Workspace(
        app.extensions["visselpipa.cases"], Signer(signing_seed).public_key
    )

    @app.template_filter("staff_time")
    def staff_time(value: str) -> str:
        """A stored time as people read it: the day, and hh:mm:ss for staff events."""
        return value if len(value) <= 10 else f"{value[:10]} {value[11:19]}"


def _denied() -> tuple[str, int]:
    return render_template("staff/denied.html"), 403


# -- the inbox -----------------------------------------------------------------------


def _inbox_form(labels: dict[str, dict[str, str]]) -> InboxForm:
    form = InboxForm(formdata=request.args or None)
    form.status.choices = [
        SelectChoice("open", _("Open cases")),
        SelectChoice("all", _("All cases")),
        *(SelectChoice(value, str(text)) for value, text in STATUS_TEXT.items()),
    ]
    form.category.choices = [
        SelectChoice("", _("All")),
        *(SelectChoice(k, v) for k, v in labels["category"].items()),
    ]
    form.agency.choices = [
        SelectChoice("", _("All")),
        *(SelectChoice(k, v) for k, v in labels["agency"].items()),
    ]
    members: dict[str, str] = {}
    for desk in g.staff.desks:
        members.update({m.id: m.username for m in workspace().members_of(desk)})
    form.assignee.choices = [
        SelectChoice("", _("Anyone")),
        *(SelectChoice(k, v) for k, v in sorted(members.items(), key=lambda kv: kv[1])),
    ]
    form.due.choices = [
        SelectChoice("", _("Any day")),
        *(
            SelectChoice(str(days), ngettext("Within %(num)d day", "Within %(num)d days", days))
            for days in DUE_CHOICES
        ),
    ]
    form.sort.choices = [SelectChoice(k, str(v)) for k, v in SORT_TEXT.items()]
    form.order.choices = [SelectChoice(k, str(v)) for k, v in ORDER_TEXT.items()]
    return form


@bp.get("/inbox")
@require_staff(*CASE_ROLES)
def inbox() -> Page:
    labels = _labels()
    form = _inbox_form(labels)
    page = {
        "form": form,
        "labels": labels,
        "status_text": STATUS_TEXT,
        "deadline_text": DEADLINE_TEXT,
        "sort_text": SORT_TEXT,
        "open_statuses": [s.value for s in OPEN_STATUSES],
        "soon_days": SOON_DAYS,
    }
    if request.args and not form.validate():
        return render_template("staff/inbox.html", box=None, **page), 400
    wanted = InboxFilter(
        status=form.status.data or "open",
        category=form.category.data or "",
        agency=form.agency.data or "",
        overdue=bool(form.overdue.data),
        mine=bool(form.mine.data),
        unassigned=bool(form.unassigned.data),
        page=form.page.data or 1,
        reference=normalise_reference(form.reference.data or "") or "",
        assignee=form.assignee.data or "",
        due_within=int(form.due.data) if form.due.data else None,
        needs_action=bool(form.action.data),
        sort=form.sort.data or "deadline",
        descending=form.order.data == "desc",
    )
    box = workspace().inbox(g.staff, wanted)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "staff/inbox.html",
        box=box,
        paging=Paging(box.page, box.pages),
        page_args=args,
        wanted=wanted,
        **page,
    )


@bp.get("/workload")
@require_staff(*LEAD_ROLES)
def workload() -> Page:
    """The desk lead's view: open cases per member of each of their desks."""
    return render_template(
        "staff/workload.html",
        loads=workspace().workload(g.staff),
        labels=_labels(),
        soon_days=SOON_DAYS,
    )


# -- the case ------------------------------------------------------------------------


def _action_forms(view: StaffCaseView, submitted: ActionForm | None = None) -> list[ActionForm]:
    """One form per action the workflow offers now; ``submitted`` keeps what was typed."""
    forms: list[ActionForm] = []
    for kind, cls in ACTION_FORMS.items():
        if kind not in view.allowed:
            continue
        if submitted is not None and submitted.kind is kind:
            form = submitted
            _fill_choices(form, view)
        else:
            form = cls(formdata=None, prefix=kind.value)
            _fill_choices(form, view)
            _suggest(form, view)
        forms.append(form)
    return forms


def _fill_choices(form: ActionForm, view: StaffCaseView) -> None:
    """The choices that depend on the case: people, agencies, proposals, subjects."""
    state = view.state
    if isinstance(form, AssignForm):
        form.assignee.choices = [
            SelectChoice(m.id, m.username + (" " + _("(me)") if m.id == g.staff.id else ""))
            for m in view.desk_members
            if m.id != state.assignee
        ]
    elif isinstance(form, RecommendationForm):
        locale = _locale()
        form.agency.choices = [
            SelectChoice(a.id, a.label(locale)) for a in services.settings().agencies
        ]
    elif isinstance(form, ImplementationForm):
        form.recommendation_id.choices = [
            SelectChoice(
                r.recommendation_id, f"{r.recommendation_id} ({r.agency}, {r.due_on.isoformat()})"
            )
            for r in state.open_recommendations()
        ]
    elif isinstance(form, ProposeForm):
        subjects = sorted({f.subject_id for f in state.findings if f.substantiated})
        form.subject_id.choices = [SelectChoice(s, s) for s in subjects]
    elif isinstance(form, ReferForm):
        locale = _locale()
        settings = services.settings()
        form.to.choices = [
            SelectChoice(f"desk:{d.id}", _("Desk: %(desk)s", desk=d.label(locale)))
            for d in settings.desks
            if d.id != state.desk
        ] + [
            # The Swedish name is the value: it is what the referral records.
            SelectChoice(
                f"authority:{a.sv}", _("External authority: %(name)s", name=a.label(locale))
            )
            for a in sorted(settings.authorities, key=lambda a: collation_key(a.label(locale)))
        ]
    elif isinstance(form, ConcludeForm):
        # "Referred" is an outcome only after a referral to an authority.
        form.outcome.choices = [
            c for c in OUTCOME_CHOICES if c.value != Outcome.REFERRED.value or state.referrals
        ]
    elif isinstance(form, VoteForm | DecideForm):
        form.proposal_id.choices = [
            SelectChoice(p.proposal_id, f"{p.proposal_id}: {p.subject_id}, {p.level.value}")
            for p in state.proposals
            if not p.decided
        ]


def _suggest(form: ActionForm, view: StaffCaseView) -> None:
    """Preselect the likely answer on a fresh form (never on a submitted one,
    where a missing field must be reported, not filled in)."""
    if isinstance(form, AssignForm):
        form.assignee.data = g.staff.id
    elif isinstance(form, RecommendationForm):
        form.agency.data = view.state.agency


def _render_case(
    view: StaffCaseView,
    submitted: ActionForm | None = None,
    notice: str | None = None,
    changed: bool = False,
) -> str:
    forms = _action_forms(view, submitted)
    return render_template(
        "staff/case.html",
        view=view,
        forms=forms,
        actions=arrange(view, forms, submitted.kind if submitted is not None else None),
        labels=_labels(),
        status_text=STATUS_TEXT,
        deadline_text=DEADLINE_TEXT,
        event_text=EVENT_TEXT,
        actor_text=ACTOR_TEXT,
        notice=notice,
        changed=changed,
        # What was typed for an action the new state no longer offers: shown
        # so it can be copied into another action, never silently dropped.
        kept=submitted if submitted is not None and submitted.kind not in view.allowed else None,
    )


def _open(case_id: str) -> StaffCaseView:
    return workspace().open_case_for(g.staff, desk_private_key, case_id)


@bp.get("/cases/<case_id>")
@require_staff(*CASE_ROLES)
def case(case_id: str) -> Page:
    try:
        view = _open(case_id)
    except AccessDenied:
        return _denied()
    return _render_case(view)


@bp.get("/cases/<case_id>/export.pdf")
@require_staff(*CASE_ROLES)
def export(case_id: str) -> Page:
    """The case file as PDF for the records, the reporter's identity redacted."""
    from caseflow.service.case_export import case_file_pdf

    try:
        view = _open(case_id)
    except AccessDenied:
        return _denied()
    if not view.readable:
        return _denied()
    moment = datetime.now(STOCKHOLM).isoformat(timespec="seconds")
    response = Response(case_file_pdf(view, g.staff.username, moment), mimetype="application/pdf")
    name = f"visselpipa-case-{case_id[:8]}.pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/cases/<case_id>")
@require_staff(*CASE_ROLES)
def act(case_id: str) -> Page:
    try:
        view = _open(case_id)
    except AccessDenied:
        return _denied()
    try:
        kind = CommandKind(request.form.get("action", ""))
        cls = ACTION_FORMS[kind]
    except (ValueError, KeyError):
        return _render_case(view, notice=_("Unknown action. Choose one of the forms below.")), 400
    submitted = cls(prefix=kind.value)
    seen = request.form.get("version", "")
    if not re.fullmatch(r"[0-9]{1,9}", seen):
        notice = _("The form is missing the case version. Reload the page and try again.")
        return _render_case(view, submitted, notice), 400
    if int(seen) != view.version:
        return _changed(view, submitted)
    if kind not in view.allowed:
        notice = _("This action is not available for the case now.")
        return _render_case(view, submitted, notice), 400
    _fill_choices(submitted, view)
    if not submitted.validate():
        notice = _("Check the form: something is missing or wrong.")
        return _render_case(view, submitted, notice), 400
    try:
        workspace().act(
            g.staff,
            desk_private_key,
            case_id,
            int(seen),
            Action(kind, submitted.text(), submitted.values()),
        )
    except AccessDenied:
        return _denied()
    except CaseChanged:
        try:
            return _changed(_open(case_id), submitted)
        except AccessDenied:  # the change was this member's recusal, say
            return _denied()
    except CommandRefused as refusal:
        notice = _("The workflow refused this action: %(reason)s", reason=refusal.reason)
        return _render_case(view, submitted, notice), 409
    flash(_("Done: %(action)s.", action=str(submitted.label)), "ok")
    if kind is CommandKind.DECLARE_CONFLICT:
        # Recused from now on: the case page would answer 403.
        return redirect(url_for("workspace.inbox"), code=303)
    return redirect(url_for("workspace.case", case_id=case_id), code=303)


def _changed(view: StaffCaseView, submitted: ActionForm) -> tuple[str, int]:
    notice = _(
        "The case changed since you opened it; here is its new state. Check it and "
        "submit again: what you typed is kept below, and nothing was saved."
    )
    return _render_case(view, submitted, notice, changed=True), 409


# -- files ---------------------------------------------------------------------------


_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]")


def _download_name(name: str) -> str:
    cleaned = _UNSAFE_NAME.sub("_", name).strip(" .") or "file"
    return cleaned[:200]


@bp.get("/cases/<case_id>/files/<file_id>")
@require_staff(*CASE_ROLES)
def download(case_id: str, file_id: str) -> Page:
    try:
        described, pieces = workspace().open_file(g.staff, desk_private_key, case_id, file_id)
    except AccessDenied:
        return _denied()
    name = quote(_download_name(described.name), safe="")

    def body() -> Iterator[bytes]:
        yield from pieces

    response = Response(body(), mimetype="application/octet-stream", direct_passthrough=True)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{name}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response
