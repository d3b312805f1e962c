"""The pure domain of the case workflow: events, the case decider and its policies.

Nothing here imports Flask, SQLAlchemy or :mod:`crypto`, reads a clock or a
database: ``now`` is an argument, rules are loaded once by
:func:`~caseflow.domain.rules.load_rules`, and cross-case policies take their
summaries as arguments. The service layer persists what ``decide`` and
``due_events`` return.
"""

from __future__ import annotations

from caseflow.domain.codec import from_record, to_record
from caseflow.domain.decider import decide
from caseflow.domain.errors import CaseflowError, CommandRefused, RuleFileError
from caseflow.domain.policies.deadlines import Deadline, next_deadline
from caseflow.domain.rules import Rules, load_rules
from caseflow.domain.state import CaseState, evolve, replay
from caseflow.domain.tick import due_events, wake_on
from caseflow.domain.transitions import TABLE, CommandKind, Status

__all__ = [
    "TABLE",
    "CaseState",
    "CaseflowError",
    "CommandKind",
    "CommandRefused",
    "Deadline",
    "Rules",
    "RuleFileError",
    "Status",
    "decide",
    "due_events",
    "evolve",
    "from_record",
    "load_rules",
    "next_deadline",
    "replay",
    "to_record",
    "wake_on",
]
