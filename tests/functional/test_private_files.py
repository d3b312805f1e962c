"""Everything under the data directory is its owner's alone: files 0600, directories 0700.

A local user of the server must not be able to read the database, its
``-wal`` and ``-shm`` files, a blob or the secrets, whatever the umask of
the shell that started the service.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from caseflow.store import create_engine, migrate
from tests.functional.test_no_address_is_written import Browser
from tests.live_server import start_live_server


def _modes(root: Path) -> dict[str, str]:
    """Every path under ``root`` (and root itself) with its permission bits, in octal."""
    paths = [root, *root.rglob("*")]
    return {str(p.relative_to(root.parent)): oct(stat.S_IMODE(p.lstat().st_mode)) for p in paths}


def _not_private(modes: dict[str, str], root: Path) -> dict[str, str]:
    wrong = {}
    for name, mode in modes.items():
        path = root.parent / name
        expected = "0o700" if path.is_dir() else "0o600"
        if mode != expected:
            wrong[name] = mode
    return wrong


def test_a_new_sqlite_database_and_its_wal_are_private_whatever_the_umask(tmp_path: Path):
    path = tmp_path / "db.sqlite3"
    old = os.umask(0o022)  # the usual shell umask: SQLite alone would make it 0644
    try:
        engine = create_engine(f"sqlite:///{path}")
        try:
            migrate(engine)
            with engine.connect() as conn:  # the WAL files exist while a connection is open
                conn.exec_driver_sql("SELECT count(*) FROM events").scalar()
                files = sorted(tmp_path.iterdir())
                modes = {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in files}
        finally:
            engine.dispose()
    finally:
        os.umask(old)
    assert modes == {
        "db.sqlite3": "0o600",
        "db.sqlite3-shm": "0o600",
        "db.sqlite3-wal": "0o600",
    }


def test_an_existing_database_file_keeps_its_mode(tmp_path: Path):
    path = tmp_path / "db.sqlite3"
    path.touch(mode=0o640)
    path.chmod(0o640)
    engine = create_engine(f"sqlite:///{path}")
    try:
        migrate(engine)
    finally:
        engine.dispose()
    assert oct(stat.S_IMODE(path.stat().st_mode)) == "0o640"


def test_after_init_and_a_report_with_a_file_nothing_is_readable_by_others(tmp_path: Path):
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)  # made beforehand, open to all: init closes it
    old = os.umask(0o022)  # the server inherits the usual umask of a shell
    try:
        with start_live_server(tmp_path, settings={"max_files": "2"}) as server:
            browser = Browser(server.url)
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
                b"an invoice with the amount",
            )
            assert re.search(r'id="receipt-code">([0-9A-Z-]+)<', receipt_page), receipt_page
            modes = _modes(server.data_dir)  # while serving: the -wal and -shm exist
    finally:
        os.umask(old)
    names = set(modes)
    assert {"data", "data/secrets.toml", "data/visselpipa.sqlite3"} <= names
    assert "data/visselpipa.sqlite3-wal" in names and "data/visselpipa.sqlite3-shm" in names
    assert not any(n.startswith("data/blobs") for n in names), names  # the file is in the database
    assert _not_private(modes, server.data_dir) == {}
