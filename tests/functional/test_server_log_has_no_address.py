"""No client address reaches any log, whatever the request: malformed ones included.

`visselpipa serve` listens on 127.0.0.2; the test connects from 127.0.0.3
(both loopback on Linux) and sends malformed requests over a raw socket:
an oversized header, too many headers, a bad request line, an overlong
one, a bad header name, a bad HTTP version, a broken chunked body,
conflicting lengths, a truncated body. gunicorn answers each with a 4xx;
afterwards neither the client's address, nor the address 127.0.0.1, nor a
marker sent inside the requests is in the server's output (error and access
log) or in any file of its data directory.
"""

from __future__ import annotations

import logging
import socket
import uuid
from pathlib import Path

from gunicorn.config import Config

from app.server_log import PrivateLogger
from tests.live_server import start_live_server

SERVER = "127.0.0.2"
CLIENT = "127.0.0.3"
MARK = f"probe{uuid.uuid4().hex[:12]}"


def _host_port(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


def _send(url: str, raw: bytes) -> bytes:
    """Send ``raw`` from the client address and read the answer until the server closes."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((CLIENT, 0))
        s.settimeout(15)
        s.connect(_host_port(url))
        try:
            s.sendall(raw)
            s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading it all
        answer = b""
        try:
            while chunk := s.recv(65536):
                answer += chunk
        except (ConnectionResetError, TimeoutError):
            pass
        return answer


def _malformed() -> dict[str, bytes]:
    mark = MARK.encode()
    host = b"Host: visselpipa.example\r\n"
    return {
        "oversized header": b"GET / HTTP/1.1\r\n"
        + host
        + b"X-"
        + mark
        + b": "
        + b"a" * 9000
        + b"\r\n\r\n",
        "too many headers": b"GET / HTTP/1.1\r\n"
        + host
        + b"".join(b"X-%d-" % i + mark + b": 1\r\n" for i in range(150))
        + b"\r\n",
        "bad request line": b"\x01\x02" + mark + b" garbage\r\n\r\n",
        "overlong request line": b"GET /" + mark * 600 + b" HTTP/1.1\r\n" + host + b"\r\n",
        "bad header name": b"GET / HTTP/1.1\r\n" + host + b"Bad " + mark + b" Name: x\r\n\r\n",
        "bad http version": b"GET / HTTP/9." + mark + b"\r\n" + host + b"\r\n",
        "invalid chunked body": b"POST /report HTTP/1.1\r\n"
        + host
        + b"Content-Type: application/x-www-form-urlencoded\r\n"
        + b"Transfer-Encoding: chunked\r\n\r\nzz"
        + mark
        + b"\r\nwhat=x\r\n0\r\n\r\n",
        "conflicting lengths": b"POST /report HTTP/1.1\r\n"
        + host
        + b"Content-Length: 5\r\nContent-Length: 7"
        + mark
        + b"\r\n\r\nwhat=",
        "length and chunked": b"POST /report HTTP/1.1\r\n"
        + host
        + b"Content-Length: 4\r\nTransfer-Encoding: chunked, "
        + mark
        + b"\r\n\r\n0\r\n\r\n",
        "truncated body": b"POST /report HTTP/1.1\r\n"
        + host
        + b"Content-Type: application/x-www-form-urlencoded\r\n"
        + b"Content-Length: 5000\r\n\r\nwhat="
        + mark,
    }


def _files_containing(root: Path, needles: list[str]) -> list[str]:
    return [
        f"{path}: {needle}"
        for path in root.rglob("*")
        if path.is_file()
        for needle in needles
        if needle.encode() in path.read_bytes()
    ]


def test_malformed_requests_leave_no_address_in_any_log(tmp_path: Path):
    with start_live_server(tmp_path, settings={"access_log": "1"}, host=SERVER) as server:
        answers = {name: _send(server.url, raw) for name, raw in _malformed().items()}
        ordinary = _send(
            server.url, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        output = server.output()
        data_dir = server.data_dir

    refused = {name: a.split(b"\r\n", 1)[0] for name, a in answers.items()}
    for name, status_line in refused.items():
        # 4xx, or gunicorn's 501 for a transfer coding it does not implement;
        # never a 500. (A connection closed without an answer is no failure.)
        assert status_line[:10] in (b"HTTP/1.1 4", b"") or status_line.startswith(
            b"HTTP/1.1 501"
        ), (name, status_line)
    assert sum(line.startswith(b"HTTP/1.1 4") for line in refused.values()) >= 7, refused
    assert ordinary.startswith(b"HTTP/1.1 200"), ordinary[:100]
    assert '"GET /healthz" 200' in output  # the access log was on, and is read here
    assert f"Visselpipa on http://{SERVER}:" in output  # its own address stays
    for needle in (CLIENT, "127.0.0.1", MARK):
        assert needle not in output, (needle, output)
    assert _files_containing(data_dir, [CLIENT, "127.0.0.1", MARK]) == []


def test_a_request_failing_below_the_app_is_logged_by_type_only(tmp_path: Path, operator_log):
    log_file = tmp_path / "error.log"
    cfg = Config()
    cfg.set("errorlog", str(log_file))
    cfg.set("bind", [f"{SERVER}:8000"])
    logger = PrivateLogger(cfg)
    try:
        raise ValueError(f"cannot parse {MARK} from {CLIENT}")
    except ValueError:
        logger.exception("Error handling request %s %s", "POST", f"/report?next={MARK}")
    logger.warning("Invalid request from ip=%s: bad %s" % (CLIENT, MARK))  # noqa: UP031
    logger.error("peer %s (port 5555) and [::ffff:%s]:443 went away", CLIENT, CLIENT)
    logger.info("Listening at: http://%s:8000", SERVER)
    for handler in logging.getLogger("gunicorn.error").handlers:
        handler.flush()
    text = log_file.read_text()
    assert "Error handling request" not in text  # nothing at the time of the request
    (held,) = operator_log.end_of_day()  # but at the day's end, by type only
    assert held.endswith(": Error handling request: ValueError — once"), held
    assert MARK not in held and CLIENT not in held
    assert "peer [address] (port 5555) and [address]:443 went away" in text
    assert MARK not in text and CLIENT not in text and "Traceback" not in text
    assert "Invalid request" not in text  # dropped: nothing per malformed request
    assert f"Listening at: http://{SERVER}:8000" in text
    first = text.splitlines()[0]
    assert first[:10].count("-") == 2 and first[10] == " "  # the day only, no time of day
