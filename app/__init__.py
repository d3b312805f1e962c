"""The Visselpipa web application (Flask app factory)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from config.settings import Settings, load_settings


def create_app(
    settings: Settings | None = None, overrides: Mapping[str, Any] | None = None
) -> Flask:
    """Build the app; refuse to start on a missing secret or invalid setting.

    ``settings`` defaults to :func:`config.settings.load_settings` (defaults,
    secrets file, ``VISSELPIPA_*`` environment). ``overrides`` go to Flask's
    own config (tests use it for ``TESTING``).
    """
    from app import i18n, ops, privacy, proof, reporter, security, services, staff, workspace

    settings = settings or load_settings()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        # Text fields stay in memory; files go through the sealing stream.
        MAX_FORM_MEMORY_SIZE=1024 * 1024,
        MAX_FORM_PARTS=200,
        VISSELPIPA=settings,
    )
    app.config.update(overrides or {})
    services.init_app(app, settings)
    i18n.init_app(app, settings)
    security.init_app(app, settings)
    app.register_blueprint(ops.bp)
    app.register_blueprint(reporter.bp)
    app.register_blueprint(proof.bp)
    app.register_blueprint(privacy.bp)
    app.register_blueprint(staff.bp)
    app.register_blueprint(workspace.bp)
    from app import admin, oversight

    app.register_blueprint(oversight.bp)
    app.register_blueprint(admin.bp)
    return app
