"""Requests from data subjects (persons concerned, third parties, staff) and the decisions on them.

GDPR art. 12.4 and 23 ask the controller to decide each request and, when a
right is restricted, to be able to show on what legal ground. This table is
that record (docs/privacy.md). It holds no reporter data and no case content,
and not the requester's name: ``reference`` is the registration number the
agency's records system (diariet) gave the request, where the name and the
correspondence already are, under the secrecy that applies there. Keeping
only the reference means this table never becomes a second, unsealed list
of the people who asked about a report. Days only, no time of day.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Column, Date, Engine, String, Table, Text, insert, select

from caseflow.store.metadata import metadata

#: The rights a request invokes (GDPR art. 15-18, 21; art. 13-14 information).
KINDS = ("information", "access", "rectification", "erasure", "restriction", "objection")
#: What was decided; ``pending`` until it is.
DECISIONS = ("pending", "granted", "partly_granted", "refused")

data_subject_requests_table = Table(
    "data_subject_requests",
    metadata,
    Column("id", String(24), primary_key=True),
    Column("received_on", Date, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("reference", String(80), nullable=False),
    Column("decision", String(16), nullable=False),
    Column("legal_ground", Text, nullable=False),
    Column("decided_on", Date, nullable=True),
    Column("recorded_by", String(80), nullable=False),
)


@dataclass(frozen=True)
class DataSubjectRequest:
    id: str
    received_on: date
    kind: str
    reference: str
    decision: str
    legal_ground: str
    decided_on: date | None
    recorded_by: str


class RequestRefused(ValueError):
    """A request record that is incomplete or inconsistent; the message says why."""


def record_request(
    engine: Engine,
    *,
    received_on: date,
    kind: str,
    reference: str,
    decision: str,
    legal_ground: str,
    decided_on: date | None,
    recorded_by: str,
    today: date,
) -> DataSubjectRequest:
    """Store one request and its decision; raise :class:`RequestRefused` naming the problem."""
    if kind not in KINDS:
        raise RequestRefused(f"kind: {kind!r} is not one of {', '.join(KINDS)}")
    if decision not in DECISIONS:
        raise RequestRefused(f"decision: {decision!r} is not one of {', '.join(DECISIONS)}")
    reference, legal_ground, recorded_by = (
        reference.strip(),
        legal_ground.strip(),
        recorded_by.strip(),
    )
    if not reference or len(reference) > 80:
        raise RequestRefused("reference: give the registration number (1 to 80 characters)")
    if not recorded_by or len(recorded_by) > 80:
        raise RequestRefused("by: name who records the request (1 to 80 characters)")
    if decision != "pending" and not legal_ground:
        raise RequestRefused("ground: a decision needs its legal ground")
    if decision != "pending" and decided_on is None:
        raise RequestRefused("decided: a decision needs the day it was taken")
    if decision == "pending" and decided_on is not None:
        raise RequestRefused("decided: a pending request has no decision day")
    if received_on > today or (decided_on is not None and not received_on <= decided_on <= today):
        raise RequestRefused("dates: received <= decided <= today")
    row = DataSubjectRequest(
        id=secrets.token_hex(6),
        received_on=received_on,
        kind=kind,
        reference=reference,
        decision=decision,
        legal_ground=legal_ground,
        decided_on=decided_on,
        recorded_by=recorded_by,
    )
    with engine.begin() as conn:
        conn.execute(insert(data_subject_requests_table).values(**row.__dict__))
    return row


def list_requests(engine: Engine) -> list[DataSubjectRequest]:
    """Every recorded request, oldest first."""
    t = data_subject_requests_table
    with engine.connect() as conn:
        rows = conn.execute(select(t).order_by(t.c.received_on, t.c.id)).all()
    return [DataSubjectRequest(**row._mapping) for row in rows]
