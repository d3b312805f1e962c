"""The services a view may ask for, chosen once in the factory."""

from __future__ import annotations

import hashlib
import logging

import sqlalchemy as sa
from flask import Flask, current_app

from caseflow.service.cases import CaseService
from caseflow.service.intake import Intake
from caseflow.store import StoreUnavailable, create_engine, require_current_schema
from config.settings import Settings
from crypto.kdf import KdfCost, seconds_per_derivation
from crypto.signing import Signer
from identity.deployment import check_deployment_secrets
from identity.reporter_sessions import ReporterSessions
from identity.staff_auth import StaffAuth, Throttle
from identity.staff_sessions import StaffSessions


def init_app(app: Flask, settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    engine = create_engine(settings.database_url)
    answered = True
    try:
        require_current_schema(engine)
        # Failing closed: with another tenant salt every receipt would fail,
        # with another signing key nothing signed would verify.
        check_deployment_secrets(engine, settings)
    except StoreUnavailable:
        # Failing open: a database that is down now may be up for the first
        # request, and each request then answers for itself. What must never
        # start is code on a schema it does not match, which a reachable
        # database at an older (or newer) migration is: that raises. Nor are
        # the secrets' fingerprints checked, and the receipt floor counts only
        # the configured cost: the next start checks both.
        answered = False
        logging.getLogger("visselpipa").warning(
            "the database did not answer at start: its migrations were not checked"
        )
    except Exception:
        engine.dispose()
        raise
    app.extensions["visselpipa.engine"] = engine
    cases = CaseService(engine, settings.rules)
    app.extensions["visselpipa.cases"] = cases
    intake = Intake(engine, settings, cases)
    app.extensions["visselpipa.intake"] = intake
    costs = intake.receipt_costs() if answered else (settings.kdf,)
    app.extensions["visselpipa.receipt_floor"] = receipt_floor_seconds(settings, costs)
    app.extensions["visselpipa.reporter_sessions"] = ReporterSessions(
        engine, settings.reporter_session_minutes
    )
    app.extensions["visselpipa.staff_auth"] = make_staff_auth(engine, settings)
    app.extensions["visselpipa.staff_sessions"] = make_staff_sessions(engine, settings)


def make_staff_auth(engine: sa.Engine, settings: Settings) -> StaffAuth:
    """Sign-in and throttling, as the app and ``visselpipa tick`` (its sweep) use them."""
    return StaffAuth(
        engine,
        settings.kdf,
        throttle_key(settings),
        Throttle(
            settings.login_max_failures,
            settings.login_lock_seconds,
            settings.login_max_lock_seconds,
        ),
        signer=Signer(settings.signing_seed),
    )


def make_staff_sessions(engine: sa.Engine, settings: Settings) -> StaffSessions:
    return StaffSessions(engine, settings.staff_idle_minutes, settings.staff_session_hours)


def receipt_floor_seconds(settings: Settings, costs: tuple[KdfCost, ...]) -> float:
    """How long every receipt check takes at least, so no path is faster.

    A valid receipt opens a grant and writes a session; a wrong one renders
    the form again. The differences are small next to the key stretching but
    measurable, so both are padded to a floor: the measured derivation time
    (one derivation per cost in use, ``Intake.receipt_costs``) with a margin
    for load, plus 20 ms for the rest of the request.
    """
    if settings.receipt_floor_ms:
        return settings.receipt_floor_ms / 1000
    samples = sorted(sum(seconds_per_derivation(cost) for cost in costs) for _ in range(3))
    return samples[1] * 1.25 + 0.020


def receipt_floor() -> float:
    value: float = current_app.extensions["visselpipa.receipt_floor"]
    return value


def intake() -> Intake:
    service: Intake = current_app.extensions["visselpipa.intake"]
    return service


def reporter_sessions() -> ReporterSessions:
    service: ReporterSessions = current_app.extensions["visselpipa.reporter_sessions"]
    return service


def settings() -> Settings:
    value: Settings = current_app.config["VISSELPIPA"]
    return value


def throttle_key(settings: Settings) -> bytes:
    """The key of the username hashes in ``login_throttle``: derived from the
    secret key, so every instance (and the CLI) counts under the same hash."""
    return hashlib.blake2b(
        settings.secret_key.encode(), digest_size=32, person=b"vp.throttlekey"
    ).digest()


def staff_auth() -> StaffAuth:
    service: StaffAuth = current_app.extensions["visselpipa.staff_auth"]
    return service


def staff_sessions() -> StaffSessions:
    service: StaffSessions = current_app.extensions["visselpipa.staff_sessions"]
    return service


def engine() -> sa.Engine:
    value: sa.Engine = current_app.extensions["visselpipa.engine"]
    return value
