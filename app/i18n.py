"""Swedish first, English one click away: the choice lives in the session."""

from __future__ import annotations

from flask import Flask, session
from flask_babel import Babel

from config.settings import Settings

LOCALES = ("sv", "en")


def init_app(app: Flask, settings: Settings) -> None:
    app.config["BABEL_DEFAULT_LOCALE"] = settings.default_locale
    app.config["BABEL_DEFAULT_TIMEZONE"] = "Europe/Stockholm"

    def select_locale() -> str:
        # Deliberately not Accept-Language: the page looks the same to every
        # reporter until they choose, which leaks nothing about the browser.
        chosen = session.get("lang")
        return chosen if chosen in LOCALES else settings.default_locale

    Babel(app, locale_selector=select_locale)

    @app.template_filter("filesize")
    def filesize(size: int) -> str:
        """A byte count the way people read it, with the locale's decimal mark."""
        from flask_babel import format_decimal

        if size < 1024:
            return f"{size} B"
        value, unit = size / 1024, "KiB"
        for larger in ("MiB", "GiB"):
            if value < 1024:
                break
            value, unit = value / 1024, larger
        return f"{format_decimal(value, format='#,##0.#')} {unit}"

    @app.context_processor
    def inject_locale() -> dict[str, object]:
        from flask_babel import get_locale

        return {"current_locale": str(get_locale() or settings.default_locale)}
