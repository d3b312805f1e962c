"""A database that stops, a disk that fills: 503 with what was typed kept, never a 500.

The PostgreSQL server here is the test's own (a temporary cluster on a free
port), never the machine's shared one; the full disk is a small tmpfs where
the test may mount one, an injected ENOSPC otherwise.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import shutil
import subprocess
import tempfile
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from app import create_app
from caseflow.service.uploads import sweep_orphan_blobs
from caseflow.store import create_engine, migrate
from caseflow.store.blobs import blob_chunks_table, day_number
from caseflow.store.records import files_table
from identity.bootstrap import bootstrap
from tests.functional.blobs import stored_blob_ids
from tests.functional.conftest import HttpsClient, make_settings
from tests.functional.pages import hidden_fields, open_status, receipt_from, submit_report
from tests.live_server import _free_port

TEXT = "Enhetschefen gav ramavtalet till sin svågers bolag utan konkurrens."
MESSAGE = "Jag har fler mejl som visar att anbuden öppnades i förväg."


def _as_postgres(*command: str) -> list[str]:
    # PostgreSQL refuses to run as root.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


class PrivatePostgres:
    def __init__(self, bin_dir: Path, base: Path, port: int) -> None:
        self.bin_dir, self.base, self.port = bin_dir, base, port
        self.data = base / "data"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            _as_postgres(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), *args),
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg_ctl("-o", options, "-l", str(self.base / "log"), "-w", "start")

    def stop(self) -> None:
        self._pg_ctl("-m", "immediate", "-w", "stop")


@pytest.fixture
def private_postgres():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb")) or [shutil.which("initdb")]
    if not found or found[-1] is None:
        pytest.skip("PostgreSQL's initdb is not installed (Debian: postgresql)")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start a private PostgreSQL")
    bin_dir = Path(found[-1]).parent
    base = Path(tempfile.mkdtemp(prefix="vp-pg-"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    server = PrivatePostgres(bin_dir, base, _free_port())
    subprocess.run(
        _as_postgres(
            str(bin_dir / "initdb"), "-D", str(server.data), "-A", "trust", "-U", "postgres"
        )
        + ["--no-sync"],
        check=True,
        capture_output=True,
    )
    server.start()
    yield server
    with contextlib.suppress(subprocess.CalledProcessError):  # stopped by the test
        server.stop()
    shutil.rmtree(base, ignore_errors=True)


def _app(database_url: str, data_dir: Path):
    settings = make_settings(database_url, data_dir)
    engine = create_engine(database_url)
    migrate(engine)
    bootstrap(engine, settings)
    engine.dispose()
    app = create_app(settings, {"TESTING": True})
    app.test_client_class = HttpsClient
    return app


def _report_with_file(client, what: str = TEXT):
    page = client.get("/report").get_data(as_text=True)
    data = {
        **hidden_fields(page),
        "category": "procurement",
        "agency": "trafikverket",
        "what": what,
        "contact_choice": "none",
        "files": [(_bytes(64 * 1024), "anbud.txt", "text/plain")],
    }
    return client.post("/report", data=data, content_type="multipart/form-data")


def _bytes(size: int):
    import io

    return io.BytesIO((b"Anbud inkom 2026-03-04 kl 09.12\n" * (size // 32 + 1))[:size])


def _blobs(database_url: str) -> list[str]:
    engine = create_engine(database_url)
    try:
        return stored_blob_ids(engine)
    finally:
        engine.dispose()


def test_a_database_outage_is_a_503_that_keeps_the_report(private_postgres, tmp_path, operator_log):
    data_dir = tmp_path / "data"
    app = _app(private_postgres.url, data_dir)
    client = app.test_client()
    status, page = submit_report(client)
    assert status == 200
    receipt = receipt_from(page)
    before = _blobs(private_postgres.url)

    private_postgres.stop()
    response = _report_with_file(app.test_client())
    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert TEXT + "</textarea>" in page  # what the reporter typed, back in the form
    assert "Inget skickades" in page  # and why, in Swedish
    assert "bifoga dina filer igen" in page.lower()
    # Nothing written while the reporter waits: a line now would carry the time.
    assert operator_log.written_now() == []

    # A receipt check while the database is down: 503, the code still in the field.
    status, page = open_status(app.test_client(), receipt)
    assert status == 503
    assert receipt in page

    # Back without a restart of the app; nothing of the refused file was stored.
    private_postgres.start()
    # At the day's end the operator reads which dependency failed, how often,
    # and nothing of the requests.
    logged = operator_log.end_of_day()
    assert logged and all("database unavailable" in line for line in logged), logged
    assert not any(TEXT[:20] in line or receipt in line for line in logged)
    assert _blobs(private_postgres.url) == before
    status, page = submit_report(app.test_client(), what=TEXT)
    assert status == 200
    assert open_status(app.test_client(), receipt)[0] == 200


def test_a_message_typed_during_an_outage_is_shown_back(private_postgres, tmp_path):
    app = _app(private_postgres.url, tmp_path / "data")
    client = app.test_client()
    receipt = receipt_from(submit_report(client)[1])
    status, page = open_status(client, receipt)
    assert status == 200
    token = hidden_fields(page)["csrf_token"]
    private_postgres.stop()
    response = client.post("/status/message", data={"csrf_token": token, "message": MESSAGE})
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert MESSAGE + "</textarea>" in page
    assert "Inget skickades" in page  # the receipt form, carrying the message


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 4 MiB file system for the data directory, if this machine lets the test mount one."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(mount_point)],
        capture_output=True,
    )
    yield mount_point if mounted.returncode == 0 else None
    if mounted.returncode == 0:
        # Lazily: a file the test left open must not leave the mount behind.
        subprocess.run(["umount", "--lazy", str(mount_point)], check=False)


def test_a_full_disk_is_a_503_and_leaves_no_sealed_file(
    small_disk, tmp_path, monkeypatch, operator_log
):
    # The sealed files live in the database: the database is on the disk that fills.
    data_dir = (small_disk or tmp_path) / "data"
    database = f"sqlite:///{data_dir / 'db.sqlite3'}"
    data_dir.mkdir()
    app = _app(database, data_dir)
    if small_disk is not None:
        # Fill it, leaving less than the upload's sealed file needs.
        free = shutil.disk_usage(small_disk).free
        (small_disk / "filler").write_bytes(b"\0" * max(0, free - 16 * 1024))
    else:
        from crypto.files import StreamSealer

        def no_space(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(StreamSealer, "write", no_space)
    response = _report_with_file(app.test_client())
    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert TEXT + "</textarea>" in page
    assert operator_log.written_now() == []
    assert any("disk full" in line for line in operator_log.end_of_day())
    if small_disk is not None:
        (small_disk / "filler").unlink()  # room to read again (SQLite may need its -shm)
    app.extensions["visselpipa.engine"].dispose()
    assert _blobs(database) == []  # nothing half-written stays behind
    engine = create_engine(database)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(files_table)).scalar() == 0
    engine.dispose()


def test_the_sweep_removes_only_old_blobs_no_case_references(tmp_path):
    database = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    app = _app(database, tmp_path / "data")
    assert _report_with_file(app.test_client()).status_code == 200
    (kept,) = _blobs(database)
    engine = create_engine(database)
    today = date.today()
    two_days_ago = day_number(today) - 2
    t = blob_chunks_table
    with engine.begin() as conn:
        # Rows a dead request left: one two days old, one from today.
        conn.execute(
            sa.insert(t),
            [
                {"blob_id": "a" * 32, "seq": 0, "day": two_days_ago, "data": b"sealed"},
                {"blob_id": "a" * 32, "seq": 1, "day": two_days_ago, "data": b"sealed"},
                {"blob_id": "b" * 32, "seq": 0, "day": day_number(today), "data": b"sealed"},
            ],
        )
        conn.execute(sa.update(t).where(t.c.blob_id == kept).values(day=two_days_ago))
    assert sweep_orphan_blobs(engine, today) == 1
    assert _blobs(database) == sorted([kept, "b" * 32])
    # The next day the newer orphan is not yet a day old; two days on it goes.
    assert sweep_orphan_blobs(engine, today + timedelta(days=1)) == 0
    assert sweep_orphan_blobs(engine, today + timedelta(days=2)) == 1
    assert _blobs(database) == [kept]
    engine.dispose()


def test_a_staff_note_typed_during_an_outage_is_shown_back_to_copy(private_postgres, tmp_path):
    from tests.functional.conftest import Deployment
    from tests.functional.workspace_pages import action_form, signed_in

    settings = make_settings(private_postgres.url, tmp_path / "data")
    engine = create_engine(settings.database_url)
    migrate(engine)
    boot = bootstrap(engine, settings)
    app = create_app(settings, {"TESTING": True})
    deployment = Deployment(app, settings, engine, boot.created_desks)
    status, _ = submit_report(deployment.client(), what=TEXT)
    assert status == 200
    with engine.connect() as conn:
        case_id = conn.execute(sa.text("SELECT case_id FROM case_index")).scalar_one()
    anna, _ = signed_in(deployment, "anna")
    page = anna.get(f"/staff/cases/{case_id}").get_data(as_text=True)
    hidden = action_form(page, "add_internal_note")
    note = "Ring ekonomichefen om fakturorna från mars."
    private_postgres.stop()
    data = {**hidden, "add_internal_note-note": note}
    response = anna.post(f"/staff/cases/{case_id}", data=data)
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert note + "</textarea>" in page
    assert "Kopiera det innan du lämnar sidan" in page
    assert "csrf_token" not in page.split("<main", 1)[1]  # machinery is not shown as typed
    app.extensions["visselpipa.engine"].dispose()
    engine.dispose()
