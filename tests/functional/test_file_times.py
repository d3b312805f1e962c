"""No file or directory time that a reporter's action alone sets, the database's excepted.

A report with a file, through the real server: afterwards every path under
the data directory has the same modification, change and access time as
before, except the SQLite database and its ``-wal``/``-shm`` files, which
change with every write by anyone (SECURITY.md, "Known limits"). No new
path appears. Before the sealed files moved into the database, each upload
left a file whose inode change time was the moment of the upload.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.functional.test_no_address_is_written import Browser
from tests.live_server import start_live_server

DATABASE_FILES = {"visselpipa.sqlite3", "visselpipa.sqlite3-wal", "visselpipa.sqlite3-shm"}


def _times(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every path under ``root`` (root included) with its mtime, ctime and atime, in ns."""
    found = {}
    for path in [root, *root.rglob("*")]:
        st = path.lstat()
        found[str(path.relative_to(root))] = (st.st_mtime_ns, st.st_ctime_ns, st.st_atime_ns)
    return found


def _report(browser: Browser, what: str, attachment: bytes) -> None:
    page = browser.request("/report")
    receipt_page = browser.post_multipart(
        "/report",
        page,
        {"category": "bribery", "agency": "tullverket", "contact_choice": "none", "what": what},
        attachment,
    )
    assert re.search(r'id="receipt-code">([0-9A-Z-]+)<', receipt_page), receipt_page


def test_a_report_with_a_file_sets_no_time_but_the_databases(tmp_path: Path):
    with start_live_server(tmp_path) as server:
        browser = Browser(server.url)
        # A first report opens everything a report touches (the -wal, the pool).
        _report(browser, "A customs officer took cash to clear a shipment.", b"first invoice")
        before = _times(server.data_dir)
        _report(browser, "The same officer cleared a second shipment.", b"second invoice " * 5000)
        after = _times(server.data_dir)
    assert set(after) == set(before), "a report created or removed a path"
    changed = {name for name in before if after[name] != before[name]}
    assert changed <= DATABASE_FILES, sorted(changed - DATABASE_FILES)
    assert "visselpipa.sqlite3-wal" in changed  # the report was written, and only there
