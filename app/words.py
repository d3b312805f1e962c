"""The words staff pages show for roles, statuses and deadlines, shared by every staff blueprint."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

ROLE_TEXT = {
    "investigator": _l("Investigator"),
    "desk_lead": _l("Desk lead"),
    "committee_member": _l("Committee member"),
    "oversight": _l("Oversight"),
    "administrator": _l("Administrator"),
    "auditor": _l("Auditor"),
}

STATUS_TEXT = {
    "received": _l("Received"),
    "acknowledged": _l("Acknowledged"),
    "assessed": _l("Assessed"),
    "investigating": _l("Investigating"),
    "deliberating": _l("Deliberating"),
    "concluded": _l("Concluded"),
    "rejected": _l("Rejected"),
    "reopened": _l("Reopened"),
    "withdrawn": _l("Withdrawn by the reporter"),
    "shredded": _l("Shredded"),
}

#: The actors of a case's timeline that are not staff (whose names are shown as they are).
ACTOR_TEXT = {
    "reporter": _l("The reporter"),
    "system": _l("The system"),
}

DEADLINE_TEXT = {
    "acknowledgement": _l("Acknowledgement"),
    "feedback": _l("Feedback to the reporter"),
    "inactivity": _l("Inactivity reminder"),
    "recommendation": _l("Recommendation due"),
    "retention": _l("Retention (shredding)"),
}
