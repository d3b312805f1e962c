"""Request-wide security: headers on every page, cookies, no caching of case data."""

from __future__ import annotations

import pytest

from app.security import CACHEABLE_ENDPOINTS
from tests.functional.pages import open_status, receipt_from, submit_report


@pytest.mark.parametrize("path", ["/", "/report", "/status", "/external", "/nowhere"])
def test_every_page_carries_the_baseline_headers(client, path):
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp and "form-action 'self'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "max-age=" in response.headers["Strict-Transport-Security"]
    assert "camera=()" in response.headers["Permissions-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
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
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Path=/" in cookie and "Domain" not in cookie


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
        assert "default-src 'none'" in headers["Content-Security-Policy"], url
        assert headers["X-Content-Type-Options"] == "nosniff", url
        assert headers["Referrer-Policy"] == "no-referrer", url
        assert "max-age=" in headers["Strict-Transport-Security"], url
        assert "Server" not in headers
        if endpoint not in CACHEABLE_ENDPOINTS:
            assert headers["Cache-Control"] == "no-store", url
        for cookie in headers.getlist("Set-Cookie"):
            assert cookie.startswith("__Host-"), cookie
            for flag in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
                assert flag in cookie, (url, cookie)
    assert {"reporter.index", "reporter.report", "reporter.status", "static"} <= seen
