"""The largest file a reporter may attach, sent at Tor speed through the real nginx.

A report with one file of exactly ``max_file_bytes`` (25 MiB by default) is
written to nginx's TLS port at 0.25 MiB/s, an ordinary speed over Tor, from
a raw socket: about 100 s of wall time, the price of the only test that shows
the real size limit is the configured one and not "gunicorn's timeout times
the reporter's bandwidth". Meanwhile other visitors load ordinary pages, and
all of them answer. Afterwards the file is in the database whole and sealed:
its ciphertext opens with the receipt's key to the very bytes that were sent,
and holds none of them in the clear; nginx spooled nothing to a file.

Runs wherever nginx is installed, and in CI (`.ci/run` sets
TEST_REQUIRE_DEPLOY_TOOLS=1, so a missing nginx fails there).
"""

from __future__ import annotations

import hashlib
import http.client
import io
import secrets
import socket
import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from caseflow.service.cases import CaseService
from caseflow.service.intake import Intake
from caseflow.store import create_engine
from caseflow.store.records import files_table
from config.settings import load_settings
from crypto.files import decrypt_stream
from tests.deploy.conftest import SERVER_NAME
from tests.deploy.test_through_the_proxy import Stack, _https, _report_fields, _stack, _tls
from tests.functional.blobs import stored_blob, stored_blob_ids
from tests.functional.pages import RECEIPT_RE

#: config/settings.toml's max_file_bytes: the largest file the defaults allow.
MAX_FILE_BYTES = 26214400
RATE_BYTES_PER_S = 256 * 1024  # 0.25 MiB/s
CHUNK = 16 * 1024
#: The issue's promise: ordinary pages stay under 1 s while the upload runs.
#: On a loaded CI machine a scheduler hiccup may delay one or two of ~200
#: pages, so 99 % must be under it, and none may reach the liveness bound (a
#: page that slow means the upload starved the server). The measured
#: latencies are printed (pytest -s) and recorded in docs/benchmarks.md.
PAGE_PROMISE_S = 1.0
PAGE_BOUND_S = 5.0


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from _stack(tmp_path_factory.mktemp("slow-upload"))


def _multipart(fields: dict[str, str], name: str, content: bytes) -> tuple[str, bytes]:
    boundary = uuid.uuid4().hex
    head = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in fields.items()
    ) + (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
        f'filename="{name}"\r\nContent-Type: text/plain\r\n\r\n'
    )
    body = head.encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", body


def _throttled_post(
    stack: Stack, cookies: dict[str, str], content_type: str, body: bytes
) -> tuple[int, str, float]:
    """POST /report over one TLS connection, the body at RATE_BYTES_PER_S."""
    raw = socket.create_connection(("127.0.0.1", stack.site.https_port), timeout=120)
    with _tls(stack.site).wrap_socket(raw, server_hostname=SERVER_NAME) as tls:
        cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
        tls.sendall(
            (
                f"POST /report HTTP/1.1\r\nHost: {SERVER_NAME}\r\nCookie: {cookie}\r\n"
                f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode()
        )
        started = time.monotonic()
        for offset in range(0, len(body), CHUNK):
            # Never ahead of the rate: wait until the bytes sent so far are due.
            due = started + offset / RATE_BYTES_PER_S
            if (wait := due - time.monotonic()) > 0:
                time.sleep(wait)
            tls.sendall(body[offset : offset + CHUNK])
        sent_in = time.monotonic() - started
        response = http.client.HTTPResponse(tls)  # type: ignore[arg-type]
        response.begin()
        return response.status, response.read().decode("utf-8", "replace"), sent_in


class _Pages(threading.Thread):
    """Other visitors loading ordinary pages, one every half second, until stopped."""

    PATHS = ("/", "/report", "/status", "/external")

    def __init__(self, stack: Stack) -> None:
        super().__init__(daemon=True)
        self.stack = stack
        self.stop = threading.Event()
        self.answers: list[tuple[str, int, float]] = []

    def run(self) -> None:
        i = 0
        while not self.stop.is_set():
            path = self.PATHS[i % len(self.PATHS)]
            visitor = _https(self.stack)
            visitor.timeout = 60
            started = time.monotonic()
            try:
                status = visitor.get(path).status
            except OSError:
                status = 0
            self.answers.append((path, status, time.monotonic() - started))
            i += 1
            self.stop.wait(0.5)


def _open_with_receipt(stack: Stack, receipt: str) -> tuple[str, bytes]:
    """What the reporter's receipt opens, as the app would: (case id, content key)."""
    settings = load_settings(environ=stack.app.env)
    engine = create_engine(settings.database_url)
    try:
        access = Intake(engine, settings, CaseService(engine, settings.rules)).open_case(receipt)
        assert access is not None, "the receipt opens no case"
        return access.case_id, access.key
    finally:
        engine.dispose()


def test_the_largest_file_at_tor_speed_arrives_whole_and_sealed_while_pages_answer(stack):
    visitor = _https(stack)
    page = visitor.get("/report").text
    marker = f"slow-upload-{secrets.token_hex(8)}"
    line = f"{marker} minutes of the procurement meeting, page after page\n".encode()
    content = (line * (MAX_FILE_BYTES // len(line) + 1))[:MAX_FILE_BYTES]
    assert len(content) == MAX_FILE_BYTES
    content_type, body = _multipart(_report_fields(page), "protokoll.txt", content)
    body_temp_before = stack.site.body_temp.stat()

    pages = _Pages(stack)
    pages.start()
    try:
        status, text, sent_in = _throttled_post(stack, visitor.cookies, content_type, body)
    finally:
        pages.stop.set()
        pages.join(timeout=120)

    assert status == 200, text[:3000]
    receipt = RECEIPT_RE.search(text)
    assert receipt, "no receipt code on the page"
    assert "protokoll.txt" in text
    # It really went at the reporter's pace (far beyond gunicorn's 30 s default).
    assert sent_in >= len(body) / RATE_BYTES_PER_S * 0.95

    # Every page asked for meanwhile answered, none of them starved.
    latencies = [seconds for _, _, seconds in pages.answers]
    print(
        f"\nupload of {len(body)} bytes sent in {sent_in:.1f} s; {len(latencies)} pages "
        f"meanwhile: median {statistics.median(latencies) * 1000:.0f} ms, "
        f"max {max(latencies) * 1000:.0f} ms"
    )
    assert len(pages.answers) >= 50
    assert [a for a in pages.answers if a[1] != 200] == []
    assert [a for a in pages.answers if a[2] >= PAGE_BOUND_S] == []
    slow = [a for a in pages.answers if a[2] >= PAGE_PROMISE_S]
    assert len(slow) <= len(pages.answers) // 100, slow

    # Whole and sealed: the one blob opens with the receipt's key to what was sent.
    case_id, key = _open_with_receipt(stack, receipt.group(1))
    engine = create_engine(load_settings(environ=stack.app.env).database_url)
    try:
        with engine.connect() as conn:
            (file_id,) = conn.execute(
                sa.select(files_table.c.id).where(files_table.c.case_id == case_id)
            ).one()
        assert stored_blob_ids(engine) == [file_id]
        blob = stored_blob(engine, file_id)
    finally:
        engine.dispose()
    assert marker.encode() not in blob
    opened = b"".join(decrypt_stream(key, case_id, f"file:{file_id}", io.BytesIO(blob)))
    assert hashlib.sha256(opened).digest() == hashlib.sha256(content).digest()

    # nginx held the body in memory: no file, and no directory time, shows it.
    after = stack.site.body_temp.stat()
    assert list(stack.site.body_temp.iterdir()) == []
    assert (after.st_mtime_ns, after.st_ctime_ns) == (
        body_temp_before.st_mtime_ns,
        body_temp_before.st_ctime_ns,
    )
    assert not [
        p
        for p in Path(stack.site.prefix).rglob("*")
        if p.is_file() and marker.encode() in p.read_bytes()
    ]
