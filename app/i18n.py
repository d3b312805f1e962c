"""Swedish first, English one click away: the choice lives in the session."""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

from flask import Flask, session
from flask_babel import Babel
from werkzeug.urls import iri_to_uri

from config.settings import Settings

LOCALES = ("sv", "en")

#: A language link carries the page's own path; anything longer is not one.
MAX_NEXT_CHARS = 2048


class MalformedTarget(ValueError):
    """A ``next`` value no page of ours could have sent (control characters, too long)."""


def local_target(text: str) -> str | None:
    """The redirect target for a language link's ``next``, or None for the start page.

    A path on this site comes back as it was, percent-encoded so that the
    ``Location`` header holds printable ASCII only. Anything that could lead
    off the site (a scheme, ``//host``, a backslash, which browsers read as a
    slash) gives None: the reporter lands on the start page, never elsewhere.
    Control and format characters raise :class:`MalformedTarget` (a 400):
    browsers drop tabs and newlines from URLs, so ``/\t/evil.example`` would
    become ``//evil.example``, and a newline would break the header.
    """
    if len(text) > MAX_NEXT_CHARS or any(
        unicodedata.category(c) in {"Cc", "Cf", "Cs", "Zl", "Zp"} for c in text
    ):
        raise MalformedTarget("not a path of this site")
    if not text.startswith("/") or text.startswith("//") or "\\" in text:
        return None
    uri = iri_to_uri(text)
    parts = urlsplit(uri)
    if parts.scheme or parts.netloc or not uri.startswith("/") or uri.startswith("//"):
        return None
    return uri


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
