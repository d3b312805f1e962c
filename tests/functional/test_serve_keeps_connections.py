"""`visselpipa serve` keeps HTTP/1.1 connections open between requests.

Its gthread workers answer a request, then hold the connection idle (75 s,
longer than nginx keeps its upstream connections) without holding a thread:
nginx, or any client, reuses it instead of a new TCP connection per page.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator

import pytest

from tests.live_server import LiveServer, start_live_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # One worker with one thread: whatever holds that thread holds the server.
    with start_live_server(tmp_path_factory.mktemp("serve"), workers=1, threads=1) as live:
        yield live


def _connection(server: LiveServer) -> http.client.HTTPConnection:
    host, port = server.url.removeprefix("http://").split(":")
    return http.client.HTTPConnection(host, int(port), timeout=15)


def _get(conn: http.client.HTTPConnection, path: str) -> http.client.HTTPResponse:
    conn.request("GET", path)
    response = conn.getresponse()
    response.read()
    return response


def test_two_requests_travel_over_one_connection(server):
    conn = _connection(server)
    try:
        first = _get(conn, "/report")
        sock = conn.sock
        second = _get(conn, "/external")
        assert conn.sock is sock, "the server closed the connection after the first answer"
        third = _get(conn, "/")
        assert conn.sock is sock
    finally:
        conn.close()
    for response in (first, second, third):
        assert response.status == 200
        assert response.version == 11
        assert (response.getheader("Connection") or "").lower() != "close"


def test_an_idle_kept_connection_does_not_hold_the_only_thread(server):
    idle = _connection(server)
    try:
        assert _get(idle, "/").status == 200  # then left open, unused
        other = _connection(server)
        try:
            assert _get(other, "/report").status == 200
        finally:
            other.close()
        # The idle connection is still open and answers again.
        sock = idle.sock
        assert _get(idle, "/external").status == 200
        assert idle.sock is sock
    finally:
        idle.close()
