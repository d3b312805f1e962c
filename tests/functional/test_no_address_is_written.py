"""The no-IP guarantee, end to end through `visselpipa serve` (gunicorn).

Every reporter route is called with a forwarded-for address and a
distinctive user agent, with gunicorn's access log switched on; afterwards
neither string is in any file of the data directory (database, blobs), the
server's output (error and access log) or the server's temporary directory.
"""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

from tests.functional.pages import hidden_fields
from tests.live_server import start_live_server

ADDRESS = "203.0.113.77"
AGENT = f"Mozilla/5.0 (Visselpipa-Probe {uuid.uuid4().hex})"
FORWARDED = {
    "X-Forwarded-For": ADDRESS,
    "X-Real-IP": ADDRESS,
    "Forwarded": f"for={ADDRESS}",
    "User-Agent": AGENT,
}


class Browser:
    """A cookie-keeping HTTP client that always sends the probe headers."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def request(self, path: str, data: bytes | None = None, ctype: str | None = None) -> str:
        headers = dict(FORWARDED)
        if ctype:
            headers["Content-Type"] = ctype
        req = urllib.request.Request(self.base + path, data=data, headers=headers)  # noqa: S310
        try:
            with self.opener.open(req, timeout=30) as response:
                return response.read().decode()
        except urllib.error.HTTPError as e:
            return e.read().decode()

    @staticmethod
    def fields(page: str) -> dict[str, str]:
        return hidden_fields(page)

    def post_form(self, path: str, page: str, fields: dict[str, str]) -> str:
        data = urllib.parse.urlencode({**self.fields(page), **fields}).encode()
        return self.request(path, data, "application/x-www-form-urlencoded")

    def post_multipart(self, path: str, page: str, fields: dict[str, str], file: bytes) -> str:
        boundary = uuid.uuid4().hex
        parts = []
        for name, value in {**self.fields(page), **fields}.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            )
        body = (
            "".join(parts).encode()
            + (
                f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
                f'filename="notes.txt"\r\nContent-Type: text/plain\r\n\r\n'
            ).encode()
            + file
            + f"\r\n--{boundary}--\r\n".encode()
        )
        return self.request(path, body, f"multipart/form-data; boundary={boundary}")


def _files_containing(root: Path, needles: list[bytes]) -> list[str]:
    return [
        f"{path}: {needle!r}"
        for path in root.rglob("*")
        if path.is_file()
        for needle in needles
        if needle in path.read_bytes()
    ]


def test_no_address_or_user_agent_is_written_anywhere(tmp_path: Path):
    temp = tmp_path / "server-tmp"
    temp.mkdir()
    with start_live_server(
        tmp_path, settings={"access_log": "1"}, env={"TMPDIR": str(temp)}
    ) as server:
        browser = Browser(server.url)
        for path in ("/", "/external", "/lang/en?next=/report", "/lang/sv", "/nowhere"):
            browser.request(path)
        page = browser.request("/report")
        receipt_page = browser.post_multipart(
            "/report",
            page,
            {
                "category": "bribery",
                "agency": "tullverket",
                "contact_choice": "none",
                "what": "A customs officer took cash to clear a shipment.",
            },
            b"cash in an envelope",
        )
        receipt = re.search(r'id="receipt-code">([0-9A-Z-]+)<', receipt_page)
        assert receipt, receipt_page
        page = browser.request("/status")
        browser.post_form("/status", page, {"receipt": "0000-0000-0000-0000-0000"})
        status = browser.post_form("/status", page, {"receipt": receipt.group(1)})
        assert "Ditt ärende" in status
        browser.post_form("/status/message", status, {"message": "More details follow."})
        status = browser.request("/status")
        browser.post_multipart("/status/files", status, {}, b"second file")
        browser.post_form("/status/leave", browser.request("/status"), {})
        browser.request("/report", b"", "multipart/form-data; boundary=broken")  # a 400
        output = server.output()

    assert '"GET /report" 200' in output  # the access log was on
    needles = [ADDRESS.encode(), AGENT.encode(), b"Visselpipa-Probe"]
    assert ADDRESS not in output and "Visselpipa-Probe" not in output
    assert _files_containing(server.data_dir, needles) == []
    assert _files_containing(temp, needles) == []
