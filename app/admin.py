"""Administration: staff accounts and desk membership, without any case.

An administrator lists and creates accounts and removes members from desks.
Nothing here reads a case, a grant or the event log: an administrator holds
no desk key and sees no case list (DESIGN.md §8).

Adding a member to a desk needs the desk's private key, which only the
desk's members and the offline organisation recovery key hold. So that is
offered to a *desk lead who is a member of the desk* (their session opens
the key for the request), or done on the command line with the recovery
key: ``visselpipa add-desk-member DESK USERNAME --recovery-key FILE``.

Who may open what (403 for everyone else):

================================  =======================================
page                              roles
================================  =======================================
/staff/admin                      administrator
/staff/admin/accounts/new         administrator
/staff/admin/desks/<d>/remove     administrator (POST)
/staff/desks/<d>/members          desk_lead who is a member of desk <d>
================================  =======================================

Administrators and auditors are never added to a desk: that would hand an
administrator a desk key, the one thing the role must not hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import HiddenField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from app import services
from app.staff_access import desk_private_key, require_staff
from app.words import ROLE_TEXT
from caseflow.service.handover import hand_over
from crypto.signing import Signer
from identity import accounts, desk_keys
from identity.key_log import DeskKeyMismatch
from identity.names import NAME_MAX, NAMES_MAX, NamesRefused, clean_names
from identity.roles import ADMIN_ROLES, DESK_ROLES, ROLES
from identity.staff_auth import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH

bp = Blueprint("admin", __name__, url_prefix="/staff")


@dataclass(frozen=True)
class Account:
    """One row of the account list: no key material, no hash."""

    id: str
    username: str
    role: str
    desks: tuple[str, ...]
    enrolled: bool
    locked: bool
    mail_on: bool = False
    display_name: str = ""
    other_names: tuple[str, ...] = ()


def _accounts() -> list[Account]:
    auth = services.staff_auth()
    with services.engine().connect() as conn:
        listed = accounts.list_accounts(conn)
    return [
        Account(
            a.id,
            a.username,
            a.role,
            a.desks,
            a.enrolled,
            auth.lock_remaining(a.username) > 0,
            mail_on=a.mail_on,
            display_name=a.display_name,
            other_names=a.other_names,
        )
        for a in listed
    ]


def _desk_labels() -> dict[str, str]:
    locale = str(get_locale() or "sv")
    return {d.id: d.label(locale) for d in services.settings().desks}


def _desk_ids() -> list[str]:
    with services.engine().connect() as conn:
        return sorted(accounts.desk_ids(conn))


# -- forms ------------------------------------------------------------------------


def _username_is_free(_form: FlaskForm, field: StringField) -> None:
    with services.engine().connect() as conn:
        taken = accounts.username_taken(conn, field.data or "")
    if taken:
        raise ValidationError(_l("An account with this username exists already."))


def _username_is_printable(_form: FlaskForm, field: StringField) -> None:
    text = (field.data or "").strip()
    if not text or any(not c.isprintable() or c.isspace() for c in text):
        raise ValidationError(_l("Use letters, digits and punctuation, without spaces."))


_NAME_REFUSED = {
    "too_long": _l("Keep each name under %(max)d characters.", max=NAME_MAX),
    "no_word": _l("Each name needs a word of at least two letters."),
    "too_many": _l("Give at most %(max)d other names.", max=NAMES_MAX),
}


def _names_are_usable(form: FlaskForm, field: Any) -> None:
    try:
        clean_names((field.data or "").splitlines())
    except NamesRefused as e:
        raise ValidationError(str(_NAME_REFUSED[e.kind])) from None


class NamesMixin:
    """The names a report's "who was involved" is matched against (identity/names.py)."""

    display_name = StringField(
        _l("Name"),
        validators=[
            Length(max=NAME_MAX, message=_l("Keep this under %(max)d characters.")),
            _names_are_usable,
        ],
    )
    other_names = TextAreaField(
        _l("Other names (one per line)"),
        validators=[_names_are_usable],
    )

    def names(self) -> tuple[str, tuple[str, ...]]:
        display = " ".join((self.display_name.data or "").split())
        others = tuple(
            n for n in clean_names((self.other_names.data or "").splitlines()) if n != display
        )
        return display, others


class NamesForm(NamesMixin, FlaskForm):
    pass


class NewAccountForm(NamesMixin, FlaskForm):
    username = StringField(
        _l("Username"),
        validators=[
            DataRequired(message=_l("Enter a username.")),
            Length(max=150, message=_l("Keep this under %(max)d characters.")),
            _username_is_printable,
            _username_is_free,
        ],
    )
    role = SelectField(
        _l("Role"),
        choices=[SelectChoice(role, ROLE_TEXT[role]) for role in ROLES],
        validate_choice=True,
    )
    password = PasswordField(
        _l("Initial password"),
        validators=[
            DataRequired(message=_l("Enter an initial password.")),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=MAX_PASSWORD_LENGTH,
                message=_l("Use between %(min)d and %(max)d characters."),
            ),
        ],
    )
    confirm = PasswordField(
        _l("Initial password again"),
        validators=[
            DataRequired(message=_l("Type the password again.")),
            EqualTo("password", message=_l("The two passwords differ.")),
        ],
    )


class RemoveMemberForm(FlaskForm):
    staff_id = HiddenField(validators=[DataRequired(), Length(max=32)])


class AddMemberForm(FlaskForm):
    username = StringField(
        _l("Username"),
        validators=[
            DataRequired(message=_l("Enter a username.")),
            Length(max=150, message=_l("Keep this under %(max)d characters.")),
        ],
    )


# -- the administrator's pages -------------------------------------------------------


def _render_admin(status: int = 200) -> tuple[str, int]:
    listed = _accounts()
    desks = _desk_ids()
    by_id = {a.id: a for a in listed}
    members = {d: [a for a in listed if d in a.desks] for d in desks}
    page = render_template(
        "staff/admin.html",
        accounts=listed,
        desks=desks,
        members=members,
        by_id=by_id,
        desk_labels=_desk_labels(),
        remove_form=RemoveMemberForm(),
    )
    return page, status


@bp.get("/admin")
@require_staff(*ADMIN_ROLES)
def overview() -> tuple[str, int]:
    return _render_admin()


@bp.route("/admin/accounts/new", methods=["GET", "POST"])
@require_staff(*ADMIN_ROLES)
def new_account() -> str | tuple[str, int] | Response:
    form = NewAccountForm()
    if not form.is_submitted():
        return render_template("staff/admin_new_account.html", form=form)
    if not form.validate():
        # The passwords are never sent back (PasswordField renders empty).
        return render_template("staff/admin_new_account.html", form=form), 400
    username = (form.username.data or "").strip()
    settings = services.settings()
    try:
        display, others = form.names()
        with services.engine().begin() as conn:
            accounts.create_staff(
                conn,
                username,
                form.role.data or "",
                form.password.data or "",
                settings.kdf,
                display_name=display,
                other_names=others,
            )
    except sa.exc.IntegrityError:
        # Created by someone else between the check and the insert.
        form.username.errors = [_("An account with this username exists already.")]
        return render_template("staff/admin_new_account.html", form=form), 409
    flash(
        _(
            "The account %(username)s was created. Give the password to its holder in "
            "person; they set up a second factor at first sign-in.",
            username=username,
        ),
        "ok",
    )
    return redirect(url_for("admin.overview"), code=303)


@bp.post("/admin/desks/<desk_id>/remove")
@require_staff(*ADMIN_ROLES)
def remove_member(desk_id: str) -> tuple[str, int] | Response:
    form = RemoveMemberForm()
    if desk_id not in _desk_ids():
        abort(404)
    if not form.validate():
        flash(_("Choose a member to remove."), "error")
        return _render_admin(400)
    staff_id = form.staff_id.data or ""
    try:
        with services.engine().begin() as conn:
            # The removal rotates the desk key and gives every case of the
            # desk a new case key in the same transaction (identity.desk_keys):
            # it takes effect now, although the administrator holds no desk key.
            removed = desk_keys.remove_desk_member(conn, desk_id, staff_id, _signer(), g.staff.id)
    except (desk_keys.RotationRefused, DeskKeyMismatch):
        # Closed: a desk whose tables disagree with the signed log is not
        # rotated to anyone; nothing was changed and the operator is told.
        flash(
            _(
                "The member was not removed: the desk's keys do not match the signed log. "
                "Run `visselpipa verify` and see docs/operations.md."
            ),
            "error",
        )
        return _render_admin(409)
    if removed is None:
        flash(_("That account is not a member of the desk."), "error")
        return _render_admin(404)
    handed = hand_over(current_app.extensions["visselpipa.cases"], desk_id, staff_id, g.staff.id)
    flash(
        _(
            "The member was removed from %(desk)s. The desk has a new key and each of its "
            "cases a new case key: nothing added from now on opens with any key they held. "
            "What they could read before the removal stays readable with the keys they had.",
            desk=_desk_labels().get(desk_id, desk_id),
        ),
        "ok",
    )
    if handed:
        flash(
            ngettext(
                "%(num)d open case they handled now has nobody assigned; the desk lead "
                "sees it in the inbox and assigns it.",
                "%(num)d open cases they handled now have nobody assigned; the desk lead "
                "sees them in the inbox and assigns each one.",
                len(handed),
            ),
            "ok",
        )
    return redirect(url_for("admin.overview") + "#desks", code=303)


@bp.route("/admin/accounts/<staff_id>/names", methods=["GET", "POST"])
@require_staff(*ADMIN_ROLES)
def account_names(staff_id: str) -> str | tuple[str, int] | Response:
    """The names a member is known by, so a report naming them recuses them at intake."""
    account = next((a for a in _accounts() if a.id == staff_id), None)
    if account is None:
        abort(404)
    form = NamesForm()
    if not form.is_submitted():
        form.display_name.data = account.display_name
        form.other_names.data = "\n".join(account.other_names)
        return render_template("staff/admin_names.html", form=form, account=account)
    if not form.validate():
        return render_template("staff/admin_names.html", form=form, account=account), 400
    display, others = form.names()
    with services.engine().begin() as conn:
        accounts.set_names(conn, staff_id, display, others)
    flash(_("The names of %(username)s were saved.", username=account.username), "ok")
    return redirect(url_for("admin.overview") + "#accounts", code=303)


# -- a desk lead adds members to their own desk ----------------------------------------


def _signer() -> Signer:
    return Signer(services.settings().signing_seed)


def _render_members(desk_id: str, form: AddMemberForm, status: int = 200) -> tuple[str, int]:
    listed = [a for a in _accounts() if desk_id in a.desks]
    page = render_template(
        "staff/desk_members.html",
        desk_id=desk_id,
        desk_label=_desk_labels().get(desk_id, desk_id),
        members=listed,
        form=form,
    )
    return page, status


@bp.route("/desks/<desk_id>/members", methods=["GET", "POST"])
@require_staff("desk_lead")
def desk_members(desk_id: str) -> tuple[str, int] | Response:
    if desk_id not in g.staff.desks:
        # Only a member holds the key the new member's copy is sealed from.
        abort(403)
    form = AddMemberForm()
    if not form.is_submitted():
        return _render_members(desk_id, form)
    if not form.validate():
        return _render_members(desk_id, form, 400)
    username = (form.username.data or "").strip()
    with services.engine().connect() as conn:
        member = accounts.staff_by_username(conn, username)
        current = set() if member is None else set(accounts.member_desks(conn, member.id))
    if member is None:
        form.username.errors = [_("There is no account with this username.")]
        return _render_members(desk_id, form, 400)
    if member.role not in DESK_ROLES:
        form.username.errors = [
            _("Administrators and auditors never hold a desk key: choose another account.")
        ]
        return _render_members(desk_id, form, 400)
    if desk_id in current:
        form.username.errors = [_("This account is a member of the desk already.")]
        return _render_members(desk_id, form, 409)
    key = desk_private_key(desk_id)
    if key is None:
        abort(403)
    try:
        with services.engine().begin() as conn:
            accounts.add_desk_member(conn, desk_id, member.id, key, _signer(), g.staff.id)
    except DeskKeyMismatch:
        # The key this lead holds is not the one the signed log names: the
        # tables were changed behind the log. Refused; `visselpipa check` says more.
        form.username.errors = [
            _(
                "The desk's key does not match the signed log, so no key was given. "
                "Ask the operator to run visselpipa check."
            )
        ]
        return _render_members(desk_id, form, 409)
    except sa.exc.IntegrityError:
        # Added by another lead between the check and the insert.
        form.username.errors = [_("This account is a member of the desk already.")]
        return _render_members(desk_id, form, 409)
    flash(_("%(username)s is now a member of the desk.", username=member.username), "ok")
    return redirect(url_for("admin.desk_members", desk_id=desk_id), code=303)
