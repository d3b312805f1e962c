"""The staff workspace: sign-in with password and second factor, home, password, logout.

The cookie and the guard other staff views use (:func:`require_staff`) are in
app/staff_access.py.

Every refusal of a username or password reads the same, whether or not the
account exists; a lock (too many failures for the typed username) is a 429
with the form re-rendered and ``Retry-After``.
"""

from __future__ import annotations

from typing import Any

import segno
from flask import (
    Blueprint,
    after_this_request,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from markupsafe import Markup
from werkzeug.wrappers import Response

from app import services
from app.staff_access import (
    clear_session_cookie,
    cookie_name,
    current_session,
    require_staff,
    set_session_cookie,
    signed_in_account,
)
from app.staff_forms import (
    CodeForm,
    LoginForm,
    LogoutForm,
    NotificationsForm,
    PasswordChangeForm,
)
from app.words import ROLE_TEXT
from identity.accounts import MailChoice, mail_choice, set_mail_choice
from identity.roles import ADMIN_ROLES, CASE_ROLES, LEAD_ROLES, OVERSIGHT_ROLES, STATISTICS_ROLES
from identity.staff_auth import (
    LoginLocked,
    LoginRefused,
    PasswordRejected,
    SignedIn,
)
from identity.staff_sessions import StaffSession

bp = Blueprint("staff", __name__, url_prefix="/staff")

Page = str | tuple[str, int] | tuple[str, int, dict[str, str]] | Response


# -- pages ----------------------------------------------------------------------


@bp.record_once
def _register(state: Any) -> None:
    state.app.config.setdefault("FORM_RERENDER", {}).update(
        {"staff.login": _rerender_login, "staff.login_code": _rerender_code}
    )

    @state.app.context_processor
    def staff_texts() -> dict[str, object]:
        return {"role_text": ROLE_TEXT, "staff_menu": staff_menu}


def staff_menu(role: str) -> list[tuple[str, str]]:
    """The workspace's pages this role may open: (endpoint, label), from each page's own roles."""
    pages = (
        ("workspace.inbox", _("Inbox"), CASE_ROLES),
        ("workspace.workload", _("Workload"), LEAD_ROLES),
        ("oversight.overview_page", _("Oversight"), OVERSIGHT_ROLES),
        ("oversight.statistics", _("Statistics"), STATISTICS_ROLES),
        ("admin.overview", _("Administration"), ADMIN_ROLES),
    )
    return [(endpoint, label) for endpoint, label, roles in pages if role in roles]


def _locked_notice(error: LoginLocked) -> str:
    minutes = max(1, -(-error.retry_after // 60))
    return ngettext(
        "Too many failed attempts. Wait %(num)d minute and try again.",
        "Too many failed attempts. Wait %(num)d minutes and try again.",
        minutes,
    )


def _refused_login() -> str:
    return _("The username or password is wrong.")


def _render_login(form: LoginForm, notice: str | None = None) -> str:
    return render_template("staff/login.html", form=form, notice=notice)


def _rerender_login(notice: str) -> str:
    form = LoginForm()
    form.password.data = ""
    return _render_login(form, str(notice))


@bp.route("/login", methods=["GET", "POST"])
def login() -> Page:
    form = LoginForm()
    if request.method == "GET":
        return _render_login(form)
    if not form.validate():
        return _render_login(form), 400
    auth = services.staff_auth()
    try:
        signed_in = auth.authenticate(form.username.data or "", form.password.data or "")
    except LoginLocked as error:
        return _locked(_render_login(form, _locked_notice(error)), error)
    except LoginRefused:
        return _render_login(form, _refused_login()), 400
    sessions = services.staff_sessions()
    sessions.destroy(request.cookies.get(cookie_name()))
    token = sessions.create(signed_in.staff_id, signed_in.private_key)
    target = "staff.login_code" if signed_in.enrolled else "staff.enrol"
    return set_session_cookie(redirect(url_for(target), code=303), token)


def _locked(page: str, error: LoginLocked) -> tuple[str, int, dict[str, str]]:
    return page, 429, {"Retry-After": str(error.retry_after)}


def _half_signed_in() -> tuple[StaffSession, SignedIn] | Response:
    """The password-only session of the code and enrolment pages."""
    current = current_session()
    if current is None:
        flash(_("Sign in with your username and password first."), "error")
        return redirect(url_for("staff.login"), code=303)
    if current.second_factor_done:
        return redirect(url_for("staff.home"), code=303)
    account = signed_in_account(current)
    if account is None:
        services.staff_sessions().destroy(current.token)
        after_this_request(clear_session_cookie)
        return redirect(url_for("staff.login"), code=303)
    return current, account


def _render_code(form: CodeForm, notice: str | None = None) -> str:
    return render_template("staff/code.html", form=form, notice=notice)


def _rerender_code(notice: str) -> str:
    return _render_code(CodeForm(), str(notice))


@bp.route("/login/code", methods=["GET", "POST"])
def login_code() -> Page:
    state = _half_signed_in()
    if isinstance(state, Response):
        return state
    current, account = state
    if not account.enrolled:
        return redirect(url_for("staff.enrol"), code=303)
    form = CodeForm()
    if request.method == "GET":
        return _render_code(form)
    if not form.validate():
        return _render_code(form), 400
    try:
        services.staff_auth().check_second_factor(account, form.code.data or "")
    except LoginLocked as error:
        return _locked(_render_code(form, _locked_notice(error)), error)
    except LoginRefused:
        notice = _("The code is wrong or has already been used. Try the next code.")
        return _render_code(form, notice), 400
    token = services.staff_sessions().elevate(current)
    return set_session_cookie(redirect(url_for("staff.home"), code=303), token)


def _qr_svg(uri: str) -> Markup:
    # Drawn here as inline SVG: no script, no image from another origin and
    # no data: URL, so the strict CSP (default-src 'none') needs no exception.
    svg = segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff", border=4)
    return Markup(svg)  # noqa: S704 - segno's output, which holds no user input but the URI it encodes


@bp.route("/enrol", methods=["GET", "POST"])
def enrol() -> Page:
    state = _half_signed_in()
    if isinstance(state, Response):
        return state
    current, account = state
    if account.enrolled:
        return redirect(url_for("staff.login_code"), code=303)
    auth = services.staff_auth()
    form = CodeForm()
    enrolment = auth.begin_enrolment(account)
    page = {
        "form": form,
        "qr": _qr_svg(enrolment.uri),
        "secret": " ".join(enrolment.secret[i : i + 4] for i in range(0, len(enrolment.secret), 4)),
    }
    if request.method == "GET":
        return render_template("staff/enrol.html", **page)
    if not form.validate():
        return render_template("staff/enrol.html", **page), 400
    try:
        codes = auth.confirm_enrolment(account, form.code.data or "")
    except LoginLocked as error:
        return _locked(
            render_template("staff/enrol.html", notice=_locked_notice(error), **page), error
        )
    except LoginRefused:
        notice = _(
            "The code did not match. Check the time on your phone and type the code "
            "the app shows now."
        )
        return render_template("staff/enrol.html", notice=notice, **page), 400
    token = services.staff_sessions().elevate(current)
    # Shown in this response only: the server keeps nothing but their hashes.
    # An HTML page: werkzeug's Response would label it text/plain, and with
    # nosniff the browser would show the markup instead of the codes.
    response = Response(
        render_template("staff/recovery_codes.html", codes=codes), mimetype="text/html"
    )
    return set_session_cookie(response, token)


@bp.get("/")
@require_staff()
def home() -> str:
    settings = services.settings()
    names = {d.id: d for d in settings.desks}
    from flask_babel import get_locale

    locale = str(get_locale() or "sv")
    desks = [names[d].label(locale) if d in names else d for d in g.staff.desks]
    return render_template(
        "staff/home.html",
        desks=desks,
        codes_left=services.staff_auth().recovery_codes_left(g.staff.id),
        logout_form=LogoutForm(),
    )


@bp.route("/password", methods=["GET", "POST"])
@require_staff()
def password() -> Page:
    form = PasswordChangeForm()
    if request.method == "GET":
        return render_template("staff/password.html", form=form)
    if not form.validate():
        return render_template("staff/password.html", form=form), 400
    try:
        services.staff_auth().change_password(
            g.staff.id, form.current.data or "", form.new.data or ""
        )
    except LoginLocked as error:
        page = render_template("staff/password.html", form=form, notice=_locked_notice(error))
        return _locked(page, error)
    except LoginRefused:
        notice = _("Your current password is wrong.")
        return render_template("staff/password.html", form=form, notice=notice), 400
    except PasswordRejected:
        notice = _("Choose a longer new password.")
        return render_template("staff/password.html", form=form, notice=notice), 400
    # Sessions elsewhere were opened with the old password: end them.
    services.staff_sessions().destroy_all(g.staff.id, keep=request.cookies.get(cookie_name()))
    flash(_("Your password was changed. Use the new one from now on."), "ok")
    return redirect(url_for("staff.home"), code=303)


def _render_notifications(form: NotificationsForm, notice: str | None = None) -> str:
    return render_template(
        "staff/notifications.html",
        form=form,
        notice=notice,
        mail=services.settings().mail,
    )


@bp.route("/notifications", methods=["GET", "POST"])
@require_staff()
def notifications() -> Page:
    """The member's own address and on/off switch for the daily digest (app/mail.py)."""
    form = NotificationsForm()
    if request.method == "GET":
        with services.engine().connect() as conn:
            choice = mail_choice(conn, g.staff.id)
        form.email.data = choice.address or ""
        form.enabled.data = choice.enabled
        return _render_notifications(form)
    if not form.validate():
        return _render_notifications(form), 400
    choice = MailChoice(form.email.data or None, bool(form.enabled.data))
    with services.engine().begin() as conn:
        set_mail_choice(conn, g.staff.id, choice)
    if choice.enabled:
        flash(_("Saved. The daily mail goes to %(address)s.", address=choice.address), "ok")
    else:
        flash(_("Saved. You get no mail from Visselpipa."), "ok")
    return redirect(url_for("staff.notifications"), code=303)


@bp.post("/logout")
def logout() -> Response:
    # No require_staff: logging out must work with an expired session too.
    services.staff_sessions().destroy(request.cookies.get(cookie_name()))
    session.clear()
    response = redirect(url_for("staff.login"), code=303)
    clear_session_cookie(response)
    response.headers["Clear-Site-Data"] = '"cookies", "storage", "cache"'
    return response
