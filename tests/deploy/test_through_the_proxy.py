"""`visselpipa serve` behind the real nginx site, over HTTPS with a self-signed certificate.

What a reporter's browser gets through the proxy: the app's security headers
and cookie flags (the expectations of tests/functional/test_headers_and_cookies.py),
one HSTS header ready for preloading, no server version, keep-alive, a
report with a file that arrives as it does without the proxy; the onion
block without TLS redirects; ordinary pages and reports while slow clients hold
connections open; and afterwards no client address in any of nginx's logs.
"""

from __future__ import annotations

import http.client
import re
import secrets
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.deploy.conftest import SERVER_NAME, NginxSite, nginx_site, running_nginx
from tests.functional.pages import RECEIPT_RE, hidden_fields
from tests.functional.test_headers_and_cookies import (
    PUBLIC_PAGES,
    assert_baseline_headers,
    assert_safe_cookie,
)
from tests.live_server import LiveServer, start_live_server

ONION = "duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion"
HSTS = "max-age=63072000; includeSubDomains; preload"
MAX_REQUEST_BYTES = 136314880  # config/settings.toml; test_nginx_config keeps nginx equal


@dataclass
class Stack:
    site: NginxSite
    app: LiveServer


def _stack(base: Path) -> Iterator[Stack]:
    # Production settings: no plain HTTP, so the app redirects anything that
    # did not come through TLS (or the proxy) and sets __Host- cookies.
    settings = {"plain_http": "0", "onion_address": ONION}
    (base / "app").mkdir()
    with start_live_server(base / "app", settings=settings) as app:
        site = nginx_site(base / "nginx", app_port=int(app.url.rsplit(":", 1)[1]))
        with running_nginx(site):
            yield Stack(site, app)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from _stack(tmp_path_factory.mktemp("proxy"))


@pytest.fixture
def own_stack(tmp_path: Path) -> Iterator[Stack]:
    """A stack for a test that stops the app."""
    yield from _stack(tmp_path)


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


@dataclass
class Visitor:
    """A browser with cookies, speaking HTTPS to nginx (or plain HTTP to the onion block)."""

    port: int
    context: ssl.SSLContext | None
    host: str
    cookies: dict[str, str] = field(default_factory=dict)
    timeout: float = 30

    def connection(self) -> http.client.HTTPConnection:
        if self.context is None:
            return http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        return http.client.HTTPSConnection(
            "127.0.0.1", self.port, context=self.context, timeout=self.timeout
        )

    def send(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        conn: http.client.HTTPConnection | None = None,
    ) -> Answer:
        own = conn is None
        conn = conn or self.connection()
        all_headers = {"Host": self.host, **(headers or {})}
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            conn.request(method, path, body=body, headers=all_headers)
            response = conn.getresponse()
            answer = Answer(response.status, response.msg, response.read())
        finally:
            if own:
                conn.close()
        for cookie in answer.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return answer

    def get(self, path: str) -> Answer:
        return self.send("GET", path)

    def post_multipart(self, path: str, fields: dict[str, str], file: bytes) -> Answer:
        boundary = uuid.uuid4().hex
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            for name, value in fields.items()
        ]
        body = (
            "".join(parts).encode()
            + (
                f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
                'filename="notes.txt"\r\nContent-Type: text/plain\r\n\r\n'
            ).encode()
            + file
            + f"\r\n--{boundary}--\r\n".encode()
        )
        return self.send(
            "POST", path, body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        )


def _tls(site: NginxSite) -> ssl.SSLContext:
    # Verified against the test's own certificate: a real TLS handshake.
    return ssl.create_default_context(cafile=str(site.cert))


def _https(stack: Stack) -> Visitor:
    return Visitor(stack.site.https_port, _tls(stack.site), SERVER_NAME)


def _onion(stack: Stack) -> Visitor:
    return Visitor(stack.site.onion_port, None, ONION)


def _report_fields(page: str) -> dict[str, str]:
    return {
        **hidden_fields(page),
        "category": "bribery",
        "agency": "tullverket",
        "contact_choice": "none",
        "what": "A customs officer took cash to clear a shipment.",
    }


# -- HTTPS on the public name -------------------------------------------------


@pytest.mark.parametrize("path", [*PUBLIC_PAGES, "/static/style.css", "/staff/login"])
def test_every_page_through_the_proxy_keeps_the_apps_headers(stack, path):
    answer = _https(stack).get(path)
    assert answer.status in (200, 404), (path, answer.status)
    assert_baseline_headers(answer.headers, path, static=path.startswith("/static/"))
    # One HSTS header, the proxy's, ready for the preload list.
    assert answer.headers.get_all("Strict-Transport-Security") == [HSTS]
    # nginx names itself without a version; gunicorn's header never passes.
    assert answer.headers.get_all("Server") == ["nginx"]
    assert answer.headers["Onion-Location"] == f"http://{ONION}{path}"
    for cookie in answer.headers.get_all("Set-Cookie") or []:
        assert_safe_cookie(cookie, path)


def test_the_session_cookie_through_the_proxy_is_host_prefixed_and_secure(stack):
    answer = _https(stack).get("/report")
    (cookie,) = answer.headers.get_all("Set-Cookie")
    assert cookie.startswith("__Host-vp_session=")
    assert_safe_cookie(cookie)


def test_clients_keep_their_connection(stack):
    visitor = _https(stack)
    conn = visitor.connection()
    try:
        first = visitor.send("GET", "/report", conn=conn)
        sock = conn.sock
        second = visitor.send("GET", "/external", conn=conn)
        assert conn.sock is sock  # the same TLS connection answered both
    finally:
        conn.close()
    assert first.status == second.status == 200
    assert (first.headers["Connection"] or "").lower() != "close"


def test_a_report_with_a_file_arrives_through_the_proxy(stack):
    visitor = _https(stack)
    page = visitor.get("/report").text
    marker = f"proxy-marker-{secrets.token_hex(8)}"
    file = (f"{marker} notes from the meeting\n" * 40000).encode()
    assert len(file) > 1 << 20
    before = stack.site.body_temp.stat()
    answer = visitor.post_multipart("/report", _report_fields(page), file)
    assert answer.status == 200, answer.text[:2000]
    assert RECEIPT_RE.search(answer.text), "no receipt code on the page"
    assert "notes.txt" in answer.text
    # nginx kept the body (plaintext: it has decrypted the TLS) in memory: no
    # file was spooled, and the directory's times do not show the upload.
    after = stack.site.body_temp.stat()
    assert list(stack.site.body_temp.iterdir()) == []
    assert (after.st_mtime_ns, after.st_ctime_ns) == (before.st_mtime_ns, before.st_ctime_ns)
    assert not [
        p for p in stack.site.prefix.rglob("*") if p.is_file() and marker.encode() in p.read_bytes()
    ]


def _oversized_post(stack: Stack) -> tuple[http.client.HTTPResponse, bytes]:
    conn = http.client.HTTPSConnection(
        "127.0.0.1", stack.site.https_port, context=_tls(stack.site), timeout=30
    )
    try:
        conn.putrequest("POST", "/report", skip_host=True)
        conn.putheader("Host", SERVER_NAME)
        conn.putheader("Content-Type", "multipart/form-data; boundary=x")
        conn.putheader("Content-Length", str(MAX_REQUEST_BYTES + 1))
        conn.endheaders()  # nginx refuses on the length alone: no body is sent
        response = conn.getresponse()
        return response, response.read()
    finally:
        conn.close()


def test_nginxs_own_answers_carry_hsts_and_no_version(stack):
    response, body = _oversized_post(stack)
    assert response.status == 413
    assert response.getheader("Strict-Transport-Security") == HSTS
    assert response.getheader("Server") == "nginx"
    assert not re.search(rb"nginx/\d", body)


# -- plain HTTP: a redirect, and certificate renewals ------------------------------


def test_plain_http_redirects_to_https_on_the_same_name(stack):
    answer = Visitor(stack.site.http_port, None, SERVER_NAME).get("/report?x=1")
    assert answer.status == 301
    assert answer.headers["Location"] == f"https://{SERVER_NAME}/report?x=1"


def test_certificate_renewals_are_served_over_plain_http(stack):
    challenge = stack.site.webroot / ".well-known" / "acme-challenge"
    challenge.mkdir(parents=True, exist_ok=True)
    (challenge / "token123").write_text("token123.thumbprint")
    answer = Visitor(stack.site.http_port, None, SERVER_NAME).get(
        "/.well-known/acme-challenge/token123"
    )
    assert (answer.status, answer.text) == (200, "token123.thumbprint")


# -- the onion block ------------------------------------------------------------


def test_the_onion_block_serves_without_tls_redirect_hsts_or_onion_location(stack):
    visitor = _onion(stack)
    for path in PUBLIC_PAGES:
        answer = visitor.get(path)
        assert answer.status in (200, 404), (path, answer.status)  # no redirect to https
        assert_baseline_headers(answer.headers, path, hsts=False)
        assert "Strict-Transport-Security" not in answer.headers
        assert "Onion-Location" not in answer.headers
        for cookie in answer.headers.get_all("Set-Cookie") or []:
            assert_safe_cookie(cookie, path)  # Tor Browser takes Secure cookies on .onion


def test_a_report_through_the_onion_block_arrives(stack):
    visitor = _onion(stack)
    page = visitor.get("/report").text
    answer = visitor.post_multipart("/report", _report_fields(page), b"a photo of the envelope")
    assert answer.status == 200, answer.text[:2000]
    assert RECEIPT_RE.search(answer.text)


# -- slow clients ------------------------------------------------------------------


class _SlowClients(threading.Thread):
    """Clients that trickle their requests byte by byte and never finish them.

    Half send headers one byte at a time (slowloris), half send complete
    headers for a form and then its body one byte at a time. A connection
    nginx closes (it allows 10 s for the headers) is opened again at once:
    there are always ``count`` of them in progress.
    """

    def __init__(self, stack: Stack, count: int) -> None:
        super().__init__(daemon=True)
        self.stack = stack
        self.count = count
        self.stop = threading.Event()
        self.opened = 0

    def _open(self, i: int) -> tuple[ssl.SSLSocket, bytes]:
        raw = socket.create_connection(("127.0.0.1", self.stack.site.https_port), timeout=30)
        tls = _tls(self.stack.site).wrap_socket(raw, server_hostname=SERVER_NAME)
        self.opened += 1
        if i % 2:
            return (
                tls,
                f"GET /report HTTP/1.1\r\nHost: {SERVER_NAME}\r\nX-Slow: {'a' * 500}".encode(),
            )
        form = urlencode({"what": "x" * 5000}).encode()
        tls.sendall(
            (
                f"POST /report HTTP/1.1\r\nHost: {SERVER_NAME}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {len(form)}\r\n\r\n"
            ).encode()
        )
        return tls, form

    def run(self) -> None:
        clients = [self._open(i) for i in range(self.count)]
        while not self.stop.is_set():
            for i, (tls, rest) in enumerate(clients):
                try:
                    tls.sendall(rest[:1])
                    clients[i] = (tls, rest[1:] or b"a")
                except OSError:  # closed by nginx: open another one
                    tls.close()
                    clients[i] = self._open(i)
            self.stop.wait(0.2)
        for tls, _ in clients:
            tls.close()


def test_slow_clients_do_not_hold_the_apps_threads_and_reports_go_through(stack):
    # `visselpipa serve` runs here with one gthread worker of 4 threads
    # (start_live_server's workers=1, serve's default --threads). Eight
    # clients trickle requests byte by byte for the whole test, twice as many
    # as there are threads: nginx holds them, so ordinary pages and a report
    # with a file still come back.
    slow = _SlowClients(stack, count=8)
    slow.start()
    try:
        time.sleep(1)  # every slow client has begun
        visitor = Visitor(stack.site.https_port, _tls(stack.site), SERVER_NAME, timeout=20)
        for path in ("/", "/report", "/status"):
            assert visitor.get(path).status == 200
        for _ in range(3):
            page = visitor.get("/report").text
            answer = visitor.post_multipart("/report", _report_fields(page), b"the minutes")
            assert answer.status == 200, answer.text[:2000]
            assert RECEIPT_RE.search(answer.text)
        assert slow.is_alive() and slow.opened >= 8
    finally:
        slow.stop.set()
        slow.join(timeout=30)


# -- logs ----------------------------------------------------------------------------


def _send_raw_tls(stack: Stack, data: bytes) -> bytes:
    raw = socket.create_connection(("127.0.0.1", stack.site.https_port), timeout=30)
    with _tls(stack.site).wrap_socket(raw, server_hostname=SERVER_NAME) as tls:
        tls.sendall(data)
        return tls.recv(4096)


def test_nginx_logs_no_client_address_even_when_things_go_wrong(own_stack):
    stack = own_stack
    visitor = _https(stack)
    assert visitor.get("/report").status == 200
    # A malformed request, an oversized header, a plain-HTTP request to the TLS
    # port, an upload over the limit: nginx logs each at info or error level,
    # with "client:".
    assert _oversized_post(stack)[0].status == 413
    assert _send_raw_tls(stack, b"NOT-A-METHOD / HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 400")
    big = f"GET / HTTP/1.1\r\nHost: {SERVER_NAME}\r\nX-Big: {'a' * 20000}\r\n\r\n".encode()
    assert _send_raw_tls(stack, big).startswith(b"HTTP/1.1 400")
    with socket.create_connection(("127.0.0.1", stack.site.https_port), timeout=30) as plain:
        plain.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        plain.recv(4096)
    # The app down: nginx answers 502 and would log "connect() failed ... client:".
    stack.app.process.terminate()
    stack.app.process.wait(timeout=20)
    answer = visitor.get("/report")
    assert answer.status == 502
    assert answer.headers["Strict-Transport-Security"] == HSTS
    assert _onion(stack).get("/").status == 502

    logs = [p for p in stack.site.logs.rglob("*") if p.is_file()]
    assert logs, "nginx wrote no log file at all"
    for log in logs:
        text = log.read_text(errors="replace")
        assert "127.0.0.1" not in text, f"{log.name}:\n{text}"
        assert "client:" not in text, f"{log.name}:\n{text}"
    # Debian's http-wide access log is overridden by our servers.
    assert (stack.site.logs / "access.log").read_text() == ""
