"""Request-wide security: headers on every page, cookies, no caching of case data."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from app.security import CACHEABLE_ENDPOINTS
from tests.functional.pages import open_status, receipt_from, submit_report

#: Pages every visitor reaches; tests/deploy checks them again through nginx.
PUBLIC_PAGES = ["/", "/report", "/status", "/external", "/nowhere"]


def assert_baseline_headers(
    headers: Mapping[str, str], where: str, *, static: bool = False, hsts: bool = True
) -> None:
    """The security headers the app puts on every answer (a static file may be cached;
    the onion, which has no TLS, gets no HSTS)."""
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp, where
    assert "frame-ancestors 'none'" in csp and "form-action 'self'" in csp, where
    assert "unsafe-inline" not in csp, where
    assert headers["Referrer-Policy"] == "no-referrer", where
    assert headers["X-Content-Type-Options"] == "nosniff", where
    if hsts:
        assert "max-age=" in headers["Strict-Transport-Security"], where
    assert "camera=()" in headers["Permissions-Policy"], where
    if not static:
        assert headers["Cache-Control"] == "no-store", where


def assert_safe_cookie(cookie: str, where: str = "") -> None:
    """A cookie only this host over HTTPS gets back, and no script can read."""
    assert cookie.startswith("__Host-"), (where, cookie)
    for flag in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
        assert flag in cookie, (where, cookie)
    assert "Domain" not in cookie, (where, cookie)


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_every_page_carries_the_baseline_headers(client, path):
    response = client.get(path)
    assert_baseline_headers(response.headers, path)
    assert "Server" not in response.headers


def test_pages_have_no_inline_script_or_style(client):
    for path in ("/", "/report", "/status", "/external"):
        page = client.get(path).get_data(as_text=True)
        assert "<script" not in page
        assert "<style" not in page and " style=" not in page


def test_session_cookie_is_host_prefixed_secure_httponly_strict(client):
    response = client.get("/report")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-vp_session=")
    assert_safe_cookie(cookie)


def test_plain_http_is_redirected_to_https(deployment):
    client = deployment.app.test_client()  # http://
    response = client.get("/report")
    assert response.status_code in (301, 302)
    assert response.headers["Location"].startswith("https://")


def test_receipt_and_status_pages_are_not_stored(client):
    status, page = submit_report(client)
    status, status_page = open_status(client, receipt_from(page))
    response = client.get("/status")
    assert response.headers["Cache-Control"] == "no-store"


def test_the_session_cookie_never_holds_the_receipt(deployment, client):
    status, page = submit_report(client)
    receipt = receipt_from(page)
    open_status(client, receipt)
    cookie = client.get_cookie("__Host-vp_session")
    assert cookie is not None
    app = deployment.app
    session = app.session_interface.get_signing_serializer(app).loads(cookie.value)
    assert "reporter" in session  # the session-key half, not the receipt
    flat = repr(session)
    for form in (receipt, receipt.replace("-", ""), receipt.lower()):
        assert form not in flat and form not in cookie.value


def _walk(app):
    """Every route of the app with a sample URL, for each method it allows."""
    samples = {"code": "en", "filename": "style.css", "ref": "0" * 32}
    for rule in app.url_map.iter_rules():
        url = rule.build({arg: samples.get(arg, "x") for arg in rule.arguments})[1]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, url


def test_every_route_answers_with_the_baseline_headers_and_safe_cookies(deployment, client):
    seen = set()
    for endpoint, method, url in _walk(deployment.app):
        response = client.open(url, method=method)
        seen.add(endpoint)
        assert response.status_code < 500, (method, url)
        headers = response.headers
        assert_baseline_headers(headers, url, static=endpoint in CACHEABLE_ENDPOINTS)
        assert "Server" not in headers
        for cookie in headers.getlist("Set-Cookie"):
            assert_safe_cookie(cookie, url)
    assert {"reporter.index", "reporter.report", "reporter.status", "static"} <= seen
