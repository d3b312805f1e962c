"""The reporter's side: information, the report form, the receipt, the status page.

Works fully without JavaScript. Plaintext stops here: the report, messages
and files are sealed by the intake service inside the request handler, and
uploads are sealed while the multipart parser reads them.
"""

from __future__ import annotations

import secrets
import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import generate_csrf
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from app import pages, services
from app.file_review import CheckedFile, FileRefused, Staging, check_and_keep
from app.forms import FilesForm, LeaveForm, MessageForm, ReceiptForm, ReportForm, WithdrawForm
from app.i18n import LOCALES, MalformedTarget, collation_key, local_target
from app.security import accept_uploads
from caseflow.domain.errors import CommandRefused
from caseflow.service.intake import Report
from caseflow.service.uploads import DiscardingUpload, SealedUpload, discard_blobs
from config.settings import Authority
from crypto.sealing import CaseKey
from identity.reporter_sessions import CaseAccess

bp = Blueprint("reporter", __name__)

STATUS_TEXT = {
    "received": _l("Received. The desk has not yet acknowledged your report."),
    "acknowledged": _l("Acknowledged. The desk has confirmed that it received your report."),
    "assessed": _l("Assessed. The desk has decided how to handle your report."),
    "investigating": _l("Under investigation."),
    "deliberating": _l("The ethics committee is deliberating on the findings."),
    "feedback_given": _l("The desk has given you feedback: see the messages below."),
    "concluded": _l("Concluded."),
    "rejected": _l("Closed: the report falls outside what this channel handles."),
    "reopened": _l("Reopened."),
    "withdrawn": _l(
        "You have withdrawn the report. The case is closed; its records are destroyed "
        "when the retention period ends."
    ),
    "shredded": _l("The case has been closed and its records destroyed."),
}

_BIDI_AND_CONTROL = {"Cc", "Cf"}


def safe_file_name(name: str) -> str:
    """A display name for an uploaded file; the name is never used as a path."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c) not in _BIDI_AND_CONTROL)
    return name.strip()[:200] or "file"


@dataclass
class UploadState:
    """The files of one request: staged under a key that dies with the request."""

    staging: Staging
    uploads: list[SealedUpload] = field(default_factory=list)
    too_many: bool = False
    #: What :meth:`keep` kept, until the request has stored it.
    kept: list[CheckedFile] = field(default_factory=list)

    def factory(self) -> Callable[[str, str], Any]:
        limit = services.settings().max_files

        def make(filename: str, content_type: str) -> Any:
            if not filename:  # a file input left empty
                return DiscardingUpload()
            if len(self.uploads) >= limit:
                self.too_many = True
                return DiscardingUpload()
            upload = services.intake().new_upload(
                self.staging, safe_file_name(filename), content_type[:100]
            )
            self.uploads.append(upload)
            return upload

        return make

    def keep(
        self, case_key: CaseKey, *, keep_metadata: bool
    ) -> tuple[list[CheckedFile], list[str]]:
        """Check every staged file and seal what is kept under ``case_key``.

        All or nothing: if one file is refused, none is kept and the reporter
        is told which and why.
        """
        settings = services.settings()
        errors: list[str] = []
        if self.too_many:
            errors.append(_("You can attach at most %(n)d files at a time.", n=settings.max_files))
        for upload in self.uploads:
            if upload.too_large:
                errors.append(
                    _(
                        "The file “%(name)s” is larger than %(mib)d MiB.",
                        name=upload.name,
                        mib=settings.max_file_bytes // (1024 * 1024),
                    )
                )
        if errors:
            self.discard()
            return [], errors
        checked: list[CheckedFile] = []
        locale = _locale()
        for upload in self.uploads:
            staged = upload.finish()
            try:
                checked.append(
                    check_and_keep(
                        staged,
                        bytes(upload.head),
                        self.staging,
                        case_key,
                        services.engine(),
                        keep_metadata=keep_metadata,
                        max_file_bytes=settings.max_file_bytes,
                        max_check_bytes=settings.max_check_bytes,
                    )
                )
            except FileRefused as refusal:
                errors.append(
                    _(
                        "The file “%(name)s” was not accepted: %(reason)s",
                        name=refusal.name,
                        reason=refusal.reason.message(locale),
                    )
                )
        self.discard()  # the staged blobs (check_and_keep removed the ones it read)
        if errors:
            discard_blobs(services.engine(), [kept.sealed for kept in checked])
            return [], errors
        self.kept = checked
        return checked, []

    def discard(self) -> None:
        for upload in self.uploads:
            upload.discard()
        self.uploads.clear()

    def abandon(self) -> None:
        """The request failed (a dependency is down): remove every blob it wrote,
        the staged ones and the ones already checked and kept."""
        self.discard()
        discard_blobs(services.engine(), [kept.sealed for kept in self.kept])
        self.kept.clear()


def _prepare_report_uploads() -> None:
    submission = services.intake().begin()
    g.submission = submission
    g.uploads = UploadState(Staging(submission.case_id))
    accept_uploads(g.uploads.factory())


def _prepare_status_uploads() -> None:
    access = _current_access()
    if access is not None:
        g.uploads = UploadState(Staging(access.case_id))
        accept_uploads(g.uploads.factory())


@bp.record_once
def _register(state: Any) -> None:
    app = state.app
    app.config.setdefault("UPLOAD_PREPARERS", {}).update(
        {
            "reporter.report": _prepare_report_uploads,
            "reporter.status_files": _prepare_status_uploads,
        }
    )
    app.config.setdefault("FORM_RERENDER", {}).update(
        {
            "reporter.report": _rerender_report,
            "reporter.status": _rerender_receipt,
            "reporter.status_message": _rerender_message,
        }
    )


# -- information pages ------------------------------------------------------


@bp.get("/")
def index() -> str:
    return pages.filled("index", lambda _marks: render_template("index.html"))


@dataclass(frozen=True)
class InitialGroup:
    """The authorities whose name, in the page's language, begins with ``initial``."""

    initial: str
    authorities: tuple[Authority, ...]


def by_initial(authorities: tuple[Authority, ...], locale: str) -> list[InitialGroup]:
    """Alphabetical by the name the reader sees, grouped under initial letters."""
    groups: dict[str, list[Authority]] = {}
    for a in sorted(authorities, key=lambda a: collation_key(a.label(locale))):
        groups.setdefault(a.label(locale)[:1].upper(), []).append(a)
    return [InitialGroup(initial, tuple(rows)) for initial, rows in groups.items()]


@bp.get("/external")
def external() -> str:
    locale = _locale()
    authorities = services.settings().authorities
    swedish = tuple(a for a in authorities if a.kind == "se")
    return render_template(
        "external.html",
        swedish=by_initial(swedish, locale),
        swedish_count=len(swedish),
        union=sorted(
            (a for a in authorities if a.kind == "eu"),
            key=lambda a: collation_key(a.label(locale)),
        ),
        locale=locale,
    )


@bp.get("/lang/<code>")
def choose_language(code: str) -> Response:
    if code not in LOCALES:
        abort(404)
    try:
        # Only local paths: an open redirect would let a link lead a reporter away.
        target = local_target(request.args.get("next", ""))
    except MalformedTarget:
        abort(400)
    session["lang"] = code
    return redirect(target or url_for("reporter.index"), code=303)


# -- reporting --------------------------------------------------------------


def _report_form() -> ReportForm:
    settings = services.settings()
    locale = _locale()
    form = ReportForm()
    form.category.choices = [SelectChoice("", _("— choose —"))] + [
        SelectChoice(c.id, c.label(locale)) for c in settings.categories
    ]
    form.agency.choices = [SelectChoice("", _("— choose —"))] + [
        SelectChoice(a.id, a.label(locale)) for a in settings.agencies
    ]
    return form


def _locale() -> str:
    from flask_babel import get_locale

    return str(get_locale() or "sv")


def _new_form_token() -> str:
    token = secrets.token_hex(8)
    session["report_tokens"] = [*session.get("report_tokens", [])[-4:], token]
    return token


def _render_report(
    form: ReportForm, errors: list[str] | None = None, form_token: str | None = None
) -> str:
    return render_template(
        "report.html",
        form=form,
        form_token=_new_form_token() if form_token is None else form_token,
        upload_errors=errors or [],
        max_files=services.settings().max_files,
        max_file_mib=services.settings().max_file_bytes // (1024 * 1024),
    )


def _rerender_report(notice: str) -> str:
    """The report form with what was typed, after a refusal before the view ran."""
    _discard_pending_uploads()
    form = _report_form()
    form.validate()  # shows what else needs fixing, alongside the notice
    return _render_report(form, [str(notice)])


def _rerender_receipt(notice: str) -> str:
    return render_template("status_login.html", form=ReceiptForm(), notice=str(notice))


def _discard_pending_uploads() -> None:
    uploads: UploadState | None = g.get("uploads")
    if uploads is not None:
        uploads.discard()


def _empty_report_form(marks: Mapping[str, str]) -> str:
    form = _report_form()
    form.csrf_token.current_token = marks["csrf"]
    return _render_report(form, form_token=marks["form_token"])


@bp.route("/report", methods=["GET", "POST"])
def report() -> str | tuple[str, int]:
    if request.method == "GET":
        # The same empty form for everyone: rendered once per language, then
        # only this visitor's two tokens are new (app/pages.py).
        return pages.filled(
            "report", _empty_report_form, csrf=generate_csrf, form_token=_new_form_token
        )
    form = _report_form()
    uploads: UploadState = g.uploads
    token = request.form.get("form_token", "")
    if token not in session.get("report_tokens", []):
        uploads.discard()
        # The same form sent twice (a reload after the receipt): no second case.
        return render_template("already_sent.html"), 409
    if not form.validate():
        had_files = bool(uploads.uploads)
        uploads.discard()
        notice = [_("Attach your files again: for your protection they were not kept.")]
        return _render_report(form, notice if had_files else []), 400
    files, upload_errors = uploads.keep(
        g.submission.key, keep_metadata=bool(form.keep_metadata.data)
    )
    if upload_errors:
        return _render_report(form, upload_errors), 400
    receipt = services.intake().submit(
        g.submission,
        Report(
            category=form.category.data,
            agency=form.agency.data,
            what=form.what.data,
            when=form.when.data or "",
            where=form.where.data or "",
            persons=form.persons.data or "",
            senior_officials=bool(form.senior_officials.data),
            contact=(form.contact.data or "").strip()
            if form.contact_choice.data == "give"
            else None,
        ),
        files,
    )
    session["report_tokens"] = [t for t in session.get("report_tokens", []) if t != token]
    # The signed proof rides in the page (app.proof): nothing more is stored.
    proof = current_app.extensions["visselpipa.proofs"].issue(g.submission.case_id)
    return render_template(
        "receipt.html",
        receipt=str(receipt),
        files=files,
        proof_document=proof.document().decode("ascii").strip(),
    )


# -- following up -----------------------------------------------------------

_SESSION_KEY = "reporter"


def _current_access() -> CaseAccess | None:
    if "access" not in g:
        g.access = services.reporter_sessions().resume(session.get(_SESSION_KEY))
        if g.access is None:
            session.pop(_SESSION_KEY, None)
    access: CaseAccess | None = g.access
    return access


def _render_status(
    access: CaseAccess,
    message_form: MessageForm | None = None,
    file_errors: list[str] | None = None,
    pending: bool = False,
) -> str:
    view = services.intake().view(access)
    settings = services.settings()
    locale = _locale()
    category = next(
        (c.label(locale) for c in settings.categories if c.id == view.category), view.category
    )
    agency = next((a.label(locale) for a in settings.agencies if a.id == view.agency), view.agency)
    return render_template(
        "status.html",
        view=view,
        status_text=STATUS_TEXT.get(view.status, view.status),
        category=category,
        agency=agency,
        message_form=message_form or MessageForm(),
        files_form=FilesForm(),
        leave_form=LeaveForm(),
        file_errors=file_errors or [],
        pending=pending,
        desk_labels={d.id: d.label(locale) for d in settings.desks},
        max_files=settings.max_files,
        max_file_mib=settings.max_file_bytes // (1024 * 1024),
    )


@bp.route("/status", methods=["GET", "POST"])
def status() -> str | tuple[str, int] | Response:
    if request.method == "GET":
        access = _current_access()
        if access is not None:
            return _render_status(access)
        return render_template("status_login.html", form=ReceiptForm())
    started = time.monotonic()
    try:
        return _check_receipt()
    finally:
        # Right, wrong and malformed codes all take at least the floor: the
        # time of the answer tells nothing the answer does not.
        remaining = started + services.receipt_floor() - time.monotonic()
        if remaining > 0:
            time.sleep(remaining)


def _check_receipt() -> tuple[str, int] | Response:
    # Every answer re-signs the session cookie, as a right code does when it
    # stores the session token: the cookie work is the same on every path.
    session.modified = True
    form = ReceiptForm()
    if not form.validate():
        # The same answer and the same cost as a wrong code (no oracle).
        services.intake().open_case("")
        return render_template("status_login.html", form=form, not_found=False), 400
    access = services.intake().open_case(form.receipt.data)
    if access is None:
        return render_template("status_login.html", form=form, not_found=True), 400
    session[_SESSION_KEY] = services.reporter_sessions().start(access)
    pending = form.pending_message.data or ""
    if pending.strip():
        # The message typed before the session ended, back in the box, unsent.
        message_form = MessageForm(formdata=None, data={"message": pending})
        return _render_status(access, message_form=message_form, pending=True), 200
    return redirect(url_for("reporter.status"), code=303)


def _access_or_expired() -> CaseAccess | Response:
    access = _current_access()
    if access is None:
        flash(
            _(
                "Your session had ended. Enter your receipt code again; what you "
                "wrote was not saved."
            ),
            "error",
        )
        return redirect(url_for("reporter.status"), code=303)
    return access


def _rerender_message(notice: str) -> str:
    """The receipt form, carrying the message typed in a session that had ended."""
    form = ReceiptForm(formdata=None, data={"pending_message": request.form.get("message", "")})
    return render_template("status_login.html", form=form, notice=str(notice))


@bp.post("/status/message")
def status_message() -> str | tuple[str, int] | Response:
    access = _current_access()
    if access is None:
        notice = _(
            "Your session had ended. Enter your receipt code again: your message is "
            "kept below and will be ready to send."
        )
        return _rerender_message(notice), 400
    form = MessageForm()
    if not form.validate():
        return _render_status(access, message_form=form), 400
    try:
        services.intake().add_message(access, form.message.data)
    except CommandRefused:  # the case closed (withdrawn, concluded) since the page was shown
        flash(_("The case is closed: it takes no more messages or files."), "error")
        return redirect(url_for("reporter.status"), code=303)
    flash(_("Your message was sent."), "ok")
    return redirect(url_for("reporter.status") + "#messages", code=303)


@bp.post("/status/files")
def status_files() -> str | tuple[str, int] | Response:
    access = _access_or_expired()
    if isinstance(access, Response):
        return access
    uploads: UploadState = g.uploads
    form = FilesForm()  # CSRF already checked centrally
    files, errors = uploads.keep(access.keys.current, keep_metadata=bool(form.keep_metadata.data))
    if not errors and not files:
        errors = [_("Choose at least one file to add.")]
    if errors:
        return _render_status(access, file_errors=errors), 400
    try:
        services.intake().add_files(access, files)
    except CommandRefused:  # the case closed since the page was shown: keep nothing
        uploads.abandon()
        flash(_("The case is closed: it takes no more messages or files."), "error")
        return redirect(url_for("reporter.status"), code=303)
    flash(_("Your files were added. What the check found is listed with each file."), "ok")
    return redirect(url_for("reporter.status") + "#files", code=303)


@bp.route("/status/withdraw", methods=["GET", "POST"])
def status_withdraw() -> str | tuple[str, int] | Response:
    """Withdraw the report: this page asks to confirm, its form does it."""
    access = _access_or_expired()
    if isinstance(access, Response):
        return access
    years = services.settings().rules.deadlines.retention_years
    if request.method == "GET":
        return render_template("status_withdraw.html", form=WithdrawForm(), retention_years=years)
    form = WithdrawForm()
    if not form.validate():
        return render_template("status_withdraw.html", form=form, retention_years=years), 400
    try:
        services.intake().withdraw(access)
    except CommandRefused:
        # Closed already (the desk concluded it, or a second click): nothing to do.
        flash(_("The case is already closed: there is nothing to withdraw."), "error")
        return redirect(url_for("reporter.status"), code=303)
    flash(_("Your report is withdrawn and the case is closed."), "ok")
    return redirect(url_for("reporter.status"), code=303)


@bp.post("/status/leave")
def leave() -> Response:
    services.reporter_sessions().end(session.pop(_SESSION_KEY, None))
    session.clear()
    return redirect(url_for("reporter.index"), code=303)
