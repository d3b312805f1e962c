"""Swedish first, English one click away: the choice lives in the session."""

from __future__ import annotations

import unicodedata
from typing import Any
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


def _escape_translations(app: Flask) -> None:
    """Translated strings are text, like any other: escaped in templates.

    Jinja's i18n extension marks what ``_()`` returns as safe markup, so a
    translation holding ``<desk>`` was read as a tag by the browser (and a
    translator could have put any markup on a page). Escaping each string
    before Jinja marks it keeps the placeholders' values escaped as before;
    markup belongs in the template around the string, never inside it.
    """
    from flask_babel import get_translations
    from markupsafe import escape

    app.jinja_env.install_gettext_callables(
        gettext=lambda s: escape(get_translations().ugettext(s)),
        ngettext=lambda s, p, n: escape(get_translations().ungettext(s, p, n)),
        newstyle=True,
        pgettext=lambda c, s: escape(get_translations().upgettext(c, s)),
        npgettext=lambda c, s, p, n: escape(get_translations().unpgettext(c, s, p, n)),
    )


# Swedish alphabetical order puts Å, Ä and Ö after Z (SS 637003); Python's
# code-point order would put Ä before Å. English names sort the same way, as
# they hold none of the three.
# "{", "|" and "}" are the three characters that follow "z" in ASCII.
_SWEDISH_ORDER = str.maketrans({"å": "{", "ä": "|", "ö": "}"})


def collation_key(text: str) -> str:
    """A key that sorts names as a Swedish (or English) reader expects."""
    return text.casefold().translate(_SWEDISH_ORDER)


def error_items(*forms: Any) -> list[tuple[str, str]]:
    """Every field error of ``forms`` as (field id, message), for an error summary
    (the CSRF token's left out: its failure has a page of its own)."""
    items = []
    for form in forms:
        for f in form:
            if f.type == "CSRFTokenField":
                continue
            items.extend((f.id, str(message)) for message in f.errors)
    return items


def init_app(app: Flask, settings: Settings) -> None:
    app.config["BABEL_DEFAULT_LOCALE"] = settings.default_locale
    app.config["BABEL_DEFAULT_TIMEZONE"] = "Europe/Stockholm"

    def select_locale() -> str:
        # Deliberately not Accept-Language: the page looks the same to every
        # reporter until they choose, which leaks nothing about the browser.
        chosen = session.get("lang")
        return chosen if chosen in LOCALES else settings.default_locale

    Babel(app, locale_selector=select_locale)
    _escape_translations(app)

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

    app.jinja_env.globals["error_items"] = error_items

    @app.context_processor
    def inject_locale() -> dict[str, object]:
        from flask_babel import get_locale

        return {"current_locale": str(get_locale() or settings.default_locale)}
