"""Commands in, events persisted: the case decider run against the event store.

Each call reads the case's stream, replays it, lets the pure decider produce
events, and appends them with the stream's version as the expected version.
A concurrent writer makes the append collide (``ConcurrencyConflict``); the
command is then decided again on the new state, a bounded number of times, so
an action is either applied to the state it was decided on or refused with a
clear reason — never lost, never applied twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Protocol

import sqlalchemy as sa

from caseflow.clock import STOCKHOLM, Clock, system_clock
from caseflow.domain import CaseState, Rules, decide, evolve, from_record, replay, to_record
from caseflow.domain.commands import Command
from caseflow.domain.errors import CaseflowError
from caseflow.domain.events import CaseEvent, Event
from caseflow.service.projections import Projections
from caseflow.store import ConcurrencyConflict, EventStore, NewEvent, RecordedEvent
from identity.case_epochs import current_epoch

#: Bounded retries on a version collision; past this the caller gets the conflict.
MAX_ATTEMPTS = 5

REPORTER = "reporter"

#: Called inside the append's transaction with the state after the step and
#: what was stored, for writes that must land atomically with the events.
AfterAppend = Callable[[sa.Connection, CaseState, list[RecordedEvent]], None]


class CaseProjector(Protocol):
    """Keeps read models in step; called in the append's transaction (see projections)."""

    def case_changed(
        self, conn: sa.Connection, state: CaseState, recorded: Sequence[RecordedEvent]
    ) -> None: ...


@dataclass(frozen=True)
class Step:
    """One command and the sealed bodies of the events it is expected to emit.

    ``bodies`` maps an event type name to the sealed item that event carries
    (the report on ``ReportReceived``, a message on ``ReporterMessageAdded``…).
    """

    command: Command
    bodies: Mapping[str, bytes] = field(default_factory=dict)
    #: The content-key epoch the bodies were sealed under (identity.case_epochs);
    #: recorded in each body's ``meta["epoch"]`` when above 1, and checked in
    #: the append's transaction: None only for a case's first step (intake).
    epoch: int | None = None


class KeyEpochChanged(CaseflowError):
    """A new content-key epoch began after the bodies were sealed: nothing was stored.

    The bodies were sealed under a key a removed member may hold; the writer
    must open the case's keys again and seal anew.
    """

    def __init__(self, case_id: str, sealed: int, current: int) -> None:
        super().__init__(
            f"case {case_id}: sealed under key epoch {sealed}, the case is at epoch {current}"
        )
        self.sealed = sealed
        self.current = current


def reporter_moment(now: datetime) -> datetime:
    """The start of the local day: all a reporter's action may reveal of its time.

    The decider stamps some events with ``now`` (an oversight notice at
    receipt, for instance); a reporter's command gets only the day.
    """
    day = now.astimezone(STOCKHOLM).date()
    return datetime.combine(day, time(0, 0), tzinfo=STOCKHOLM)


def recorded_at(actor: str, now: datetime) -> str:
    """Day precision for the reporter's events, seconds for staff and the clock."""
    if actor == REPORTER:
        return now.astimezone(STOCKHOLM).date().isoformat()
    return now.astimezone(STOCKHOLM).isoformat(timespec="seconds")


def decode(events: Sequence[RecordedEvent]) -> list[Event]:
    return [from_record(e.type, e.meta) for e in events]


def state_of(stored: Sequence[RecordedEvent]) -> CaseState:
    """The case that a stream read once holds (for callers that need its events too)."""
    return replay([e for e in decode(stored) if isinstance(e, CaseEvent)])


class CaseService:
    """Runs commands on cases. Views and the intake ask for this service."""

    def __init__(
        self,
        engine: sa.Engine,
        rules: Rules,
        clock: Clock = system_clock,
        projector: CaseProjector | None = None,
    ) -> None:
        self.engine = engine
        self.rules = rules
        self.clock = clock
        self.store = EventStore(engine)
        # The read models are always kept in step: a projection that some
        # writers skip would silently disagree with the log.
        self.projector: CaseProjector = projector or Projections(rules)

    def load(self, case_id: str, conn: sa.Connection | None = None) -> CaseState:
        return state_of(self.store.read_stream(case_id, conn))

    def execute(
        self,
        case_id: str,
        steps: Sequence[Step],
        *,
        now: datetime | None = None,
        after_append: AfterAppend | None = None,
    ) -> list[RecordedEvent]:
        """Decide and store ``steps`` atomically; retry on a version collision.

        Raises the decider's ``CaseflowError`` when a step is refused on the
        current state, and ``ConcurrencyConflict`` after :data:`MAX_ATTEMPTS`.
        """
        for attempt in range(1, MAX_ATTEMPTS + 1):
            moment = now or self.clock()
            try:
                with self.engine.begin() as conn:
                    state = self.load(case_id, conn)
                    expected = state.version
                    records: list[NewEvent] = []
                    for step in steps:
                        actor = step.command.actor
                        when = reporter_moment(moment) if actor == REPORTER else moment
                        for event in decide(state, step.command, when, self.rules):
                            state = evolve(state, event)
                            records.append(self._record(event, actor, when, step))
                    recorded = self.store.append(conn, case_id, expected, records)
                    # After the append, so under its lock: a rotation
                    # (identity.desk_keys) either committed before (seen
                    # here) or waits until this transaction ends.
                    _check_epochs(conn, case_id, steps)
                    if after_append is not None:
                        after_append(conn, state, recorded)
                    self.projector.case_changed(conn, state, recorded)
                    return recorded
            except ConcurrencyConflict:
                if attempt == MAX_ATTEMPTS:
                    raise
        raise AssertionError("unreachable: the loop returns or raises")

    @staticmethod
    def _record(event: CaseEvent, actor: str, now: datetime, step: Step) -> NewEvent:
        type_name, meta = to_record(event)
        body = step.bodies.get(type_name)
        if body is not None and step.epoch is not None and step.epoch > 1:
            # Plaintext, and all it says is that the case changed keys.
            meta = {**meta, "epoch": step.epoch}
        return NewEvent(
            type=type_name,
            actor=actor,
            recorded_at=recorded_at(actor, now),
            meta=meta,
            body=body,
        )


def _check_epochs(conn: sa.Connection, case_id: str, steps: Sequence[Step]) -> None:
    sealed = {step.epoch for step in steps if step.epoch is not None}
    if not sealed:
        return
    current = current_epoch(conn, case_id)
    for epoch in sealed:
        if epoch != current:
            raise KeyEpochChanged(case_id, epoch, current)
