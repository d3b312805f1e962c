"""How the scheduled jobs last went: the one row per job an operator's check reads.

``visselpipa tick`` records the day of its last success and how long it
took; ``visselpipa check`` and ``/metrics`` read it, so the operator learns
when the timer stopped. Days only: like everything else the server writes,
no time of day (a tick's time says nothing of reporters, but a day is all
an operator needs to know that it ran).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy import Column, Date, Float, String, Table
from sqlalchemy.engine import Engine

from caseflow.store.errors import StoreUnavailable
from caseflow.store.metadata import metadata

job_runs_table = Table(
    "job_runs",
    metadata,
    Column("job", String(32), primary_key=True),
    Column("last_success_on", Date, nullable=True),
    Column("last_seconds", Float, nullable=True),
    Column("last_failure_on", Date, nullable=True),
)

TICK = "tick"


@dataclass(frozen=True)
class JobRun:
    """The last success (day, seconds it took) of a job, and a failure since (day)."""

    job: str
    last_success_on: date | None
    last_seconds: float | None
    last_failure_on: date | None


def _upsert(engine: Engine, job: str, values: dict[str, object]) -> None:
    t = job_runs_table
    with engine.begin() as conn:
        updated = conn.execute(sa.update(t).where(t.c.job == job).values(**values)).rowcount
        if not updated:
            conn.execute(sa.insert(t).values(job=job, **values))


def record_success(engine: Engine, job: str, day: date, seconds: float) -> None:
    """Note that ``job`` succeeded on ``day`` in ``seconds`` (a failure before it is over)."""
    _upsert(
        engine,
        job,
        {"last_success_on": day, "last_seconds": round(seconds, 3), "last_failure_on": None},
    )


def record_failure(engine: Engine, job: str, day: date) -> None:
    """Note that ``job`` failed on ``day`` (best effort: the failure may be the database)."""
    _upsert(engine, job, {"last_failure_on": day})


def last_run(engine: Engine, job: str) -> JobRun:
    """How ``job`` last went; all None when it never ran."""
    t = job_runs_table
    try:
        with engine.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c.job == job)).first()
    except sa.exc.OperationalError as e:
        raise StoreUnavailable(f"the database did not answer ({type(e).__name__})") from e
    if row is None:
        return JobRun(job, None, None, None)
    return JobRun(job, row.last_success_on, row.last_seconds, row.last_failure_on)
