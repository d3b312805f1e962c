"""The daily mail digest to staff: which days were sent, what each member is told.

- ``mail_digests``: one row per day a digest was made. ``through_seq`` is
  the last event of the log it covers (the next day's digest starts after
  it), so what a digest counts is fixed when it is made, and a retry after
  an SMTP failure sends the same. ``lease_until`` (UTC, the tick's own time,
  never a reporter's) lets one tick at a time deliver it; ``sent_on`` is the
  day the last of its mails went out; ``failure`` and ``failed_on`` what the
  SMTP server last said, for ``visselpipa check``.
- ``mail_digest_items``: one row per member and day: the counts (JSON of
  kind → number, nothing else) and whether the mail went out.

Nothing here holds a case id, a category, an agency or any time finer than
the day of something a reporter did.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Date, PrimaryKeyConstraint, String, Table

from caseflow.store.metadata import metadata

mail_digests_table = Table(
    "mail_digests",
    metadata,
    Column("day", Date, primary_key=True),
    Column("through_seq", BigInteger, nullable=False),
    # "2026-12-03T06:10:00Z": text, so that SQLite and PostgreSQL compare alike.
    Column("lease_until", String(20), nullable=True),
    Column("sent_on", Date, nullable=True),
    Column("failure", String(200), nullable=True),
    Column("failed_on", Date, nullable=True),
)

mail_digest_items_table = Table(
    "mail_digest_items",
    metadata,
    Column("day", Date, nullable=False),
    Column("staff_id", String(32), nullable=False),
    Column("counts", String(200), nullable=False),
    Column("sent", Boolean, nullable=False),
    PrimaryKeyConstraint("day", "staff_id", name="pk_mail_digest_items"),
)
