"""The reporter's forms. Every message is translated; nothing typed is lost."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

MAX_WHAT = 20000
MAX_SHORT = 500
MAX_PERSONS = 4000
MAX_CONTACT = 1000
MAX_MESSAGE = 10000


def _no_control_characters(form: FlaskForm, field: StringField) -> None:
    text = field.data or ""
    if any(ord(c) < 32 and c not in "\t\r\n" for c in text):
        raise ValidationError(_l("Remove the invisible control characters from this field."))


KEEP_METADATA_LABEL = _l(
    "Keep the hidden details in my files (author, place, device) as evidence. "
    "Not recommended: they can identify you."
)


class ReportForm(FlaskForm):
    category = SelectField(
        _l("What kind of misconduct is it?"),
        validators=[InputRequired(message=_l("Choose the kind of misconduct."))],
        validate_choice=True,
    )
    agency = SelectField(
        _l("Which agency does it concern?"),
        validators=[InputRequired(message=_l("Choose the agency concerned."))],
        validate_choice=True,
    )
    what = TextAreaField(
        _l("What happened?"),
        validators=[
            DataRequired(message=_l("Describe what happened.")),
            Length(
                min=20, max=MAX_WHAT, message=_l("Write between %(min)d and %(max)d characters.")
            ),
            _no_control_characters,
        ],
    )
    when = StringField(
        _l("When did it happen? (roughly is fine)"),
        validators=[
            Optional(),
            Length(max=MAX_SHORT, message=_l("Keep this under %(max)d characters.")),
            _no_control_characters,
        ],
    )
    where = StringField(
        _l("Where did it happen? (unit, office, project)"),
        validators=[
            Optional(),
            Length(max=MAX_SHORT, message=_l("Keep this under %(max)d characters.")),
            _no_control_characters,
        ],
    )
    persons = TextAreaField(
        _l("Who was involved? (names or roles)"),
        validators=[
            Optional(),
            Length(max=MAX_PERSONS, message=_l("Keep this under %(max)d characters.")),
            _no_control_characters,
        ],
    )
    senior_officials = BooleanField(_l("The agency head or senior management is involved"))
    keep_metadata = BooleanField(KEEP_METADATA_LABEL)
    contact_choice = RadioField(
        _l("Do you want to leave contact details?"),
        choices=[
            SelectChoice(
                "none", _l("No, I stay anonymous and follow the case with my receipt code")
            ),
            SelectChoice("give", _l("Yes, I want to leave contact details")),
        ],
        default="none",
        validators=[InputRequired(message=_l("Choose whether to leave contact details."))],
    )
    contact = TextAreaField(
        _l("Contact details (only if you chose to leave them)"),
        validators=[
            Optional(),
            Length(max=MAX_CONTACT, message=_l("Keep this under %(max)d characters.")),
            _no_control_characters,
        ],
    )

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        # Checked here, not as an inline validator: Optional() on an empty
        # field stops that field's chain before an inline check would run.
        if self.contact_choice.data == "give" and not (self.contact.data or "").strip():
            self.contact.errors = [
                *self.contact.errors,
                _l(
                    "You chose to leave contact details: write them here, or choose "
                    "to stay anonymous."
                ),
            ]
            valid = False
        return valid


class ReceiptForm(FlaskForm):
    receipt = StringField(
        _l("Your receipt code"),
        validators=[
            DataRequired(message=_l("Enter the receipt code you got when you reported.")),
            Length(max=64, message=_l("A receipt code has 20 characters.")),
        ],
    )
    #: A message typed in a session that had ended: it travels in the page,
    #: never kept on the server, and is ready to send once the code is entered.
    pending_message = TextAreaField(
        _l("Your message, not sent yet"),
        validators=[
            Optional(),
            Length(max=MAX_MESSAGE, message=_l("Keep this under %(max)d characters.")),
            _no_control_characters,
        ],
    )


class MessageForm(FlaskForm):
    message = TextAreaField(
        _l("Write to the desk"),
        validators=[
            DataRequired(message=_l("Write a message before sending.")),
            Length(max=MAX_MESSAGE, message=_l("Keep this under %(max)d characters.")),
            _no_control_characters,
        ],
    )


class FilesForm(FlaskForm):
    """The files themselves are sealed as they stream in; this is the choice about them."""

    keep_metadata = BooleanField(KEEP_METADATA_LABEL)


class LeaveForm(FlaskForm):
    """Ends the reporter's session (CSRF token only)."""


class WithdrawForm(FlaskForm):
    """Withdrawing the report: a second page and a box to tick, no JavaScript needed."""

    understood = BooleanField(
        _l(
            "I understand that withdrawing closes my case for good: the desk stops handling "
            "it, I can no longer write to it, and it cannot be reopened."
        ),
        validators=[DataRequired(message=_l("Tick the box to confirm, or go back to your case."))],
    )
