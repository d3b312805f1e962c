"""The services a view may ask for, chosen once in the factory."""

from __future__ import annotations

from flask import Flask, current_app

from caseflow.service.cases import CaseService
from caseflow.service.intake import Intake
from caseflow.service.reporter_sessions import ReporterSessions
from caseflow.store import create_engine
from config.settings import Settings


def init_app(app: Flask, settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    engine = create_engine(settings.database_url)
    app.extensions["visselpipa.engine"] = engine
    cases = CaseService(engine, settings.rules)
    app.extensions["visselpipa.cases"] = cases
    app.extensions["visselpipa.intake"] = Intake(engine, settings, cases)
    app.extensions["visselpipa.reporter_sessions"] = ReporterSessions(
        engine, settings.reporter_session_minutes
    )


def intake() -> Intake:
    service: Intake = current_app.extensions["visselpipa.intake"]
    return service


def reporter_sessions() -> ReporterSessions:
    service: ReporterSessions = current_app.extensions["visselpipa.reporter_sessions"]
    return service


def settings() -> Settings:
    value: Settings = current_app.config["VISSELPIPA"]
    return value
