"""The staff sign-in forms. Passwords are never sent back to the browser."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp

from identity.staff_auth import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH


class LoginForm(FlaskForm):
    username = StringField(
        _l("Username"),
        validators=[
            DataRequired(message=_l("Enter your username.")),
            Length(max=150, message=_l("Keep this under %(max)d characters.")),
        ],
    )
    password = PasswordField(
        _l("Password"),
        validators=[
            DataRequired(message=_l("Enter your password.")),
            Length(max=MAX_PASSWORD_LENGTH, message=_l("Keep this under %(max)d characters.")),
        ],
    )


class CodeForm(FlaskForm):
    code = StringField(
        _l("Code"),
        validators=[
            DataRequired(message=_l("Enter the code.")),
            Length(max=40, message=_l("Keep this under %(max)d characters.")),
        ],
    )


class PasswordChangeForm(FlaskForm):
    current = PasswordField(
        _l("Current password"),
        validators=[
            DataRequired(message=_l("Enter your current password.")),
            Length(max=MAX_PASSWORD_LENGTH, message=_l("Keep this under %(max)d characters.")),
        ],
    )
    new = PasswordField(
        _l("New password"),
        validators=[
            DataRequired(message=_l("Enter a new password.")),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=MAX_PASSWORD_LENGTH,
                message=_l("Use between %(min)d and %(max)d characters."),
            ),
        ],
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[
            DataRequired(message=_l("Type the new password again.")),
            EqualTo("new", message=_l("The two new passwords differ.")),
        ],
    )


class LogoutForm(FlaskForm):
    """No fields: the CSRF token is the point."""


#: Something@somewhere.tld, no spaces, no second @: enough to catch a typo;
#: the SMTP server is the judge of the rest.
MAIL_ADDRESS = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class NotificationsForm(FlaskForm):
    """A member's own address and whether they want the daily digest."""

    email = StringField(
        _l("Your e-mail address"),
        validators=[
            Optional(),
            Length(max=254, message=_l("Keep this under %(max)d characters.")),
            Regexp(MAIL_ADDRESS, message=_l("Enter an address such as namn@myndighet.se.")),
        ],
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
    )
    enabled = BooleanField(_l("Send me the daily mail"))

    def validate(self, extra_validators: object = None) -> bool:  # type: ignore[override]
        ok = super().validate()
        if ok and self.enabled.data and not self.email.data:
            self.email.errors = [_l("Enter the address the daily mail should go to.")]
            return False
        return ok
