"""The closed sets of words the workflow speaks in (severities, outcomes, levels…)."""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class RetaliationRisk(StrEnum):
    """ISO 37002 asks the assessment to weigh the risk of retaliation against the reporter."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Outcome(StrEnum):
    """How a concluded case ended."""

    SUBSTANTIATED = "substantiated"
    NOT_SUBSTANTIATED = "not_substantiated"
    REFERRED = "referred"
    NO_FURTHER_ACTION = "no_further_action"
    #: Set by the reporter's withdrawal, never chosen by staff.
    WITHDRAWN = "withdrawn"


class ChannelType(StrEnum):
    """Whether the deployment is an agency's internal channel or a competent
    authority's external one: the law gives them different deadlines."""

    INTERNAL = "internal"
    EXTERNAL = "external"


class ExtensionReason(StrEnum):
    """Why an external channel extends the feedback deadline (art. 11.2.d: "in duly
    justified cases"). A closed choice, kept as plaintext metadata: it says
    nothing about the report and lets the supervisor count the reasons."""

    COMPLEX_MATTER = "complex_matter"
    AWAITING_INFORMATION = "awaiting_information"
    COORDINATION_WITH_AUTHORITIES = "coordination_with_authorities"
    MANY_REPORTS = "many_reports"


class SanctionLevel(StrEnum):
    WARNING = "warning"
    DEMOTION = "demotion"
    DISMISSAL = "dismissal"


class EscalationLevel(StrEnum):
    """Who hears about a missed deadline, step by step."""

    ASSIGNEE = "assignee"
    DESK_LEAD = "desk_lead"
    OVERSIGHT = "oversight"


class DeadlineKind(StrEnum):
    ACKNOWLEDGEMENT = "acknowledgement"
    FEEDBACK = "feedback"
    INACTIVITY = "inactivity"
    RECOMMENDATION = "recommendation"
    RETENTION = "retention"


#: Who performs what the system does by itself (``tick``): never a person.
SYSTEM_ACTOR = "system"
