"""Abuse resistance that works for Tor users and without JavaScript.

Many honest reporters share one Tor exit, so an address is a poor key (and
Visselpipa never reads one). What a request *does* carry is its signed
session cookie, which records the minute the session began. Each protected
action is counted (``limits`` moving windows, in memory for one process or in
Redis for several) once the request has passed the CSRF check, in two lanes:

- **per session**: one browser session may only try so many receipts or send
  so many reports. It touches nobody else.
- **deployment-wide**: sessions younger than the action's *patience* (a
  script that fetches a form and posts at once) share one *fresh* lane.
  Sessions at least that old (a person who read the page and wrote a report)
  are counted in a lane of their *starting minute*: those begun in the same
  minute share a window, and sessions of other minutes never touch it.

Why this cannot lock an honest reporter out: no counter is keyed on anything
an attacker can name for somebody else (not an address, not a receipt, not a
case); a request without a valid CSRF token is never counted; a flood of new
sessions stays in the fresh lane; and sessions opened in advance and left to
age use up only the lanes of the minutes in which they were opened. To crowd
out a reporter who began writing at 10:42, an attacker must have opened
sessions at 10:42 too, for every minute anyone might have begun, for as long
as the flood lasts; what remains of that is for the Tor onion service's proof
of work (deploy/tor) to price. The key stretching an aged flood can demand is
bounded by the workers (each derives one key at a time), so such a flood makes
answers slow, not refused.

If the shared store (Redis) fails, the guard fails open to counting in this
process alone and says so in the operator's log: an outage of the rate-limit
store must not stop intake, and the per-process windows still cap one
worker's key stretching.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import session
from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from app import held_log

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
        shared = storage_uri.startswith("redis")
        options = {"key_prefix": key_prefix, "wrap_exceptions": True} if shared else {}
        self.storage: Storage = storage_from_string(storage_uri, **options)
        self.limiter = MovingWindowRateLimiter(self.storage)
        #: Counts of this process alone, while the shared store is unreachable.
        self.fallback = MovingWindowRateLimiter(MemoryStorage())
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

    def lanes(self, action: str) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
        """The windows one ``action`` of this session is counted in."""
        guarded = self.actions[action]
        self.note_visit()
        patient = self.session_age_seconds() >= guarded.patience_seconds
        return [
            (guarded.per_session, (action, "session", str(session[SESSION_ID]))),
            (guarded.patient, (action, "patient", str(session[SESSION_SINCE])))
            if patient
            else (guarded.fresh, (action, "fresh")),
        ]

    def check(self, action: str) -> Refusal | None:
        """Count one ``action``; a Refusal if any lane is full (nothing counted then)."""
        lanes = self.lanes(action)
        try:
            return self._count(self.limiter, lanes)
        except StorageError as error:
            self._log_outage(error)
            return self._count(self.fallback, lanes)

    def _count(
        self,
        limiter: MovingWindowRateLimiter,
        lanes: list[tuple[RateLimitItem, tuple[str, ...]]],
    ) -> Refusal | None:
        for item, identifiers in lanes:
            if not limiter.test(item, *identifiers):
                stats = limiter.get_window_stats(item, *identifiers)
                return Refusal(retry_after=max(1, int(stats.reset_time - time.time()) + 1))
        for item, identifiers in lanes:
            limiter.hit(item, *identifiers)
        return None

    def _log_outage(self, error: StorageError) -> None:
        # The dependency and the error's class, never anything of the request;
        # held and written once a day (app/held_log.py), so that the line does
        # not carry the time of the request that found the store down.
        cause = type(error.storage_error).__name__
        held_log.note_warning(
            f"rate-limit store unavailable ({cause}): counted in this process until it returned"
        )
