"""Backups of the database while the service runs, and their restore into an empty one.

The database holds everything a deployment has except its secrets: the
event log, the read models, staff accounts and the sealed files. A backup
is a directory of two files::

    manifest.json        what the backup is: see :class:`Manifest`
    visselpipa.sqlite3   SQLite: a copy made with the online backup API
    visselpipa.pgdump    PostgreSQL: ``pg_dump --format=custom``

Both copies are consistent while the service writes: SQLite's backup API
copies in one step under a read transaction, which in WAL mode sees one
snapshot and does not stop writers; ``pg_dump`` reads in one snapshot too.

What a backup never holds: ``secrets.toml`` and the offline recovery key.
A stolen backup without them opens nothing and cannot be used to test
receipts; they are kept apart (docs/operations.md, "Backup and restore").

The manifest is written last, so a directory without one is a backup that
did not finish. Its times are the day only: the manifest names the day,
and every file the backup writes (and the directory) has the start of that
day as its access and modification time, as the sealed uploads have.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa

from caseflow.store import HeadInvalid, TreeHead, newest_head, parse_head, schema_revision
from caseflow.store.errors import StoreUnavailable
from config.settings import Settings
from identity.deployment import recorded_fingerprints

MANIFEST: Final = "manifest.json"
FORMAT: Final = "visselpipa-backup"
VERSION: Final = 1
#: The database copy in a backup, by store kind.
DATABASE_FILES: Final = {"sqlite": "visselpipa.sqlite3", "postgresql": "visselpipa.pgdump"}
_MAX_MANIFEST_BYTES: Final = 64 * 1024
_CHUNK: Final = 1024 * 1024


class BackupError(Exception):
    """A backup or a restore that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class Manifest:
    """What a backup holds, without any secret.

    ``fingerprints`` are those the database recorded of the tenant salt and
    the signing key (identity/deployment.py): a restore compares them with
    the configured secrets before it writes anything. ``tree_head`` is the
    newest signed tree head in the log when the backup began (None before
    the first checkpoint); the restored log must hold it.
    """

    taken_on: date
    store: str
    schema_revision: str | None
    database_file: str
    database_sha256: str
    fingerprints: dict[str, bytes]
    tree_head: TreeHead | None

    def document(self) -> bytes:
        fields: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "taken_on": self.taken_on.isoformat(),
            "store": self.store,
            "schema_revision": self.schema_revision,
            "database_file": self.database_file,
            "database_sha256": self.database_sha256,
            "fingerprints": {
                name: value.hex() for name, value in sorted(self.fingerprints.items())
            },
            "tree_head": None if self.tree_head is None else self.tree_head.fields(),
        }
        return (json.dumps(fields, indent=2, sort_keys=True) + "\n").encode("ascii")

    @classmethod
    def from_document(cls, document: bytes) -> Manifest:
        try:
            fields = json.loads(document)
            if not isinstance(fields, dict) or fields.get("format") != FORMAT:
                raise ValueError(f"not a {FORMAT} manifest")
            if fields.get("version") != VERSION:
                raise ValueError(
                    f"manifest version {fields.get('version')!r}; this version of Visselpipa "
                    f"reads version {VERSION}"
                )
            store = fields["store"]
            if store not in DATABASE_FILES or fields["database_file"] != DATABASE_FILES[store]:
                raise ValueError(f"unknown store {store!r} or database file")
            head = fields["tree_head"]
            return cls(
                taken_on=date.fromisoformat(fields["taken_on"]),
                store=store,
                schema_revision=fields["schema_revision"],
                database_file=fields["database_file"],
                database_sha256=str(fields["database_sha256"]),
                fingerprints={k: bytes.fromhex(v) for k, v in fields["fingerprints"].items()},
                tree_head=None if head is None else parse_head(json.dumps(head).encode()),
            )
        except (ValueError, KeyError, TypeError, AttributeError, HeadInvalid) as e:
            raise BackupError(f"{MANIFEST} is not a readable backup manifest: {e}") from None


def store_kind(database_url: str) -> str:
    """``sqlite`` or ``postgresql``."""
    return sa.make_url(database_url).get_backend_name()


def require_source(settings: Settings) -> None:
    """Refuse before anything opens the database when there is none to back up.

    (Opening a SQLite URL whose file is missing would create an empty one.)
    """
    if store_kind(settings.database_url) == "sqlite":
        path = _sqlite_path(settings.database_url)
        if not path.is_file():
            raise BackupError(f"no database at {path}: nothing to back up")


# --- backup ---------------------------------------------------------------------------


def take_backup(engine: sa.Engine, settings: Settings, dest: Path, today: date) -> Manifest:
    """Write a backup of the database behind ``engine`` into the new directory ``dest``.

    :raises BackupError: when ``dest`` exists and is not empty, when the
        copy fails, or (PostgreSQL) when ``pg_dump`` is not installed.
    """
    kind = store_kind(settings.database_url)
    pg_dump = _pg_tool("pg_dump") if kind == "postgresql" else ""
    _new_directory(dest)
    # Read before the copy begins: the log only grows and the fingerprints
    # never change, so the copy holds this head and these fingerprints.
    try:
        revision = schema_revision(engine)
        with engine.connect() as conn:
            fingerprints = recorded_fingerprints(conn)
        head = newest_head(engine)
    except (StoreUnavailable, sa.exc.SQLAlchemyError) as e:
        raise BackupError(f"cannot read the database ({type(e).__name__}): is it set up?") from None
    target = dest / DATABASE_FILES[kind]
    try:
        if kind == "sqlite":
            _copy_sqlite(_sqlite_path(settings.database_url), target)
        else:
            _pg_dump(pg_dump, settings.database_url, target)
    except BaseException:
        target.unlink(missing_ok=True)  # no half copy that looks like a backup
        raise
    manifest = Manifest(
        taken_on=today,
        store=kind,
        schema_revision=revision,
        database_file=target.name,
        database_sha256=_sha256(target),
        fingerprints=fingerprints,
        tree_head=head,
    )
    _write_new(dest / MANIFEST, manifest.document())
    for path in (target, dest / MANIFEST, dest):
        _blur_times(path, today)
    return manifest


def _new_directory(dest: Path) -> None:
    if dest.exists() and not dest.is_dir():
        raise BackupError(f"{dest} exists and is not a directory: give a new directory")
    if dest.is_dir() and any(dest.iterdir()):
        raise BackupError(
            f"{dest} exists and is not empty: give a new directory (a backup never "
            "overwrites another)"
        )
    dest.mkdir(parents=True, exist_ok=True, mode=0o700)
    dest.chmod(0o700)  # an empty directory made beforehand keeps its mode otherwise


def _copy_sqlite(source: Path, target: Path) -> None:
    _write_new(target, b"")
    # Read-only: the backup must not be able to change the live database.
    live = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    copy = sqlite3.connect(target)
    try:
        # pages=-1 (the default): the whole database in one step, under one
        # read transaction, so concurrent writers cannot make it restart or mix.
        live.backup(copy)
        # The copy stands alone: no -wal file beside it to forget.
        copy.execute("PRAGMA journal_mode=DELETE").fetchone()
        (verdict,) = copy.execute("PRAGMA quick_check").fetchone()
    except sqlite3.Error as e:
        raise BackupError(f"the SQLite backup of {source} failed: {e}") from None
    finally:
        copy.close()
        live.close()
    if verdict != "ok":
        raise BackupError(f"the copy of {source} does not pass SQLite's quick_check: {verdict}")


def _pg_dump(pg_dump: str, database_url: str, target: Path) -> None:
    _write_new(target, b"")  # created 0600 here; pg_dump writes into it
    dsn, env = _libpq(database_url)
    _run_tool(
        [pg_dump, "--format=custom", "--no-password", f"--file={target}", f"--dbname={dsn}"],
        env,
        "pg_dump",
    )


# --- restore --------------------------------------------------------------------------


def read_backup(src: Path) -> Manifest:
    """The manifest of the backup in ``src``, after checking its database copy is whole.

    :raises BackupError: when ``src`` is not a finished backup or its copy
        is not the one the manifest describes.
    """
    path = src / MANIFEST
    try:
        with path.open("rb") as f:
            document = f.read(_MAX_MANIFEST_BYTES + 1)
    except FileNotFoundError:
        raise BackupError(
            f"{src} holds no {MANIFEST}: it is not a backup made by `visselpipa backup`, "
            "or that backup did not finish"
        ) from None
    except OSError as e:
        raise BackupError(f"cannot read {path}: {e.strerror}") from None
    manifest = Manifest.from_document(document)
    copy = src / manifest.database_file
    if not copy.is_file():
        raise BackupError(f"{copy} is missing: the backup is incomplete")
    if _sha256(copy) != manifest.database_sha256:
        raise BackupError(
            f"{copy} is not the copy the manifest describes (its SHA-256 differs): "
            "the backup is damaged; restore another one"
        )
    return manifest


def restore_backup(src: Path, manifest: Manifest, settings: Settings) -> None:
    """Restore the backup in ``src`` into the configured database, which must be empty.

    Never overwrites: a SQLite file that exists, or a PostgreSQL database
    with any table, is refused before anything is written.

    :raises BackupError: naming what is in the way and what to do.
    """
    kind = store_kind(settings.database_url)
    if kind != manifest.store:
        raise BackupError(
            f"the backup is of a {manifest.store} database and the configured database_url "
            f"is {kind}: configure a {manifest.store} database to restore it into"
        )
    copy = src / manifest.database_file
    if kind == "sqlite":
        _restore_sqlite(copy, _sqlite_path(settings.database_url))
    else:
        pg_restore = _pg_tool("pg_restore")
        _require_empty_postgres(settings.database_url)
        dsn, env = _libpq(settings.database_url)
        _run_tool(
            [
                pg_restore,
                "--no-password",
                # Objects belong to whoever restores (the service's role on the
                # new server), whatever role owned them on the old one.
                "--no-owner",
                "--no-privileges",
                # All or nothing: a failed restore leaves the database empty.
                "--single-transaction",
                "--exit-on-error",
                f"--dbname={dsn}",
                str(copy),
            ],
            env,
            "pg_restore",
        )


def _restore_sqlite(copy: Path, target: Path) -> None:
    taken = [p for p in (target, target.with_name(target.name + "-wal")) if p.exists()]
    if taken:
        raise BackupError(
            f"{taken[0]} already exists: restore only into a new database. Move the old "
            "database away first (or point VISSELPIPA_DATABASE_URL at a new file)"
        )
    if not target.parent.is_dir():
        raise BackupError(
            f"{target.parent} does not exist: make the data directory and put the "
            "deployment's secrets.toml in it first"
        )
    # Copied beside the target and linked into place only when whole and
    # checked: a restore that dies half-way leaves no database that looks
    # like one, and link() never replaces a file that appeared meanwhile.
    partial = target.with_name(target.name + ".restoring")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise BackupError(
            f"{partial} exists: an earlier restore did not finish; remove it and try again"
        ) from None
    try:
        with os.fdopen(fd, "wb") as out, copy.open("rb") as source:
            shutil.copyfileobj(source, out, _CHUNK)
            out.flush()
            os.fsync(out.fileno())
        check = sqlite3.connect(f"{partial.resolve().as_uri()}?mode=ro", uri=True)
        try:
            (verdict,) = check.execute("PRAGMA quick_check").fetchone()
        finally:
            check.close()
        if verdict != "ok":
            raise BackupError(f"{copy} does not pass SQLite's quick_check: {verdict}")
        try:
            os.link(partial, target)
        except FileExistsError:
            raise BackupError(f"{target} appeared during the restore: left as it is") from None
    finally:
        partial.unlink(missing_ok=True)


def _require_empty_postgres(database_url: str) -> None:
    from caseflow.store import create_engine

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            tables = conn.execute(
                sa.text(
                    "SELECT table_schema || '.' || table_name FROM information_schema.tables "
                    "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
                    "ORDER BY 1 LIMIT 3"
                )
            ).scalars()
            found = list(tables)
    except sa.exc.SQLAlchemyError as e:
        raise BackupError(
            f"cannot connect to {_redacted(database_url)} ({type(e).__name__}): create the "
            "empty database first (createdb) and check database_url"
        ) from None
    finally:
        engine.dispose()
    if found:
        raise BackupError(
            f"{_redacted(database_url)} is not empty (it has tables: {', '.join(found)}, …): "
            "restore only into a new, empty database (createdb); nothing was changed"
        )


# --- helpers --------------------------------------------------------------------------


def _pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} is not installed (or not on PATH): install the Debian package "
            f"postgresql-client (apt install postgresql-client), of the server's major "
            "version or newer"
        )
    return path


def _libpq(database_url: str) -> tuple[str, dict[str, str]]:
    """A libpq URL without the password, and an environment that carries it.

    The password goes in PGPASSWORD, not on the command line, where every
    local user could read it (``ps``).
    """
    url = sa.make_url(database_url)
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    dsn = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return dsn, env


def _run_tool(args: list[str], env: dict[str, str], name: str) -> None:
    # The arguments are our own: the tool's path from PATH, our file names and
    # the configured database URL, passed without a shell.
    result = subprocess.run(args, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(f"{name} failed (exit {result.returncode}): {result.stderr.strip()}")


def _redacted(database_url: str) -> str:
    return sa.make_url(database_url).render_as_string(hide_password=True)


def _sqlite_path(database_url: str) -> Path:
    database = sa.make_url(database_url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError("only a SQLite database in a file (sqlite:///PATH) can be backed up")
    return Path(database)


def _write_new(path: Path, content: bytes) -> None:
    """Create ``path`` (0600, never over an existing file) holding ``content``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(content)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _blur_times(path: Path, day: date) -> None:
    """Set ``path``'s access and modification times to the start of ``day`` (UTC).

    As for the sealed uploads (caseflow/service/uploads.py): the file system
    would otherwise record the minute of the backup.
    """
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
    os.utime(path, (midnight, midnight))
