"""The transition table: which command may run in which state, and where it leads.

The table is data. The decider consults it before anything else, the tests
check every emitted event against it, and ``docs/caseflow.md`` draws it.
States follow ISO 37002: receive → assess → address → conclude.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    NEW = "new"  # no report yet: the state before ``receive``
    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    ASSESSED = "assessed"
    INVESTIGATING = "investigating"
    DELIBERATING = "deliberating"
    CONCLUDED = "concluded"
    REJECTED = "rejected"
    REOPENED = "reopened"
    WITHDRAWN = "withdrawn"  # the reporter withdrew the report: closed, retention applies
    SHREDDED = "shredded"


class CommandKind(StrEnum):
    RECEIVE = "receive"
    ADD_REPORTER_MESSAGE = "add_reporter_message"
    ADD_REPORTER_FILE = "add_reporter_file"
    ACKNOWLEDGE = "acknowledge"
    ASSIGN = "assign"
    UNASSIGN = "unassign"
    DECLARE_CONFLICT = "declare_conflict"
    ASSESS = "assess"
    REQUEST_INFORMATION = "request_information"
    OPEN_INVESTIGATION = "open_investigation"
    RECORD_FINDING = "record_finding"
    REFER = "refer"
    GIVE_FEEDBACK = "give_feedback"
    EXTEND_FEEDBACK_DEADLINE = "extend_feedback_deadline"
    BEGIN_DELIBERATION = "begin_deliberation"
    ISSUE_RECOMMENDATION = "issue_recommendation"
    RECORD_IMPLEMENTATION = "record_implementation"
    PROPOSE_SANCTION = "propose_sanction"
    VOTE = "vote"
    DECIDE_SANCTION = "decide_sanction"
    CONCLUDE = "conclude"
    REOPEN = "reopen"
    SHRED = "shred"
    PLACE_HOLD = "place_hold"
    RELEASE_HOLD = "release_hold"
    ADD_INTERNAL_NOTE = "add_internal_note"
    WITHDRAW = "withdraw"


OPEN_STATUSES = frozenset(
    {
        Status.RECEIVED,
        Status.ACKNOWLEDGED,
        Status.ASSESSED,
        Status.INVESTIGATING,
        Status.DELIBERATING,
        Status.REOPENED,
    }
)
"""A case in one of these states is being handled and always has a next deadline."""

CLOSED_STATUSES = frozenset({Status.CONCLUDED, Status.REJECTED, Status.WITHDRAWN})


@dataclass(frozen=True)
class Transition:
    source: Status
    command: CommandKind
    target: Status
    guard: str = ""  # when one command may lead to several states: which one, and when


class TransitionTable:
    """A set of transitions, asked by (state, command)."""

    def __init__(self, rows: Iterable[Transition]) -> None:
        self.rows: tuple[Transition, ...] = tuple(rows)
        targets: dict[tuple[Status, CommandKind], set[Status]] = {}
        for row in self.rows:
            targets.setdefault((row.source, row.command), set()).add(row.target)
        self._targets = {key: frozenset(value) for key, value in targets.items()}

    def __iter__(self) -> Iterator[Transition]:
        return iter(self.rows)

    def targets(self, source: Status, command: CommandKind) -> frozenset[Status]:
        """Where ``command`` may lead from ``source``; empty when it is not allowed there."""
        return self._targets.get((source, command), frozenset())

    def allows(self, source: Status, command: CommandKind, target: Status) -> bool:
        return target in self.targets(source, command)

    def commands_in(self, source: Status) -> frozenset[CommandKind]:
        return frozenset(command for (status, command) in self._targets if status is source)


def _stay(command: CommandKind, statuses: Iterable[Status]) -> list[Transition]:
    return [Transition(status, command, status) for status in statuses]


S, C = Status, CommandKind
_WORKING = (S.ACKNOWLEDGED, S.ASSESSED, S.INVESTIGATING, S.DELIBERATING, S.REOPENED)
_OPEN = (S.RECEIVED, *_WORKING)
_CLOSED = (S.CONCLUDED, S.REJECTED, S.WITHDRAWN)

TABLE = TransitionTable(
    [
        # receive
        Transition(S.NEW, C.RECEIVE, S.RECEIVED),
        *_stay(C.ADD_REPORTER_MESSAGE, _OPEN),
        *_stay(C.ADD_REPORTER_FILE, _OPEN),
        Transition(S.RECEIVED, C.ACKNOWLEDGE, S.ACKNOWLEDGED),
        *_stay(C.ASSIGN, _OPEN),
        *_stay(C.UNASSIGN, _OPEN),
        *_stay(C.DECLARE_CONFLICT, _OPEN),
        *_stay(C.REFER, (S.RECEIVED, S.ACKNOWLEDGED, S.ASSESSED, S.INVESTIGATING)),
        # assess
        Transition(S.ACKNOWLEDGED, C.ASSESS, S.ASSESSED, "admissible"),
        Transition(S.ACKNOWLEDGED, C.ASSESS, S.REJECTED, "inadmissible"),
        Transition(S.REOPENED, C.ASSESS, S.ASSESSED, "admissible"),
        Transition(S.REOPENED, C.ASSESS, S.REJECTED, "inadmissible"),
        *_stay(C.REQUEST_INFORMATION, _WORKING),
        *_stay(C.GIVE_FEEDBACK, _WORKING),
        *_stay(C.EXTEND_FEEDBACK_DEADLINE, _OPEN),
        # address
        Transition(S.ASSESSED, C.OPEN_INVESTIGATION, S.INVESTIGATING),
        Transition(S.REOPENED, C.OPEN_INVESTIGATION, S.INVESTIGATING),
        *_stay(C.RECORD_FINDING, (S.INVESTIGATING,)),
        Transition(S.INVESTIGATING, C.BEGIN_DELIBERATION, S.DELIBERATING),
        *_stay(C.ISSUE_RECOMMENDATION, (S.DELIBERATING,)),
        *_stay(C.PROPOSE_SANCTION, (S.DELIBERATING,)),
        *_stay(C.VOTE, (S.DELIBERATING,)),
        *_stay(C.DECIDE_SANCTION, (S.DELIBERATING,)),
        *_stay(C.RECORD_IMPLEMENTATION, (S.DELIBERATING, S.CONCLUDED)),
        # conclude
        Transition(S.ASSESSED, C.CONCLUDE, S.CONCLUDED),
        Transition(S.INVESTIGATING, C.CONCLUDE, S.CONCLUDED),
        Transition(S.DELIBERATING, C.CONCLUDE, S.CONCLUDED),
        Transition(S.CONCLUDED, C.REOPEN, S.REOPENED),
        Transition(S.REJECTED, C.REOPEN, S.REOPENED),
        Transition(S.CONCLUDED, C.SHRED, S.SHREDDED),
        Transition(S.REJECTED, C.SHRED, S.SHREDDED),
        # the reporter withdraws the report: the case closes, and is not reopened
        # against their wish (a new report is a new case)
        *(Transition(status, C.WITHDRAW, S.WITHDRAWN) for status in _OPEN),
        Transition(S.WITHDRAWN, C.SHRED, S.SHREDDED),
        # retention: a legal hold or an archive decision keeps the case from shredding
        *_stay(C.PLACE_HOLD, (*_OPEN, *_CLOSED)),
        *_stay(C.RELEASE_HOLD, (*_OPEN, *_CLOSED)),
        # staff notes: on the record while the case is readable, never a step
        *_stay(C.ADD_INTERNAL_NOTE, (*_OPEN, *_CLOSED)),
    ]
)
"""The case's life, ISO 37002: receive → assess → address → conclude."""

del S, C
