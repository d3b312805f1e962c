"""The refusals of the case workflow engine.

Every error the domain raises is a :class:`CaseflowError`; the web layer maps
that root to a response in one place. A refusal names what was refused and why,
so that a log line or a flash message is enough to understand it.
"""

from __future__ import annotations


class CaseflowError(Exception):
    """Root of every error raised by :mod:`caseflow`."""


class CommandRefused(CaseflowError):
    """A command was checked against the case and refused; nothing was emitted."""

    def __init__(self, command: str, case_id: str, reason: str) -> None:
        super().__init__(f"{command} refused for case {case_id}: {reason}")
        self.command = command
        self.case_id = case_id
        self.reason = reason


class TransitionNotAllowed(CommandRefused):
    """The transition table has no row for this command in the case's state."""

    def __init__(self, command: str, case_id: str, status: str) -> None:
        super().__init__(command, case_id, f"not allowed while the case is {status}")
        self.status = status


class ActorRecused(CommandRefused):
    """The acting or named staff member is recused from the case."""


class InvalidCommand(CommandRefused):
    """The command itself is incomplete or contradicts the case (no state change)."""


class QuorumNotReached(CommandRefused):
    """A sanction cannot be decided, or even proposed, without the committee's quorum."""


class NaiveTimestamp(CaseflowError):
    """A datetime without a time zone reached the domain; deadlines need one."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} must carry a time zone (got a naive datetime)")
        self.what = what


class EventDecodeError(CaseflowError):
    """A stored event record cannot be turned back into an event."""

    def __init__(self, type_name: str, reason: str) -> None:
        super().__init__(f"cannot decode event {type_name}: {reason}")
        self.type_name = type_name
        self.reason = reason


class RuleFileError(CaseflowError):
    """A rule file in ``config/rules/`` is missing, malformed or inconsistent.

    The message names the file, the key (dotted path) and the reason, so that an
    operator can fix the file without reading code.
    """

    def __init__(self, file: str, key: str, reason: str) -> None:
        super().__init__(f"{file}: {key}: {reason}")
        self.file = file
        self.key = key
        self.reason = reason
