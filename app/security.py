"""Request-wide security, applied in one place and never in views.

- Headers (Flask-Talisman): strict CSP with no inline script or style,
  HSTS, no referrer, nosniff, a restrictive Permissions-Policy, no framing.
- CSRF on every state-changing request (Flask-WTF's CSRFProtect).
- Abuse resistance without addresses (app/abuse.py): per-session and
  deployment-wide rates on reports, receipt attempts and messages.
- ``__Host-`` session cookie: Secure, HttpOnly, SameSite=Strict.
- ``Cache-Control: no-store`` on every page the app renders.
- Error pages without stack traces, in the reporter's language.
- ``Onion-Location`` on every HTTPS response when the deployment has an
  onion service (``onion_address``), so Tor Browser offers the onion.
- Uploads go through :class:`SealingRequest`: file bytes are sealed as the
  multipart parser reads them and never touch the disk in plaintext.
"""

from __future__ import annotations

import logging
from typing import IO, Any
from urllib.parse import quote

from flask import Flask, Request, g, render_template, request
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from flask_talisman import Talisman
from flask_wtf.csrf import CSRFError, CSRFProtect
from gunicorn.http.errors import (
    InvalidResponseHeader,
    InvalidResponseHeaderName,
    NoMoreData,
    ParseException,
)
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from app import held_log, unavailable
from app.abuse import AbuseGuard, Guarded, parse_limit
from caseflow.service.uploads import DiscardingUpload
from config.settings import Settings

csrf = CSRFProtect()

CSP = {
    "default-src": "'none'",
    "style-src": "'self'",
    "img-src": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
}

PERMISSIONS_POLICY = {
    "camera": "()",
    "microphone": "()",
    "geolocation": "()",
    "payment": "()",
    "usb": "()",
    "interest-cohort": "()",
}

ERROR_TEXT = {
    400: (
        _l("The request could not be understood"),
        _l("Something in what your browser sent was malformed. Go back and try again."),
    ),
    403: (_l("Not allowed"), _l("You do not have access to this page.")),
    404: (_l("Page not found"), _l("There is no page at this address.")),
    405: (_l("Not allowed"), _l("This page cannot be used that way.")),
    413: (
        _l("Too much data"),
        _l(
            "What you sent is larger than this service accepts. Attach fewer or smaller "
            "files and try again."
        ),
    ),
    429: (_l("Too many attempts"), _l("Please wait a while and try again.")),
    500: (
        _l("Something went wrong"),
        _l(
            "The service could not complete your request. Nothing you wrote was saved in "
            "readable form. Please try again later."
        ),
    ),
}


class SealingRequest(Request):
    """A request whose uploaded files are sealed while they stream in.

    A view that accepts files registers a factory in ``g.upload_factory``
    (see :func:`accept_uploads`) before the form is parsed; on every other
    request file parts are read and thrown away, so no plaintext reaches a
    temporary file (Werkzeug's default would spool large parts to /tmp).
    """

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        factory = g.get("upload_factory")
        if factory is None:
            return DiscardingUpload()  # type: ignore[return-value]
        stream: IO[bytes] = factory(filename or "", content_type or "")
        return stream


def accept_uploads(factory: Any) -> None:
    """Declare, before the form is parsed, where this request's files go."""
    g.upload_factory = factory


def init_app(app: Flask, settings: Settings) -> None:
    app.request_class = SealingRequest
    plain = settings.plain_http
    app.config.update(
        # The __Host- prefix needs Secure; a browser on plain http would drop it.
        SESSION_COOKIE_NAME="vp_session" if plain else "__Host-vp_session",
        SESSION_COOKIE_PATH="/",
        SESSION_COOKIE_DOMAIN=None,
        WTF_CSRF_TIME_LIMIT=None,  # valid for the session: a slow writer loses nothing
        # Flask-WTF's HTTPS check wants a Referer, which no-referrer (and Tor
        # Browser) never send; the token plus the SameSite=Strict cookie carry
        # the protection instead.
        WTF_CSRF_SSL_STRICT=False,
    )
    Talisman(
        app,
        force_https=not plain,
        strict_transport_security=not plain,
        strict_transport_security_max_age=63072000,
        strict_transport_security_include_subdomains=True,
        session_cookie_secure=not plain,
        session_cookie_http_only=True,
        session_cookie_samesite="Strict",
        content_security_policy=CSP,
        referrer_policy="no-referrer",
        permissions_policy=PERMISSIONS_POLICY,
        frame_options="DENY",
    )
    guard = AbuseGuard(
        settings.rate_limit_storage,
        {
            action: Guarded(
                action,
                parse_limit(action, per),
                parse_limit(action, fresh),
                parse_limit(action, patient),
                patience,
            )
            for action, (per, fresh, patient, patience) in settings.limits.items()
        },
    )
    app.extensions["visselpipa.abuse"] = guard
    # Order matters. CSRFProtect parses the form, so the files in it must
    # already know where to be sealed; the guard counts only requests that
    # passed the CSRF check (a token-less flood is refused without touching a
    # counter an honest reporter depends on), and runs before the view, so a
    # refused request costs no key stretching.
    app.before_request(_note_visit)
    app.before_request(_prepare_uploads)
    csrf.init_app(app)
    app.before_request(_guard_actions)
    _quiet_werkzeug_logging()

    @app.after_request
    def no_store(response: Response) -> Response:
        # Static files carry no case data and may be cached; everything the
        # app renders might (a status page, a receipt), so nothing is stored.
        if request.endpoint not in CACHEABLE_ENDPOINTS:
            response.headers["Cache-Control"] = "no-store"
            response.headers["Pragma"] = "no-cache"
        response.headers.pop("Server", None)
        return response

    if settings.onion_address:
        _offer_onion(app, settings.onion_address)

    @app.errorhandler(CSRFError)
    def csrf_failed(error: CSRFError) -> tuple[str, int]:
        handler = app.config.get("FORM_RERENDER", {}).get(request.endpoint)
        if handler is not None:
            # Failing closed on the token, but the reporter's text is not lost:
            # the form comes back filled in, with a fresh token.
            return handler(
                _l(
                    "The form had expired. Check what you wrote and send it "
                    "again; attach your files again."
                )
            ), 400
        return _error_page(
            400,
            _l("The form had expired"),
            _l(
                "For your protection, forms are only valid for a while. Go back, "
                "reload the page and send again."
            ),
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str, int]:
        code = error.code or 500
        title, text = ERROR_TEXT.get(code, ERROR_TEXT[400 if code < 500 else 500])
        return _error_page(code, title, text)

    @app.errorhandler(ParseException)
    @app.errorhandler(NoMoreData)
    def unreadable_body(error: Exception) -> tuple[str, int]:
        # gunicorn parses a chunked body only as the form parser reads it: a
        # broken one surfaces here, in the view. It is the client's fault (a
        # 400); an error in a header the app sends is ours, and stays a 500.
        if isinstance(error, InvalidResponseHeader | InvalidResponseHeaderName):
            return unexpected(error)
        title, text = ERROR_TEXT[400]
        return _error_page(400, title, text)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[str, int] | tuple[str, int, dict[str, str]]:
        dependency = unavailable.failing_dependency(error)
        if dependency is not None:
            return unavailable.answer(error, dependency)
        # Log the kind of failure only: an exception's message or traceback
        # may quote request data.
        # Held and written once a day: a line now would carry the request's time.
        held_log.note_error(f"unhandled {type(error).__name__} in {request.endpoint}")
        title, text = ERROR_TEXT[500]
        return _error_page(500, title, text)


#: What may be cached: files that are the same for everyone and carry no case data.
CACHEABLE_ENDPOINTS = {"static", "ops.favicon"}
#: Requests that start no browser session (a health check or a scraper would
#: otherwise be handed a cookie on every call).
SESSIONLESS_ENDPOINTS = {"static", "ops.favicon", "ops.healthz", "ops.metrics"}

#: The actions counted by the abuse guard, by endpoint (POST only).
GUARDED_ENDPOINTS = {
    "reporter.report": "report",
    "reporter.status": "receipt",
    "reporter.status_message": "message",
    "reporter.status_files": "message",
    "reporter.status_withdraw": "message",
}


def _note_visit() -> None:
    from flask import current_app

    if request.endpoint in SESSIONLESS_ENDPOINTS:
        return  # files and probes: no session begins with them
    current_app.extensions["visselpipa.abuse"].note_visit()


#: Characters left as they are in the path and query of an Onion-Location.
_URL_SAFE = "/:@!$&'()*+,;=-._~%?"


def _offer_onion(app: Flask, address: str) -> None:
    """Name the onion service on every response that came over HTTPS.

    Tor Browser follows the header only on HTTPS pages (never over plain HTTP,
    where anyone on the path could plant one); on the onion itself it would
    point at itself, so requests addressed to a ``.onion`` host get none.
    """

    @app.after_request
    def onion_location(response: Response) -> Response:
        hostname = request.host.lower().partition(":")[0]
        if _over_https() and not hostname.endswith(".onion"):
            target = quote(request.path, safe=_URL_SAFE)
            if request.query_string:
                target += "?" + quote(request.query_string.decode("latin-1"), safe=_URL_SAFE)
            response.headers["Onion-Location"] = f"http://{address}{target}"
        return response


def _over_https() -> bool:
    # The same test as Flask-Talisman's for HSTS: TLS here, or the proxy in
    # front (which alone can reach 127.0.0.1, see deploy/nginx) says it was TLS.
    return request.is_secure or request.headers.get("X-Forwarded-Proto") == "https"


def _guard_actions() -> Response | tuple[str, int, dict[str, str]] | None:
    from flask import current_app

    guard: AbuseGuard = current_app.extensions["visselpipa.abuse"]
    action = GUARDED_ENDPOINTS.get(request.endpoint or "")
    if request.method != "POST" or action is None:
        return None
    refusal = guard.check(action)
    if refusal is None:
        return None
    headers = {"Retry-After": str(refusal.retry_after)}
    notice = lazy_ngettext(
        "Many reports are being sent right now. Wait %(num)d minute and send "
        "again: what you wrote is still here.",
        "Many reports are being sent right now. Wait %(num)d minutes and send "
        "again: what you wrote is still here.",
        max(1, refusal.retry_after // 60),
    )
    handler = current_app.config.get("FORM_RERENDER", {}).get(request.endpoint)
    if handler is not None:
        return handler(notice), 429, headers
    title, text = ERROR_TEXT[429]
    return render_template("error.html", code=429, title=title, text=text), 429, headers


def _prepare_uploads() -> None:
    if request.method == "POST":
        from flask import current_app

        preparer = current_app.config.get("UPLOAD_PREPARERS", {}).get(request.endpoint)
        if preparer is not None:
            preparer()


def _error_page(code: int, title: object, text: object) -> tuple[str, int]:
    return render_template("error.html", code=code, title=title, text=text), code


def _quiet_werkzeug_logging() -> None:
    """The development server's request log starts with the client address."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
