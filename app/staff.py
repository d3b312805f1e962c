"""The staff workspace: sign-in with password and second factor, home, password, logout.

A staff session lives in its own cookie (``__Host-vp_staff``), whose value
opens the server half (see caseflow/service/staff_sessions.py). Views that
need a signed-in member use :func:`require_staff`; it loads ``g.staff`` and
makes the member's private key available, for that request only, through
:func:`staff_private_key` and :func:`desk_private_key`.

Every refusal of a username or password reads the same, whether or not the
account exists; a lock (too many failures for the typed username) is a 429
with the form re-rendered and ``Retry-After``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

import segno
from flask import (
    Blueprint,
    abort,
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
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from nacl.public import PrivateKey
from werkzeug.wrappers import Response

from app import services
from app.staff_forms import CodeForm, LoginForm, LogoutForm, PasswordChangeForm
from caseflow.service.staff_auth import (
    LoginLocked,
    LoginRefused,
    PasswordRejected,
    SignedIn,
)
from caseflow.service.staff_sessions import StaffSession

bp = Blueprint("staff", __name__, url_prefix="/staff")

ROLE_TEXT = {
    "investigator": _l("Investigator"),
    "desk_lead": _l("Desk lead"),
    "committee_member": _l("Committee member"),
    "oversight": _l("Oversight"),
    "administrator": _l("Administrator"),
    "auditor": _l("Auditor"),
}

View = TypeVar("View", bound=Callable[..., Any])
Page = str | tuple[str, int] | tuple[str, int, dict[str, str]] | Response


@dataclass(frozen=True)
class StaffIdentity:
    """Who is signed in, for templates and access checks (no key material)."""

    id: str
    username: str
    role: str
    desks: tuple[str, ...]


# -- the cookie ---------------------------------------------------------------


def cookie_name() -> str:
    # The __Host- prefix needs Secure, which a browser refuses on the plain
    # HTTP of `make run`; the reporter session cookie does the same.
    return "vp_staff" if services.settings().plain_http else "__Host-vp_staff"


def _set_cookie(response: Response, token: str) -> Response:
    # No Max-Age: the cookie ends with the browser; the server enforces the
    # idle timeout and the absolute lifetime.
    response.set_cookie(
        cookie_name(),
        token,
        path="/",
        secure=not services.settings().plain_http,
        httponly=True,
        samesite="Strict",
    )
    return response


def _clear_cookie(response: Response) -> Response:
    response.delete_cookie(
        cookie_name(),
        path="/",
        secure=not services.settings().plain_http,
        httponly=True,
        samesite="Strict",
    )
    return response


def _current() -> StaffSession | None:
    """The session behind this request's cookie (opened once per request)."""
    if "staff_session" not in g:
        token = request.cookies.get(cookie_name())
        g.staff_session = services.staff_sessions().open(token)
        if token and g.staff_session is None:
            # A stale cookie (expired, logged out elsewhere): drop it.
            after_this_request(_clear_cookie)
    current: StaffSession | None = g.staff_session
    return current


def _signed_in(current: StaffSession) -> SignedIn | None:
    return services.staff_auth().account(current.staff_id, current.private_key)


# -- what other views use -----------------------------------------------------


def require_staff(*roles: str) -> Callable[[View], View]:
    """Let a view run only for a member past both factors (and with one of
    ``roles``, if given); otherwise redirect to sign-in or answer 403.

    Sets ``g.staff`` (:class:`StaffIdentity`); the private key is available
    through :func:`staff_private_key` until the request ends.
    """

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            current = _current()
            if current is None:
                return redirect(url_for("staff.login"), code=303)
            if not current.second_factor_done:
                return redirect(url_for("staff.login_code"), code=303)
            account = _signed_in(current)
            if account is None:
                services.staff_sessions().destroy(current.token)
                after_this_request(_clear_cookie)
                return redirect(url_for("staff.login"), code=303)
            if roles and account.role not in roles:
                abort(403)
            g.staff = StaffIdentity(
                account.staff_id,
                account.username,
                account.role,
                services.staff_auth().desks(account.staff_id),
            )
            g.staff_private_key = current.private_key
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def staff_private_key() -> PrivateKey:
    """The signed-in member's private key, for this request only.

    .. warning::
       Never store it (not in ``session``, not in a log, not in a global):
       it opens every desk key the member holds.
    """
    key: PrivateKey | None = g.get("staff_private_key")
    if key is None:
        raise RuntimeError("staff_private_key() outside a view guarded by require_staff")
    return key


def desk_private_key(desk_id: str) -> PrivateKey | None:
    """The key of ``desk_id`` as the signed-in member holds it; None if not a member."""
    staff: StaffIdentity = g.staff
    return services.staff_auth().desk_key(staff.id, staff_private_key(), desk_id)


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
    # Imported here: these modules build on this one.
    from app.admin import ADMIN_ROLES
    from app.oversight import OVERSIGHT_ROLES, STATISTICS_ROLES
    from caseflow.service.workspace import CASE_ROLES

    pages = (
        ("workspace.inbox", _("Inbox"), CASE_ROLES),
        ("oversight.overview_page", _("Oversight"), OVERSIGHT_ROLES),
        ("oversight.statistics", _("Statistics"), STATISTICS_ROLES),
        ("admin.overview", _("Administration"), ADMIN_ROLES),
    )
    return [(endpoint, label) for endpoint, label, roles in pages if role in roles]


def _locked_notice(error: LoginLocked) -> str:
    minutes = max(1, -(-error.retry_after // 60))
    return _("Too many failed attempts. Wait %(minutes)d minute(s) and try again.", minutes=minutes)


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
    return _set_cookie(redirect(url_for(target), code=303), token)


def _locked(page: str, error: LoginLocked) -> tuple[str, int, dict[str, str]]:
    return page, 429, {"Retry-After": str(error.retry_after)}


def _half_signed_in() -> tuple[StaffSession, SignedIn] | Response:
    """The password-only session of the code and enrolment pages."""
    current = _current()
    if current is None:
        flash(_("Sign in with your username and password first."), "error")
        return redirect(url_for("staff.login"), code=303)
    if current.second_factor_done:
        return redirect(url_for("staff.home"), code=303)
    account = _signed_in(current)
    if account is None:
        services.staff_sessions().destroy(current.token)
        after_this_request(_clear_cookie)
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
    return _set_cookie(redirect(url_for("staff.home"), code=303), token)


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
    return _set_cookie(response, token)


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


@bp.post("/logout")
def logout() -> Response:
    # No require_staff: logging out must work with an expired session too.
    services.staff_sessions().destroy(request.cookies.get(cookie_name()))
    session.clear()
    response = redirect(url_for("staff.login"), code=303)
    _clear_cookie(response)
    response.headers["Clear-Site-Data"] = '"cookies", "storage", "cache"'
    return response
