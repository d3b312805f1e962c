"""`visselpipa backup` and `restore` while reporters write, and a server killed with -9.

Eight reporters submit reports to a real `visselpipa serve` (two gunicorn
workers) as browsers would: GET /report, the CSRF token from the form,
POST, the receipt from the answer. On SQLite and on PostgreSQL, each
deployment in a database of its own.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import re
import signal
import stat
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from app import create_app
from app.cli import main
from caseflow.service.cases import CaseService
from caseflow.service.intake import Intake, Report
from caseflow.store import create_engine
from config.settings import load_settings
from tests.conftest import _backends, _fresh_postgres_database
from tests.functional.conftest import cli_env
from tests.functional.pages import hidden_fields, open_status
from tests.live_server import run_visselpipa, start_live_server

CLIENTS = 8
#: Every limit out of the way: the load is eight honest reporters in a hurry.
NO_LIMITS = {
    f"limit_{action}{lane}": "100000/minute"
    for action in ("report", "receipt", "message")
    for lane in ("", "_fresh", "_patient")
}
#: Between two reports of one client: eight clients still keep both workers busy.
THINK_SECONDS = 0.05
CASE_PAGE = "Ditt ärende"
NO_CASE = "Inget ärende hittades"


# -- the deployments ----------------------------------------------------------------


class Databases:
    """New, empty databases of one kind, for a deployment and for its restored copy."""

    def __init__(self, kind: str, stack: contextlib.ExitStack) -> None:
        self.kind = kind
        self._stack = stack

    def settings(self) -> dict[str, str]:
        """The settings that give a deployment a new database of this kind.

        SQLite: none, the deployment's data directory holds the file.
        """
        if self.kind == "sqlite":
            return {}
        fresh = contextlib.contextmanager(_fresh_postgres_database)
        return {"database_url": self._stack.enter_context(fresh())}


@pytest.fixture(params=_backends())
def databases(request: pytest.FixtureRequest) -> Iterator[Databases]:
    with contextlib.ExitStack() as stack:
        yield Databases(request.param, stack)


# -- eight reporters -----------------------------------------------------------------


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )


def _multipart(fields: dict[str, str]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    )
    return f"{body}--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def submit_report(url: str, what: str) -> str:
    """Report as a browser does, in a session of its own; the receipt on the answer."""
    browser = _opener()
    with browser.open(url + "/report", timeout=30) as response:
        form = response.read().decode()
    body, ctype = _multipart(
        {
            **hidden_fields(form),
            "category": "bribery",
            "agency": "tullverket",
            "contact_choice": "none",
            "what": what,
        }
    )
    request = urllib.request.Request(url + "/report", body, {"Content-Type": ctype})  # noqa: S310
    with browser.open(request, timeout=30) as response:
        page = response.read().decode()
    match = re.search(r'id="receipt-code">([0-9A-Z-]+)<', page)
    assert match, page
    return match.group(1)


def open_case(url: str, receipt: str) -> str:
    """The page a reporter sees after entering ``receipt`` at /status."""
    browser = _opener()
    with browser.open(url + "/status", timeout=30) as response:
        form = response.read().decode()
    data = urllib.parse.urlencode({**hidden_fields(form), "receipt": receipt}).encode()
    try:
        with browser.open(url + "/status", data, timeout=30) as response:
            return response.read().decode()
    except urllib.error.HTTPError as e:
        return e.read().decode()


@dataclass(frozen=True)
class Issued:
    receipt: str
    sent: float  # time.monotonic() when the report was sent
    received: float  # and when its receipt arrived


class Reporters:
    """CLIENTS threads that submit reports one after another until stopped."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.issued: list[Issued] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(CLIENTS)
        ]

    def _run(self, client: int) -> None:
        number = 0
        while not self._stop.is_set():
            number += 1
            sent = time.monotonic()
            try:
                receipt = submit_report(self.url, f"Rapport {number} från klient {client}.")
            except (OSError, AssertionError) as e:  # refused, reset, or no receipt
                with self._lock:
                    self.errors.append(f"client {client}: {type(e).__name__}: {e}")
                time.sleep(0.05)
                continue
            with self._lock:
                self.issued.append(Issued(receipt, sent, time.monotonic()))
            time.sleep(THINK_SECONDS)

    def __enter__(self) -> Reporters:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def wait_for(self, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while len(self.issued) < count:
            assert time.monotonic() < deadline, f"only {len(self.issued)} receipts: {self.errors}"
            time.sleep(0.05)


def _cli(env: dict[str, str], *args: str) -> Result:
    """`visselpipa ARGS` run in this process (quicker than a new one) on ``env``'s deployment."""
    clean: dict[str, str | None] = {k: None for k in os.environ if k.startswith("VISSELPIPA_")}
    return CliRunner().invoke(main, list(args), env={**clean, **env})


def _ok(result: Result, what: str) -> str:
    assert result.exit_code == 0, f"{what}: {result.output}"
    return result.stdout


def _opened(url: str, receipts: list[str]) -> dict[str, str]:
    """Each receipt entered at /status by four reporters at once: receipt -> page."""
    with ThreadPoolExecutor(4) as pool:
        return dict(zip(receipts, pool.map(lambda r: open_case(url, r), receipts), strict=True))


def _sample(items: list[str], count: int) -> list[str]:
    """``count`` of ``items`` spread from the first to the last (all of them if fewer)."""
    if len(items) <= count:
        return items
    step = (len(items) - 1) / (count - 1)
    return [items[round(n * step)] for n in range(count)]


# -- (a) a backup under load ---------------------------------------------------------


def test_a_backup_under_load_restores_to_a_copy_that_verifies_and_opens_earlier_receipts(
    databases: Databases, tmp_path: Path
):
    backup = tmp_path / "backup"
    live = {**NO_LIMITS, **databases.settings()}
    with (
        start_live_server(tmp_path / "live", settings=live, workers=2) as server,
        Reporters(server.url) as reporters,
    ):
        reporters.wait_for(CLIENTS)
        _ok(_cli(server.env, "checkpoint"), "checkpoint")  # tick signs them on its timer
        began = time.monotonic()
        # A process of its own, as a timer starts it beside the running service.
        made = run_visselpipa(server.env, "backup", str(backup))
        ended = time.monotonic()
        reporters.wait_for(len(reporters.issued) + CLIENTS)  # and the reporters carry on
    assert made.returncode == 0, made.stdout + made.stderr
    assert f"written to {backup}" in made.stdout and "holds no secrets" in made.stdout
    assert reporters.errors == []
    before = [i.receipt for i in reporters.issued if i.received < began]
    after = [i.receipt for i in reporters.issued if i.sent > ended]
    assert len(before) >= CLIENTS and after, (len(before), len(after))
    manifest = json.loads((backup / "manifest.json").read_text(encoding="ascii"))
    size = manifest["tree_head"]["tree_size"]
    assert size >= CLIENTS

    # Another machine: an empty data directory with the deployment's secrets.toml.
    restored = tmp_path / "restored"
    restored.mkdir(mode=0o700)
    (restored / "secrets.toml").write_bytes((server.data_dir / "secrets.toml").read_bytes())
    env = {**server.env, "VISSELPIPA_DATA_DIR": str(restored)}
    env.pop("VISSELPIPA_DATABASE_URL", None)
    env.update({f"VISSELPIPA_{k.upper()}": v for k, v in databases.settings().items()})
    result = _cli(env, "restore", str(backup))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("restored the backup taken on ")
    assert f"holds the expected head of {size} events" in result.stdout

    # The restored copy serves: the app as `serve` builds it, in this process.
    settings = load_settings(environ=env)
    app = create_app(settings)
    try:
        client = app.test_client()
        for receipt in _sample(before, 24):
            assert CASE_PAGE in open_status(client, receipt)[1], receipt
        for receipt in _sample(after, 8):  # made after the backup: not in it
            assert NO_CASE in open_status(client, receipt)[1], receipt
    finally:
        app.extensions["visselpipa.engine"].dispose()
    head = tmp_path / "head.json"
    head.write_text(json.dumps(manifest["tree_head"]), encoding="ascii")
    again = _cli(env, "verify", "--expect", str(head))
    assert again.exit_code == 0 and again.stdout.startswith("ok: "), again.output


# -- (b) kill -9 ---------------------------------------------------------------------


def test_a_kill_9_of_every_server_process_loses_no_report_whose_receipt_was_received(
    databases: Databases, tmp_path: Path
):
    settings = {**NO_LIMITS, **databases.settings()}
    base = tmp_path / "live"
    with start_live_server(base, settings=settings, workers=2, new_session=True) as server:
        with Reporters(server.url) as reporters:
            reporters.wait_for(CLIENTS)
            _ok(_cli(server.env, "checkpoint"), "checkpoint")
            head = _ok(_cli(server.env, "head"), "head")
            reporters.wait_for(len(reporters.issued) + 3 * CLIENTS)
            no_error_before_the_kill = reporters.errors == []
            os.killpg(server.process.pid, signal.SIGKILL)  # the master and every worker at once
            server.process.wait(timeout=10)
            time.sleep(0.2)
            with pytest.raises(urllib.error.URLError):  # nothing answers any more
                urllib.request.urlopen(server.url + "/", timeout=5)  # noqa: S310
        env = server.env
    assert no_error_before_the_kill, reporters.errors
    received = [i.receipt for i in reporters.issued]
    assert len(received) >= 4 * CLIENTS

    with start_live_server(base, settings=settings, workers=2) as restarted:
        pages = _opened(restarted.url, received)
    assert [r for r, page in pages.items() if CASE_PAGE not in page] == []
    (tmp_path / "head.json").write_text(head, encoding="ascii")
    result = _cli(env, "verify", "--expect", str(tmp_path / "head.json"))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: ")


# -- (c) refusals, (d) what backup writes --------------------------------------------


def _env(data_dir: Path, settings: dict[str, str]) -> dict[str, str]:
    url = settings.get("database_url") or f"sqlite:///{data_dir / 'visselpipa.sqlite3'}"
    return cli_env(url, data_dir)


def _deployment_with_a_backup(databases: Databases, tmp_path: Path) -> tuple[dict[str, str], Path]:
    """Two reports, a checkpoint, a backup in tmp_path/backup; the deployment's environment."""
    data = tmp_path / "data"
    env = _env(data, databases.settings())
    assert _cli(env, "init").exit_code == 0
    settings = load_settings(environ=env)
    engine = create_engine(settings.database_url)
    intake = Intake(engine, settings, CaseService(engine, settings.rules))
    for what in ("Första rapporten om mutor.", "Andra rapporten om jäv."):
        intake.submit(intake.begin(), Report(category="bribery", agency="tullverket", what=what))
    engine.dispose()
    assert _cli(env, "checkpoint").exit_code == 0
    made = _cli(env, "backup", str(tmp_path / "backup"))
    assert made.exit_code == 0, made.output
    return env, tmp_path / "backup"


def _events(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM events")).scalar_one())
    finally:
        engine.dispose()


def test_restore_refuses_a_target_that_is_not_empty_and_secrets_of_another_deployment(
    databases: Databases, tmp_path: Path
):
    env, backup = _deployment_with_a_backup(databases, tmp_path)
    url = str(env["VISSELPIPA_DATABASE_URL"])
    events = _events(url)

    # Into the deployment's own database: never over what is there.
    result = _cli(env, "restore", str(backup))
    assert result.exit_code == 1
    assert "restore only into a new" in result.output, result.output
    assert "already exists" in result.output or "is not empty" in result.output
    assert _events(url) == events

    # Into an empty one, with another tenant salt.
    other = tmp_path / "other"
    other.mkdir()
    secrets = (tmp_path / "data" / "secrets.toml").read_text(encoding="utf-8")
    salt = re.search(r'tenant_salt = "([0-9a-f]{32})"', secrets)
    assert salt
    (other / "secrets.toml").write_text(secrets.replace(salt.group(1), "ab" * 16), "utf-8")
    other_env = _env(other, databases.settings())
    result = _cli(other_env, "restore", str(backup))
    assert result.exit_code == 1
    assert "tenant_salt is not the one this database was set up with" in result.output
    assert "no reporter could open their case" in result.output
    assert "Restore " in result.output and "secrets.toml from the backup" in result.output
    if databases.kind == "sqlite":
        assert not (other / "visselpipa.sqlite3").exists()  # nothing was written
    else:
        engine = create_engine(str(other_env["VISSELPIPA_DATABASE_URL"]))
        assert sa.inspect(engine).get_table_names() == []
        engine.dispose()

    # Without any secrets.toml, it says where to put it (and not to run init).
    bare = tmp_path / "bare"
    bare.mkdir()
    result = _cli(_env(bare, databases.settings()), "restore", str(backup))
    assert result.exit_code == 1
    assert f"no {bare / 'secrets.toml'}" in result.output and "never run" in result.output


def test_backup_refuses_a_directory_that_is_not_empty(databases: Databases, tmp_path: Path):
    env, _ = _deployment_with_a_backup(databases, tmp_path)
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("keep me", encoding="utf-8")
    result = _cli(env, "backup", str(taken))
    assert result.exit_code == 1
    assert f"{taken} exists and is not empty: give a new directory" in result.output
    assert sorted(p.name for p in taken.iterdir()) == ["notes.txt"]


def test_restore_refuses_a_damaged_or_unfinished_backup(databases: Databases, tmp_path: Path):
    env, backup = _deployment_with_a_backup(databases, tmp_path)
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "secrets.toml").write_bytes((tmp_path / "data" / "secrets.toml").read_bytes())
    fresh_env = _env(fresh, databases.settings())
    copy = next(p for p in backup.iterdir() if p.name != "manifest.json")
    copy.chmod(0o600)
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0x01
    copy.write_bytes(bytes(data))
    result = _cli(fresh_env, "restore", str(backup))
    assert result.exit_code == 1
    assert "the backup is damaged" in result.output, result.output

    (backup / "manifest.json").unlink()
    result = _cli(fresh_env, "restore", str(backup))
    assert result.exit_code == 1
    assert "holds no manifest.json" in result.output and "did not finish" in result.output


def test_what_backup_writes_is_private_dated_to_the_day_and_holds_no_secret(
    databases: Databases, tmp_path: Path
):
    old = os.umask(0o022)  # the usual shell umask
    try:
        env, backup = _deployment_with_a_backup(databases, tmp_path)
    finally:
        os.umask(old)
    # Looked at before anything reads them: reading sets a file's access time.
    times = {backup.name: backup.stat()}
    times.update({name: (backup / name).stat() for name in os.listdir(backup)})
    copy = "visselpipa.sqlite3" if databases.kind == "sqlite" else "visselpipa.pgdump"
    assert sorted(times) == sorted(["backup", "manifest.json", copy])
    manifest = json.loads((backup / "manifest.json").read_text(encoding="ascii"))
    day = date.fromisoformat(manifest["taken_on"])
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
    for name, info in times.items():
        is_dir = stat.S_ISDIR(info.st_mode)
        assert oct(stat.S_IMODE(info.st_mode)) == ("0o700" if is_dir else "0o600"), name
        assert (info.st_mtime, info.st_atime) == (midnight, midnight), name

    assert sorted(manifest) == [
        "database_file",
        "database_sha256",
        "fingerprints",
        "format",
        "schema_revision",
        "store",
        "taken_on",
        "tree_head",
        "version",
    ]
    assert manifest["store"] == databases.kind and re.fullmatch(
        r"\d{4}-\d\d-\d\d", manifest["taken_on"]
    )
    assert sorted(manifest["fingerprints"]) == ["signing_key", "tenant_salt"]
    # The desks' signed keys (identity/key_log.py), the report, its checkpoint.
    assert manifest["tree_head"]["tree_size"] >= 2
    head = _cli(env, "head")
    assert json.loads(head.output) == manifest["tree_head"]  # as `visselpipa head` prints it

    secrets = (tmp_path / "data" / "secrets.toml").read_text(encoding="utf-8")
    values = re.findall(r'= "([^"]+)"', secrets)
    recovery = (tmp_path / "data" / "recovery-key.txt").read_text(encoding="utf-8")
    values.append(recovery.splitlines()[-1].strip())
    assert len(values) == 4
    for name in ("manifest.json", copy):
        content = (backup / name).read_bytes()
        for value in values:
            assert value.encode() not in content, (name, value[:6])
            if re.fullmatch(r"[0-9a-f]+", value):  # the salt, the seed and the key, as bytes
                assert bytes.fromhex(value) not in content, (name, value[:6])
