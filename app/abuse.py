"""Abuse resistance that works for Tor users and without JavaScript.

Many honest reporters share one Tor exit, so an address is a poor key (and
Visselpipa never reads one). What a request *does* carry is its signed
session cookie, which records when the session began. Each protected action
is counted in three lanes (``limits`` moving windows, in memory for one
process or in Redis for several):

- **per session**: one browser session may only try so many receipts or send
  so many reports. It touches nobody else.
- **global, fresh sessions**: a deployment-wide cap for sessions younger than
  the action's *patience* (a script that fetches a form and posts at once).
- **global, patient sessions**: a separate cap for sessions that have existed
  at least that long (a person who read the page and wrote a report). A flood
  of fresh sessions cannot use it up.

Why this cannot lock an honest reporter out: no counter is keyed on anything
an attacker can name for somebody else (not an address, not a receipt, not a
case), so the worst an attacker achieves is a *busy* answer on the shared
lanes, which frees up as the window moves; the form comes back with what the
reporter typed and a ``Retry-After``. What it cannot do: stop a patient
attacker who ages many sessions in advance from keeping the global lanes busy
(nothing short of a proof of work or an identity can, and neither is
acceptable here); it caps the Argon2id work such a flood costs the server.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import session
from limits import RateLimitItem, parse
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

SESSION_ID = "rl"
SESSION_SINCE = "since"


@dataclass(frozen=True)
class Guarded:
    """The limits of one protected action."""

    name: str
    per_session: RateLimitItem
    fresh: RateLimitItem
    patient: RateLimitItem
    patience_seconds: int


@dataclass(frozen=True)
class Refusal:
    retry_after: int


def parse_limit(name: str, text: str) -> RateLimitItem:
    """``"5/hour"``, ``"10 per 10 minutes"``; ValueError names the setting."""
    try:
        return parse(text)
    except ValueError:
        raise ValueError(f"{name}: {text!r} is not a rate such as '5/hour'") from None


class AbuseGuard:
    def __init__(
        self,
        storage_uri: str,
        actions: dict[str, Guarded],
        clock: Callable[[], float] = time.time,
        key_prefix: str = "visselpipa",
    ) -> None:
        options = {"key_prefix": key_prefix} if storage_uri.startswith("redis") else {}
        self.storage: Storage = storage_from_string(storage_uri, **options)
        self.limiter = MovingWindowRateLimiter(self.storage)
        self.actions = actions
        self.clock = clock

    def note_visit(self) -> None:
        """Give the browser session an id and a start time (minutes, coarse).

        The minute is rounded up, so a session never looks older than it is.
        """
        if SESSION_ID not in session:
            session[SESSION_ID] = secrets.token_hex(8)
            session[SESSION_SINCE] = -int(-self.clock() // 60)

    def session_age_seconds(self) -> float:
        since = session.get(SESSION_SINCE)
        if not isinstance(since, int):
            return 0.0
        return max(0.0, self.clock() - since * 60)

    def check(self, action: str) -> Refusal | None:
        """Count one ``action``; a Refusal if any lane is full (nothing counted then)."""
        guarded = self.actions[action]
        self.note_visit()
        patient = self.session_age_seconds() >= guarded.patience_seconds
        lanes = [
            (guarded.per_session, (action, "session", str(session[SESSION_ID]))),
            (guarded.patient, (action, "patient"))
            if patient
            else (guarded.fresh, (action, "fresh")),
        ]
        for item, identifiers in lanes:
            if not self.limiter.test(item, *identifiers):
                stats = self.limiter.get_window_stats(item, *identifiers)
                return Refusal(retry_after=max(1, int(stats.reset_time - time.time()) + 1))
        for item, identifiers in lanes:
            self.limiter.hit(item, *identifiers)
        return None
