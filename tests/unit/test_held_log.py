"""app/held_log.py: request-time operator lines are counted, and written per day."""

from __future__ import annotations

import logging
import os
from datetime import UTC, date, datetime, timedelta

import pytest

from app.held_log import HeldLog


@pytest.fixture
def log(caplog):
    caplog.set_level("WARNING", logger="test.held")
    held = HeldLog("test.held")
    yield held, caplog
    if held._timer is not None:
        held._timer.cancel()


def _lines(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "test.held"]


def test_a_noted_line_is_not_written_until_the_day_is_over(log):
    held, caplog = log
    for _ in range(3):
        held.note(logging.ERROR, "database unavailable (OperationalError): answered 503")
    held.note(logging.WARNING, "rate-limit store unavailable (ConnectionError)")
    assert _lines(caplog) == []
    today = datetime.now(UTC).date()
    held.flush(before=today)  # what the midnight timer does: today is not over
    assert _lines(caplog) == []
    held.flush(before=today + timedelta(days=1))
    assert _lines(caplog) == [
        f"{today}: database unavailable (OperationalError): answered 503 — 3 times",
        f"{today}: rate-limit store unavailable (ConnectionError) — once",
    ]
    assert [r.levelno for r in caplog.records] == [logging.ERROR, logging.WARNING]
    assert held.held() == {}  # written once, not again
    held.flush()
    assert len(_lines(caplog)) == 2


def test_days_are_written_separately_and_only_when_over(log, monkeypatch):
    held, caplog = log
    days = iter([date(2026, 12, 1), date(2026, 12, 1), date(2026, 12, 2)])  # the 1st schedules

    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.combine(next(days), datetime.min.time(), UTC) + timedelta(hours=13)

    monkeypatch.setattr("app.held_log.datetime", Clock)
    held.note(logging.ERROR, "unhandled KeyError in reporter.report")
    held.note(logging.ERROR, "unhandled KeyError in reporter.report")
    held.flush(before=date(2026, 12, 2))
    assert _lines(caplog) == ["2026-12-01: unhandled KeyError in reporter.report — once"]
    assert held.held() == {"unhandled KeyError in reporter.report": 1}


def test_the_timer_fires_after_midnight_utc_not_after_the_request(log):
    held, _ = log
    held.note(logging.ERROR, "disk full (OSError): answered 503")
    timer = held._timer
    assert timer is not None and timer.daemon
    now = datetime.now(UTC)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
    # Its delay ends at the same moment whenever in the day the line was noted.
    fires_at = now + timedelta(seconds=timer.interval)
    assert midnight <= fires_at <= midnight + timedelta(seconds=60)
    held.note(logging.ERROR, "disk full (OSError): answered 503")
    assert held._timer is timer  # one timer, however many lines


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_worker_does_not_write_its_parents_lines(log, tmp_path):
    held, _ = log
    held.note(logging.ERROR, "database unavailable (OperationalError): answered 503")
    out = tmp_path / "child"
    pid = os.fork()
    if pid == 0:  # the child: what a gunicorn worker would start with
        try:
            held._forget_timer()  # os.register_at_fork does this for the module's log
            out.write_text(f"{held.held()!r} {held._timer!r}")
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert out.read_text() == "{} None"
    assert held.held() != {}


def test_the_module_log_forgets_at_fork(tmp_path):
    from app.held_log import held

    held.note(logging.ERROR, "parent line")
    out = tmp_path / "child"
    pid = os.fork()
    if pid == 0:
        try:
            out.write_text(repr(held.held()))
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert out.read_text() == "{}"
    held.flush()


def test_what_is_held_is_written_when_the_process_exits(tmp_path):
    """SECURITY.md: held lines are written after midnight *or when the process exits*."""
    import subprocess
    import sys

    script = (
        "import logging\n"
        "from app.held_log import note_error\n"
        "note_error('database unavailable (OperationalError): answered 503')\n"
        "note_error('database unavailable (OperationalError): answered 503')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={"PYTHONPATH": str(__import__("pathlib").Path(__file__).resolve().parents[2])},
    )
    assert done.returncode == 0, done.stderr
    today = datetime.now(UTC).date()
    line = "database unavailable (OperationalError): answered 503 — 2 times"
    # The day the lines were noted (the run may cross midnight).
    assert any(f"{day}: {line}" in done.stderr for day in (today, today - timedelta(days=1)))
