"""When a dependency fails: a 503 that keeps what the person typed, never a 500.

A database that does not answer, a full or failing disk: the request is
answered 503 with ``Retry-After``, the form comes back filled in where the
endpoint can re-render itself (the report form, the receipt form), and every
other form's text is shown back on the error page so nothing typed is lost.
Files are never kept (the page says so): their sealed blobs of this request
are removed. The operator's log names the failing dependency and the error's
class, nothing of the request, in a line held and written once a day
(app/held_log.py), so that no log line carries the time of a request.

Failing open or closed, per dependency:

- **database**: closed. Nothing can be received or read without it; the
  reporter's text comes back to send again.
- **disk**: closed, for the same reason; the blobs of the request are removed.
  The sealed files live in the database (caseflow/store/blobs.py), so a full
  disk usually shows as the database's own error (SQLite's SQLITE_FULL,
  PostgreSQL's disk-full class), which is named "disk full" too.
- **the desk keys**: closed. A desk key in the ``desks`` table that the signed
  log does not name (identity/key_log.py) may be an attacker's: the report is
  not sealed to it, the reporter's text comes back, and ``visselpipa check``
  names the desk.
- **rate-limit store (Redis)**: open, in app/abuse.py: counting falls back to
  each process, so an outage of the counters does not stop intake.
"""

from __future__ import annotations

import errno
import sqlite3
from typing import Any

import sqlalchemy as sa
from flask import current_app, g, render_template, request
from flask_babel import lazy_gettext as _l

from app import held_log
from identity.key_log import DeskKeyMismatch

RETRY_AFTER_SECONDS = 30

#: Disk errors that are the disk's fault, not the program's.
_DISK_FULL = {errno.ENOSPC, errno.EDQUOT}
_DISK_FAILING = {errno.EROFS, errno.EIO}

#: Form fields that are machinery, not something a person typed (staff action
#: forms prefix theirs: ``add_internal_note-csrf_token``).
_MACHINERY = ("csrf_token", "form_token", "action", "version")


def failing_dependency(error: BaseException) -> str | None:
    """What failed, in the operator's words (``"database unavailable"``, ``"disk
    full"``, ``"disk failing"``, ``"desk key check failed"``), or None: from the
    error or what caused it."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DeskKeyMismatch):
            # The desks table and the signed log disagree: nothing is sealed
            # until the operator finds out why (`visselpipa check` names the desk).
            return "desk key check failed"
        if isinstance(current, sa.exc.DBAPIError) and _database_disk_full(current.orig):
            return "disk full"
        down = isinstance(current, sa.exc.OperationalError | sa.exc.InterfaceError)
        invalidated = isinstance(current, sa.exc.DBAPIError) and current.connection_invalidated
        if down or invalidated or isinstance(current, sa.exc.TimeoutError):  # pool timeout
            return "database unavailable"
        if isinstance(current, OSError) and current.errno in _DISK_FULL:
            return "disk full"
        if isinstance(current, OSError) and current.errno in _DISK_FAILING:
            return "disk failing"
        current = current.__cause__ or current.__context__
    return None


def _database_disk_full(error: BaseException | None) -> bool:
    """The database's own word for a full disk: SQLite's SQLITE_FULL, PostgreSQL's
    53100 (disk_full)."""
    if isinstance(error, sqlite3.Error):
        return getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    return str(getattr(error, "sqlstate", "") or "") == "53100"


def typed_text() -> list[tuple[str, str]]:
    """What the person typed into the form of this request, field by field."""
    if request.method != "POST":
        return []
    return [
        (name, value)
        for name, value in request.form.items(multi=True)
        if not name.endswith(_MACHINERY) and value.strip()
    ]


def answer(error: BaseException, dependency: str) -> tuple[str, int, dict[str, str]]:
    held_log.note_error(f"{dependency} ({type(error).__name__}): answered 503")
    uploads: Any = g.get("uploads")
    if uploads is not None:
        uploads.abandon()
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    notice = _l(
        "The service cannot save anything right now. Nothing was sent; what you wrote "
        "is still here. Try again in a minute; attach your files again."
    )
    handler = current_app.config.get("FORM_RERENDER", {}).get(request.endpoint)
    if handler is not None:
        try:
            return handler(notice), 503, headers
        except Exception as again:  # the re-render needs what is down: the plain page
            if failing_dependency(again) is None:
                raise
    page = render_template(
        "unavailable.html",
        title=_l("The service is unavailable for a moment"),
        text=notice,
        kept=typed_text(),
    )
    return page, 503, headers
