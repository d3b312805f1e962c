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
