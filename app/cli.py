"""The ``visselpipa`` console command: init, serve, verify, backup, restore, …"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa

from app.cli_staff import open_database
from app.cli_staff import register as _register_staff_commands
from app.cli_witness import register as _register_witness_commands
from config.settings import SECRETS_FILE, ConfigError, Settings, load_settings, with_driver

CREDENTIALS_FILE = "demo-credentials.txt"
#: Method, path without the query string, status, bytes: nothing that identifies.
ACCESS_LOG_FORMAT = '"%(m)s %(U)s" %(s)s %(B)s'

RECOVERY_FILE = "recovery-key.txt"


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as e:
        raise click.ClickException(f"configuration: {e}") from None


def _read_secrets(path: Path) -> dict[str, Any]:
    import tomllib

    with path.open("rb") as f:
        return tomllib.load(f)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


#: Every file a command creates is its owner's alone (0600, directories 0700):
#: the database and its -wal/-shm, blobs, secrets, reports written with --out.
PRIVATE_UMASK = 0o077


@click.group()
def main() -> None:
    """Visselpipa: anonymous whistleblowing for the Swedish state administration."""
    # Set before anything opens a file, and inherited by gunicorn's workers.
    os.umask(PRIVATE_UMASK)


@main.command()
@click.option(
    "--demo", is_flag=True, help="Also create demo staff accounts with printed passwords."
)
@click.option("--if-missing", is_flag=True, help="Do nothing if the database is already set up.")
def init(demo: bool, if_missing: bool) -> None:
    """Create secrets, the database, the desks (and demo staff)."""
    from caseflow.store import create_engine, migrate
    from identity.bootstrap import bootstrap

    try:
        preliminary = load_settings(require_secrets=False)
    except ConfigError as e:
        raise click.ClickException(f"configuration: {e}") from None
    data_dir = preliminary.data_dir
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    # A directory made beforehand (by hand, by systemd's StateDirectory=) keeps
    # its mode otherwise; nobody but the service's user has business in it.
    try:
        data_dir.chmod(0o700)
    except PermissionError:
        click.echo(f"WARNING: {data_dir} is not ours to close: make it 0700", err=True)
    secrets_path = data_dir / SECRETS_FILE
    if not preliminary.secret_key and not secrets_path.exists():
        _write_private(
            secrets_path,
            "# Written by `visselpipa init`. Keep private; back up with the database.\n"
            "# tenant_salt must never change: every receipt is derived with it.\n"
            f'secret_key = "{secrets.token_urlsafe(48)}"\n'
            f'tenant_salt = "{secrets.token_hex(16)}"\n'
            "# signing_seed signs log checkpoints and proofs of submission.\n"
            f'signing_seed = "{secrets.token_hex(32)}"\n',
        )
        click.echo(f"wrote secrets to {secrets_path}")
    elif secrets_path.exists() and "signing_seed" not in _read_secrets(secrets_path):
        # A deployment set up before proofs and checkpoints existed: add the
        # key once; the secrets it already has must never change.
        with secrets_path.open("a", encoding="utf-8") as f:
            f.write(
                "# signing_seed signs log checkpoints and proofs of submission.\n"
                f'signing_seed = "{secrets.token_hex(32)}"\n'
            )
        click.echo(f"added a signing key to {secrets_path}")
    settings = _settings()
    engine = create_engine(settings.database_url)
    # The rows made before migration 0011 get the cost this deployment runs with;
    # 0012 copies the sealed files of <data_dir>/blobs into the database.
    migrate(engine, attributes=_migration_attributes(settings))
    remove_migrated_blobs(engine, data_dir)
    _adopt_desk_keys(engine, settings)
    try:
        result = bootstrap(engine, settings, demo=demo)
    except ConfigError as e:
        engine.dispose()
        raise click.ClickException(f"configuration: {e}") from None
    if result.recovery_key is not None:
        _write_private(
            data_dir / RECOVERY_FILE,
            "# Organisation recovery key (X25519 private, hex). Move it OFFLINE now\n"
            "# (paper or an offline medium) and delete this file: it opens every desk.\n"
            f"{bytes(result.recovery_key).hex()}\n",
        )
        click.echo(f"created desks: {', '.join(sorted(result.created_desks))}")
        click.echo(f"WARNING: move {data_dir / RECOVERY_FILE} offline and delete it.")
    elif not if_missing:
        click.echo("desks already exist; nothing to create")
    if result.demo_passwords:
        _write_private(
            data_dir / CREDENTIALS_FILE,
            "# Demo staff accounts: username, role, password\n"
            + "".join(f"{u:10} {r:17} {p}\n" for u, (r, p) in result.demo_passwords.items()),
        )
    engine.dispose()
    click.echo(f"database ready: {_redacted(settings.database_url)}")
    if demo:
        _print_demo(settings)


def _require_current_schema(settings: Settings, *, strict: bool = False) -> None:
    """Stop with the command to run when the database is not at the head migration.

    A database that does not answer is let through unless ``strict``: the
    server starts and answers for itself once it does (see app.services).
    """
    from caseflow.store import (
        SchemaNotCurrent,
        StoreUnavailable,
        create_engine,
        require_current_schema,
    )
    from identity.key_log import desks_missing_from_log

    engine = create_engine(settings.database_url)
    try:
        require_current_schema(engine)
        with engine.connect() as conn:
            unlogged = desks_missing_from_log(conn)
        if unlogged:
            raise click.ClickException(
                f"the keys of desk(s) {', '.join(unlogged)} are not in the signed log yet: "
                "run `visselpipa migrate`"
            )
    except SchemaNotCurrent as e:
        raise click.ClickException(str(e)) from None
    except StoreUnavailable as e:
        if strict:
            raise click.ClickException(f"{e}: {_redacted(settings.database_url)}") from None
        click.echo(f"WARNING: {e}; migrations not checked", err=True)
    finally:
        engine.dispose()


@main.command("migrate")
def migrate_command() -> None:
    """Apply the pending database migrations (back up first).

    Run it after installing a new version, before starting `serve` again:
    `serve` refuses a database with pending migrations. On PostgreSQL all of
    them apply in one transaction; several app instances may stay stopped
    until it is done.
    """
    from caseflow.store import (
        SchemaNotCurrent,
        StoreUnavailable,
        create_engine,
        migrate,
        pending_migrations,
        schema_revision,
    )

    settings = _settings()
    engine = create_engine(settings.database_url)
    try:
        try:
            current = schema_revision(engine)
            pending = pending_migrations(engine)
        except (SchemaNotCurrent, StoreUnavailable) as e:
            raise click.ClickException(str(e)) from None
        if current is None:
            raise click.ClickException(
                "the database has no tables yet: run `visselpipa init` to set it up"
            )
        if pending:
            migrate(engine, attributes=_migration_attributes(settings))
        removed = remove_migrated_blobs(engine, settings.data_dir) if pending else 0
        after = schema_revision(engine)
        adopted = _adopt_desk_keys(engine, settings)
    finally:
        engine.dispose()
    if adopted:
        click.echo(
            f"recorded the keys and members of desk(s) {', '.join(adopted)} in the signed log; "
            "compare `visselpipa desk-keys` with your own records of them"
        )
    if not pending:
        click.echo(f"the database is up to date (migration {current})")
        return
    click.echo(f"migrated from {current} to {after}: applied {', '.join(pending)}")
    if removed:
        blobs = settings.data_dir / "blobs"
        click.echo(f"moved {removed} sealed files from {blobs} into the database")


def _adopt_desk_keys(engine: Any, settings: Settings) -> list[str]:
    """Sign into the log the desk keys and members of a database made before
    the key log (identity/key_log.py); nothing for one that has them."""
    from crypto.signing import Signer
    from identity.key_log import adopt_existing_desks

    with engine.begin() as conn:
        return adopt_existing_desks(conn, Signer(settings.signing_seed))


def _migration_attributes(settings: Settings) -> dict[str, Any]:
    return {"kdf_cost": settings.kdf, "data_dir": settings.data_dir}


def remove_migrated_blobs(engine: Any, data_dir: Path) -> int:
    """Delete the files of ``<data_dir>/blobs`` that migration 0012 copied into
    the database (and the orphans it left), then the directory if it is empty.

    Only after the migration's transaction committed, and only files whose
    copy is in the database or that no case references, so that nothing a
    case needs is ever lost. Returns how many files were copied and removed.
    """
    from caseflow.store.blobs import blob_exists
    from caseflow.store.records import files_table

    directory = data_dir / "blobs"
    if not directory.is_dir():
        return 0
    moved = 0
    with engine.connect() as conn:
        referenced = set(conn.execute(sa.select(files_table.c.id)).scalars())
        for path in sorted(directory.iterdir()):
            if not path.is_file():
                continue
            if path.name in referenced:
                if not blob_exists(conn, path.name):
                    continue  # not copied: keep it
                moved += 1
            path.unlink()
    with contextlib.suppress(OSError):
        directory.rmdir()
    return moved


def _redacted(url: str) -> str:
    return sa.make_url(url).render_as_string(hide_password=True)


def _print_demo(settings: Settings) -> None:
    path = settings.data_dir / CREDENTIALS_FILE
    if path.exists():
        click.echo(
            "Demo staff accounts: sign in at /staff/login (a second factor is set up "
            "at the first sign-in, with any TOTP app):"
        )
        click.echo(path.read_text(encoding="utf-8"))


#: `visselpipa serve`: request threads per worker process.
SERVE_THREADS = 4
#: Seconds an idle connection stays open (nginx's upstream keepalive_timeout is 60 s).
KEEPALIVE_SECONDS = 75
#: Seconds without a heartbeat before gunicorn restarts a worker.
WORKER_TIMEOUT_SECONDS = 60
#: Seconds requests in flight get to finish when the server stops (the
#: systemd unit's TimeoutStopSec=40 leaves it room).
GRACEFUL_TIMEOUT_SECONDS = 30


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--workers",
    default=os.cpu_count() or 1,
    show_default=True,
    type=int,
    help="gunicorn worker processes (the key stretching is CPU-bound: one per core)",
)
@click.option(
    "--threads",
    default=SERVE_THREADS,
    show_default=True,
    type=click.IntRange(min=1),
    help="request threads per worker (each worker still runs one key derivation at a time)",
)
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the app with gunicorn."""
    settings = _settings()  # fail here, with the setting's name, not in a worker
    _require_current_schema(settings)
    from dataclasses import replace

    from gunicorn.app.base import BaseApplication

    from app import create_app
    from app.services import receipt_floor_seconds
    from caseflow.service.intake import receipt_costs

    # Refused here, before any worker starts, when the tenant salt or the
    # signing key is not the database's.
    engine = open_database(settings)
    try:
        with engine.connect() as conn:
            costs = receipt_costs(conn, settings.kdf)
    finally:
        engine.dispose()
    if not settings.receipt_floor_ms:
        # Measured once, here, before the workers start: measured in each
        # worker at once, the derivations would compete for the cores and the
        # floor would come out too high for the workers' whole life.
        floor_ms = max(1, round(receipt_floor_seconds(settings, costs) * 1000))
        settings = replace(settings, receipt_floor_ms=floor_ms)

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            options: dict[str, Any] = {
                "bind": f"{host}:{port}",
                "workers": workers,
                # Threads, not one synchronous request per process: a page
                # waits neither for an upload being sanitised nor for a
                # receipt check sleeping out its floor. The Argon2id
                # derivations stay one at a time per process (crypto/kdf.py).
                "worker_class": "gthread",
                "threads": threads,
                # Connections stay open between requests, longer than nginx
                # keeps its idle upstream connections (60 s), so that it is
                # always nginx that closes them and never a request in flight
                # that meets a connection gunicorn just closed.
                "keepalive": KEEPALIVE_SECONDS,
                # With threads the timeout is the worker's heartbeat, not a
                # limit on a request: a slow upload is not killed.
                "timeout": WORKER_TIMEOUT_SECONDS,
                # On stop or reload, requests in flight get this long to end.
                "graceful_timeout": GRACEFUL_TIMEOUT_SECONDS,
                # No access log unless asked for, and then without an address,
                # user agent, referrer or time (gunicorn's default has all four).
                "accesslog": "-" if settings.access_log else None,
                "access_log_format": ACCESS_LOG_FORMAT,
                "errorlog": "-",
                # Drops gunicorn's per-request lines (they name the client's
                # address) and stamps the rest with the day only.
                "logger_class": "app.server_log.PrivateLogger",
                "loglevel": "warning",
                "forwarded_allow_ips": "",
                "proxy_allow_ips": "",
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return create_app(settings)

    click.echo(f"Visselpipa on http://{host}:{port}/  (Ctrl-C stops it)")
    _Server().run()


def _public_key(text: str) -> bytes:
    from crypto.signing import PUBLIC_KEY_BYTES

    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        key = b""
    if len(key) != PUBLIC_KEY_BYTES:
        raise click.BadParameter(
            f"expected {2 * PUBLIC_KEY_BYTES} hex digits", param_hint="--public-key"
        )
    return key


#: ``visselpipa verify`` exit codes (also in its help and in SECURITY.md).
EXIT_VERIFIED = 0
EXIT_BROKEN = 1
#: 2 is click's usage error.
EXIT_UNANCHORED = 3


def _load_head(file: Any) -> Any:
    from caseflow.store import HeadInvalid, parse_head
    from caseflow.store.heads import MAX_HEAD_BYTES

    try:
        return parse_head(file.read(MAX_HEAD_BYTES + 1))
    except HeadInvalid as e:
        raise click.BadParameter(str(e), param_hint="--expect") from None


@main.command(
    epilog="Exit codes: 0 the log holds the --expect head and is consistent with it; "
    "1 damage found (the first bad sequence number is named), or the log does not hold "
    "the expected head (cut short, rewritten, forked, or a SQLite copy without its -wal "
    "file); 2 wrong usage; 3 no damage found, but without --expect nothing shows "
    "whether the copy is complete (also for an empty log)."
)
@click.option(
    "--database-url",
    metavar="URL",
    help="Verify this database (e.g. an auditor's copy) instead of the configured one.",
)
@click.option(
    "--public-key",
    metavar="HEX",
    help="The deployment's published signing key (`visselpipa signing-key`). With "
    "--database-url as well, no settings and no secrets are read.",
)
@click.option(
    "--expect",
    "expect_file",
    metavar="HEAD_FILE",
    type=click.File("rb"),
    help="A signed tree head kept outside the database (`visselpipa head`, "
    "/.well-known/visselpipa/tree-head, or a published report): the log must hold it.",
)
def verify(database_url: str | None, public_key: str | None, expect_file: Any) -> None:
    """Check the log's hash chain, Merkle tree and signed heads; with --expect, its completeness."""
    from crypto.signing import Signer

    expected = None if expect_file is None else _load_head(expect_file)
    # An auditor holds a copy of the database and the published key, never
    # the deployment's secrets: with both options nothing else is read.
    settings = None if database_url and public_key else _settings()
    if settings is not None and database_url is None:
        open_database(settings).dispose()  # the configured key must be the database's
    url = with_driver(database_url or (settings.database_url if settings else ""))
    if public_key is not None:
        key = _public_key(public_key)
    else:
        assert settings is not None  # loaded above whenever no key was given
        key = Signer(settings.signing_seed).public_key
    code = check_log(url, key, expected)
    if code != EXIT_VERIFIED:
        sys.exit(code)


def check_log(url: str, key: bytes, expected: Any) -> int:
    """Verify the log at ``url`` against ``key`` (and the ``expected`` head, if any).

    Prints the verdict as ``visselpipa verify`` does and returns its exit
    code (``restore`` ends with the same check).
    """
    from caseflow.store import create_engine, verify_log
    from crypto.signing import key_id

    engine = create_engine(url)
    try:
        try:
            with engine.connect() as conn:
                total = conn.execute(sa.text("SELECT max(seq) FROM events")).scalar() or 0
        except sa.exc.SQLAlchemyError as e:
            raise click.ClickException(
                f"cannot read an event log at {_redacted(url)} ({type(e).__name__})"
            ) from None
        with click.progressbar(
            length=int(total), label="verifying", file=sys.stderr, show_pos=True
        ) as bar:
            done = 0

            def progress(checked: int) -> None:
                nonlocal done
                bar.update(checked - done)
                done = checked

            report = verify_log(engine, key, progress=progress, expected=expected)
        from identity.key_log import check_desk_tables

        with engine.connect() as conn:
            desk_problems = check_desk_tables(conn, key)
            others = conn.execute(
                sa.text("SELECT count(*) FROM events WHERE stream_id NOT LIKE 'dk:%'")
            ).scalar_one()
    finally:
        engine.dispose()
    last = report.last_good
    for problem in desk_problems:
        # The desks and desk_members tables, which the intake seals to, against
        # the signed key events of the log (identity/key_log.py).
        click.echo(f"BROKEN: {problem}", err=True)
    if report.ok and desk_problems:
        click.echo(
            f"the log itself verifies ({report.events_checked} events), but the desk "
            "tables do not match its signed desk keys and members",
            err=True,
        )
        return EXIT_BROKEN
    if report.ok:
        if report.events_checked == 0:
            summary = "empty: the log holds no events"
        elif others == 0:
            summary = (
                f"fresh installation: the log holds only the desks' signed keys and members "
                f"({report.events_checked} events), no report yet"
            )
        else:
            summary = f"{report.events_checked} events, {report.checkpoints_checked} checkpoints"
            if last is not None:
                summary += f", last checkpoint at seq {last.head_seq} signed {last.signed_at}"
        root = f"root {report.root_hash.hex()}, key {key_id(key)}"
        if report.anchored:
            assert expected is not None  # anchored means an expected head was held
            click.echo(
                f"ok: {summary}; holds the expected head of {expected.tree_size} events "
                f"signed {expected.signed_at}, and the log is consistent with it ({root})"
            )
            return EXIT_VERIFIED
        if report.events_checked == 0 or others == 0:
            click.echo(f"{summary} ({root})")
        else:
            click.echo(f"no damage found: {summary} ({root})")
        # Fail towards doubt: a log cut short, or a SQLite file copied without
        # its -wal, is a shorter log that verifies; only a head kept outside
        # the database tells them apart, so this is never a plain "ok".
        click.echo(
            "NOT PROVEN COMPLETE: without --expect HEAD_FILE (a signed tree head kept outside "
            "this database) verify cannot tell whether events were removed from the end or "
            "this is a copy made without its -wal file",
            err=True,
        )
        return EXIT_UNANCHORED
    where = (
        f"BROKEN at sequence number {report.first_bad_seq}"
        if report.first_bad_seq is not None
        else "BROKEN"
    )
    click.echo(f"{where}: {report.reason}", err=True)
    if last is None:
        click.echo("no checkpoint verified before the damage", err=True)
    else:
        click.echo(
            f"last good checkpoint: seq {last.seq} covers seq {last.head_seq}, "
            f"signed {last.signed_at}: the log is proven up to seq {last.head_seq}",
            err=True,
        )
    return EXIT_BROKEN


@main.command()
@click.option(
    "--database-url",
    metavar="URL",
    help="Read this database instead of the configured one (no settings are read).",
)
def head(database_url: str | None) -> None:
    """Print the newest signed tree head of the log, as JSON, for --expect or publishing."""
    from caseflow.store import create_engine, newest_head

    url = with_driver(database_url or _settings().database_url)
    engine = create_engine(url)
    try:
        found = newest_head(engine)
    finally:
        engine.dispose()
    if found is None:
        raise click.ClickException("no signed tree head yet: run visselpipa checkpoint")
    click.echo(found.document().decode("ascii"), nl=False)


@main.command()
@click.argument("dest", type=click.Path(path_type=Path))
def backup(dest: Path) -> None:
    """Write a consistent backup of the database into DEST, a new directory, while serving.

    DEST gets a copy of the database (SQLite's online backup, or pg_dump
    --format=custom) and manifest.json: the day, the schema revision, the
    secrets' fingerprints and the newest signed tree head, which `restore`
    checks the copy against. It holds no secret: keep secrets.toml and the
    recovery key apart from it (docs/operations.md, "Backup and restore").
    """
    from app.backup import BackupError, require_source, take_backup
    from caseflow.clock import reporter_day, system_clock

    settings = _settings()
    try:
        require_source(settings)
    except BackupError as e:
        raise click.ClickException(str(e)) from None
    engine = open_database(settings)
    try:
        made = take_backup(engine, settings, dest, reporter_day(system_clock()))
    except BackupError as e:
        raise click.ClickException(str(e)) from None
    finally:
        engine.dispose()
    click.echo(
        f"backup of {_redacted(settings.database_url)} written to {dest}: "
        f"{made.database_file} and manifest.json (migration {made.schema_revision}, "
        f"taken on {made.taken_on.isoformat()})"
    )
    if made.tree_head is None:
        click.echo(
            "WARNING: the log has no signed tree head yet, so nothing can show that a restore "
            "of this backup is complete: run `visselpipa checkpoint` and back up again",
            err=True,
        )
    else:
        click.echo(
            f"a restore is checked against the signed tree head of {made.tree_head.tree_size} "
            f"events signed {made.tree_head.signed_at}"
        )
    click.echo(
        "It holds no secrets: keep secrets.toml (and the offline recovery key) apart from it."
    )


@main.command()
@click.argument("src", type=click.Path(exists=True, file_okay=False, path_type=Path))
def restore(src: Path) -> None:
    """Restore the backup in SRC into the configured database, which must be empty.

    Put the deployment's own secrets.toml into the data directory first.
    Refuses a SQLite file that exists, a PostgreSQL database that has
    tables, and a backup whose secrets' fingerprints are not the configured
    ones. Then verifies the restored log against the signed tree head in the
    backup, as `verify --expect` does, and exits with verify's code.
    """
    from app.backup import BackupError, read_backup, restore_backup
    from caseflow.store import SchemaNotCurrent, create_engine, pending_migrations
    from crypto.signing import Signer
    from identity.deployment import compare_fingerprints

    try:
        preliminary = load_settings(require_secrets=False)
    except ConfigError as e:
        raise click.ClickException(f"configuration: {e}") from None
    secrets_path = preliminary.data_dir / SECRETS_FILE
    if not preliminary.secret_key and not secrets_path.exists():
        # `init` would write new secrets, with which no receipt in the
        # backup opens: say so before anything else can suggest it.
        raise click.ClickException(
            f"no {secrets_path}: copy the deployment's own secrets.toml there (the one kept "
            "apart from the backups) and run restore again; never run `visselpipa init` "
            "first, its new secrets would open no case in the backup"
        )
    settings = _settings()
    try:
        manifest = read_backup(src)
        # Compared before anything is written, with the message every
        # command gives; the restored database is checked again below.
        compare_fingerprints(manifest.fingerprints, settings)
        restore_backup(src, manifest, settings)
    except BackupError as e:
        raise click.ClickException(str(e)) from None
    except ConfigError as e:
        raise click.ClickException(f"configuration: {e}") from None
    click.echo(
        f"restored the backup taken on {manifest.taken_on.isoformat()} into "
        f"{_redacted(settings.database_url)}"
    )
    open_database(settings).dispose()  # the restored database's own record of the secrets
    engine = create_engine(settings.database_url)
    try:
        pending = pending_migrations(engine)
    except SchemaNotCurrent as e:
        click.echo(f"WARNING: {e}", err=True)
        pending = []
    finally:
        engine.dispose()
    if pending:
        click.echo(
            f"the backup is at migration {manifest.schema_revision} and this version has "
            f"{len(pending)} more: run `visselpipa migrate` before `visselpipa serve`"
        )
    code = check_log(
        settings.database_url, Signer(settings.signing_seed).public_key, manifest.tree_head
    )
    if code == EXIT_UNANCHORED and manifest.tree_head is None:
        click.echo(
            "the backup was taken before the log had a signed tree head: compare the log "
            "with a head published elsewhere (`visselpipa verify --expect HEAD_FILE`)",
            err=True,
        )
    if code != EXIT_VERIFIED:
        sys.exit(code)


@main.command("desk-keys")
def desk_keys_command() -> None:
    """Print each desk's key and members as the signed log records them.

    Fingerprints are 16 hex digits of a key's hash: compare them with the
    ones noted when the desk was set up or a member added. Exit 1, naming
    each, when the desks or desk_members tables disagree with the log.
    """
    from caseflow.store.records import staff_table
    from crypto.signing import Signer, key_id
    from identity.key_log import check_desk_tables, read_desk_log

    settings = _settings()
    verify_key = Signer(settings.signing_seed).public_key
    engine = open_database(settings)
    try:
        with engine.connect() as conn:
            names = dict(conn.execute(sa.select(staff_table.c.id, staff_table.c.username)).all())
            desks = [d.id for d in settings.desks]
            logs = [read_desk_log(conn, desk_id, verify_key) for desk_id in desks]
            problems = check_desk_tables(conn, verify_key)
    finally:
        engine.dispose()
    click.echo(f"signed by the deployment key {key_id(verify_key)}")
    for log in logs:
        if not log.public_key:
            click.echo(f"{log.desk_id}: no key in the signed log")
            continue
        click.echo(f"{log.desk_id}: key version {log.key_version}, key {key_id(log.public_key)}")
        for staff_id, member_key in sorted(log.members.items(), key=lambda m: names.get(m[0], "")):
            name = names.get(staff_id, f"(account {staff_id} no longer exists)")
            click.echo(f"  {name}: key {key_id(member_key)}")
    for problem in problems:
        click.echo(f"PROBLEM: {problem}", err=True)
    if problems:
        sys.exit(1)


@main.command()
def checkpoint() -> None:
    """Sign a checkpoint of the event log now, whatever the interval."""
    from caseflow.clock import system_clock
    from caseflow.store import sign_checkpoint
    from crypto.signing import Signer

    settings = _settings()
    signer = Signer(settings.signing_seed)
    engine = open_database(settings)
    try:
        made = sign_checkpoint(engine, signer, system_clock())
    finally:
        engine.dispose()
    click.echo(
        f"checkpoint at seq {made.seq} covers seq {made.meta['tree_size']}, "
        f"signed {made.meta['signed_at']} with key {signer.key_id} "
        f"(root {made.meta['root_hash']}; `visselpipa head` prints it)"
    )


@main.command("signing-key")
def signing_key() -> None:
    """Print the deployment's public signing key and its id, for publishing."""
    from crypto.signing import Signer

    settings = _settings()
    open_database(settings).dispose()  # print only the key the database knows
    signer = Signer(settings.signing_seed)
    click.echo(f"public key: {signer.public_key.hex()}")
    click.echo(f"key id:     {signer.key_id}")


@main.command("verify-proof")
@click.argument("file", type=click.File("rb"))
@click.option(
    "--public-key",
    metavar="HEX",
    help="The deployment's public key (from /.well-known/visselpipa-signing-key); "
    "with it no settings are read: the check runs offline.",
)
@click.option(
    "--database",
    is_flag=True,
    help="Also check that the commitment matches the report stored in the database.",
)
def verify_proof_command(file: Any, public_key: str | None, database: bool) -> None:
    """Check a proof of submission; exit 1 with the reason if it is not valid."""
    from caseflow.service.proofs import (
        MAX_DOCUMENT_BYTES,
        ProofInvalid,
        ProofMismatch,
        check_against_log,
        verify_proof,
    )
    from crypto.signing import Signer

    # Offline unless the deployment's own key or database is wanted: a
    # reporter's lawyer checks with the published key and nothing else.
    settings = _settings() if public_key is None or database else None
    if public_key is not None:
        key = _public_key(public_key)
    elif settings is not None:
        key = Signer(settings.signing_seed).public_key
    document = file.read(MAX_DOCUMENT_BYTES + 1)
    try:
        proof = verify_proof(document, key)
    except ProofInvalid as e:
        click.echo(f"invalid: {e}", err=True)
        sys.exit(1)
    if database and settings is not None:
        engine = open_database(settings)
        try:
            check_against_log(engine, proof)
        except ProofMismatch as e:
            click.echo(f"invalid: {e}", err=True)
            sys.exit(1)
        finally:
            engine.dispose()
    click.echo(
        f"valid: case {proof.case_id} received on {proof.received_on.isoformat()} "
        f"(signed by key {proof.key_id})"
    )
    if proof.inclusion is not None:
        head = proof.inclusion.head
        click.echo(
            f"included: the report's event (leaf {proof.inclusion.leaf_index}) is in the signed "
            f"tree head of {head.tree_size} events signed {head.signed_at} "
            f"(root {head.root_hash.hex()})"
        )
    else:
        click.echo("no inclusion proof (version 1): it comes once a signed tree head covers it")
    if database:
        click.echo("the commitment matches the report stored in the database")


# Staff accounts and desk membership: add-user, add-desk-member,
# remove-desk-member, recover-user.
_register_staff_commands(main)
_register_witness_commands(main)


def _moment(text: str | None) -> datetime:
    """``--now``: an ISO date or time, Stockholm time unless it names its zone."""
    from caseflow.clock import STOCKHOLM, system_clock

    if text is None:
        return system_clock()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not an ISO date or time such as 2026-12-01 or 2026-12-01T08:00",
            param_hint="--now",
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=STOCKHOLM)


@main.command()
@click.option("--now", "now_text", help="Run as if it were this time (ISO; for catching up).")
def tick(now_text: str | None) -> None:
    """Append what time brings: reminders, escalations, systemic flags, retention shredding.

    Then sign a checkpoint of the log if one is due, delete expired reporter
    and staff sessions, and remove sealed files that no case references and
    that are more than a day old (left by requests that died half-way).
    From the fixed hour of the day (mail_digest_at), the first tick sends
    the day's mail digest to staff (app/mail.py); an SMTP failure is retried
    at the next tick and reported by `visselpipa check`.
    Idempotent and safe to run from several machines at once; run it from a
    timer (every few minutes is plenty).
    """
    from datetime import timedelta

    from app.mail import send_digests
    from app.services import make_staff_auth, make_staff_sessions
    from caseflow.clock import reporter_day, system_clock
    from caseflow.service.tick import Tick
    from caseflow.service.uploads import sweep_orphan_blobs
    from caseflow.store import checkpoint_if_due
    from caseflow.store.operations import TICK, record_failure, record_success
    from crypto.signing import Signer
    from identity.reporter_sessions import ReporterSessions

    now = _moment(now_text)
    settings = _settings()
    _require_current_schema(settings, strict=True)
    engine = open_database(settings)
    started = time.monotonic()
    try:
        report = Tick(engine, settings.rules).run(now)
        interval = timedelta(minutes=settings.checkpoint_interval_minutes)
        checkpoint = checkpoint_if_due(engine, Signer(settings.signing_seed), now, interval)
        swept = (
            ReporterSessions(engine, settings.reporter_session_minutes).sweep()
            + make_staff_sessions(engine, settings).sweep()
            + make_staff_auth(engine, settings).sweep()
        )
        orphans = sweep_orphan_blobs(engine, now.date())
        # Last, and never raising for the SMTP server: what it refused waits
        # for the next tick, and `visselpipa check` reports it.
        digest = send_digests(engine, settings.mail, now)
        record_success(engine, TICK, reporter_day(system_clock()), time.monotonic() - started)
    except Exception:
        # The operator's check reads this; recording it may fail too (the
        # failure may be the database), and then the missing success tells.
        with contextlib.suppress(Exception):
            record_failure(engine, TICK, reporter_day(system_clock()))
        raise
    finally:
        engine.dispose()
    click.echo(
        f"tick at {now.isoformat(timespec='seconds')}: {report.cases_examined} cases due, "
        f"{report.cases_changed} changed, {report.events_appended} events appended, "
        f"{len(report.shredded)} shredded, {len(report.flags)} agencies flagged "
        f"({report.seconds:.2f} s)"
    )
    if checkpoint is not None:
        click.echo(f"checkpoint signed at sequence number {checkpoint.seq}")
    if swept:
        click.echo(f"{swept} expired sessions or login counters deleted")
    if orphans:
        click.echo(f"{orphans} sealed files that no case references were removed")
    if digest.made is not None:
        click.echo(f"mail digest of {digest.made.isoformat()} made")
    if digest.sent:
        click.echo(f"{digest.sent} digest mails sent")
    for failure in digest.failures:
        click.echo(f"PROBLEM: {failure}; tried again at the next tick", err=True)


#: ``visselpipa check`` fails when the last successful tick is older than this.
TICK_STALE_DAYS = 1


@main.command()
@click.option("--now", "now_text", help="Check as if it were this time (ISO).")
def check(now_text: str | None) -> None:
    """Exit 0 when the deployment is healthy, 1 naming each problem (for a monitor).

    Checks that the database answers, that no migration is pending, that
    the desk tables match the signed desk keys and members of the log, and
    that `tick` succeeded today or yesterday (and has not failed since),
    and that no day's mail digest to staff is left undelivered.
    """
    from datetime import timedelta

    from caseflow.clock import reporter_day
    from caseflow.service.notifications import undelivered
    from caseflow.store import SchemaNotCurrent, StoreUnavailable, create_engine
    from caseflow.store import require_current_schema as _require
    from caseflow.store.operations import TICK, last_run
    from crypto.signing import Signer
    from identity.key_log import check_desk_tables

    today = reporter_day(_moment(now_text))
    settings = _settings()
    engine = create_engine(settings.database_url)
    problems: list[str] = []
    try:
        try:
            _require(engine)
            run = last_run(engine, TICK)
            with engine.connect() as conn:
                problems.extend(check_desk_tables(conn, Signer(settings.signing_seed).public_key))
            problems.extend(
                f"the mail digest of {u.day.isoformat()} is not delivered: {u.failure} "
                f"(last tried on {u.failed_on.isoformat()}; check the SMTP settings, the "
                "next tick tries again)"
                # Mail switched off (no smtp_host): nothing is retried, nothing to report.
                for u in (undelivered(engine) if settings.mail.enabled else [])
            )
        except (SchemaNotCurrent, StoreUnavailable) as e:
            problems.append(str(e))
            run = None
    finally:
        engine.dispose()
    if run is not None:
        if run.last_success_on is None:
            problems.append("tick has never succeeded: run `visselpipa tick` from a timer")
        elif run.last_success_on < today - timedelta(days=TICK_STALE_DAYS):
            problems.append(
                f"tick last succeeded on {run.last_success_on.isoformat()}: "
                "is its timer running? (`visselpipa tick` by hand says why it fails)"
            )
        if run.last_failure_on is not None:  # cleared by the next success
            problems.append(f"tick failed on {run.last_failure_on.isoformat()}")
    for problem in problems:
        click.echo(f"PROBLEM: {problem}", err=True)
    if problems:
        sys.exit(1)
    assert run is not None and run.last_success_on is not None
    click.echo(
        f"ok: database at the newest migration; tick succeeded on "
        f"{run.last_success_on.isoformat()} ({run.last_seconds or 0:.2f} s)"
    )


@main.command()
@click.option("--quarter", help="The quarterly transparency report, e.g. 2026Q3.")
@click.option("--year", type=int, help="The annual report (with --supervisor), e.g. 2026.")
@click.option("--supervisor", is_flag=True, help="With --year: the supervisor report.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Directory to write the HTML, PDF and CSV files to.",
)
@click.option("--locale", type=click.Choice(["sv", "en"]), default="sv", show_default=True)
def report(
    quarter: str | None, year: int | None, supervisor: bool, out_dir: Path, locale: str
) -> None:
    """Write a published report as HTML, PDF and CSV: counts only, small numbers hidden.

    ``--quarter 2026Q3`` writes visselpipa-2026Q3.{html,pdf,csv};
    ``--year 2026 --supervisor`` writes visselpipa-2026-supervisor.{html,pdf,csv}.
    Making a report publishes it: its figures are kept, making it again
    prints the same, and later reports of the year are protected against
    it. A period can be reported once it is over.
    """
    from caseflow.clock import STOCKHOLM, system_clock
    from reporting.reports import (
        FIRST_YEAR,
        LAST_YEAR,
        SuppressionError,
        annual_supervisor_report,
        parse_quarter,
        quarterly_report,
        render_csv,
        render_html,
        render_pdf,
    )

    today = system_clock().astimezone(STOCKHOLM).date()

    # Check the arguments before reading settings or the database.
    if (quarter is None) == (year is None):
        raise click.UsageError("give either --quarter (e.g. 2026Q3) or --year with --supervisor")
    if quarter is not None:
        if supervisor:
            raise click.BadParameter("is only for --year", param_hint="--supervisor")
        try:
            _first, last = parse_quarter(quarter)
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="--quarter") from None
        if last >= today:
            # Making a report publishes it and its figures are kept as they
            # are: a quarter still running would be frozen half-counted.
            raise click.BadParameter(
                f"{quarter} is not over yet; its report can be made from the day after "
                f"{last.isoformat()}",
                param_hint="--quarter",
            )
    else:
        assert year is not None
        if not supervisor:
            raise click.BadParameter(
                "the annual report is the supervisor report: add --supervisor",
                param_hint="--year",
            )
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise click.BadParameter(f"{year} is not a year such as 2026", param_hint="--year")
        if year >= today.year:
            raise click.BadParameter(
                f"{year} is not over yet; its report can be made from 1 January {year + 1}",
                param_hint="--year",
            )
    settings = _settings()
    engine = open_database(settings)
    try:
        if quarter is not None:
            made = quarterly_report(engine, settings, quarter, today=today)
        else:
            assert year is not None
            made = annual_supervisor_report(engine, settings, year, today=today)
    except SuppressionError as e:
        # Fail closed: nothing is written or kept when some small count
        # could be worked out from what the year has published.
        raise click.ClickException(f"the report cannot be published: {e}") from None
    finally:
        engine.dispose()
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix, content in (
        ("html", render_html(made, locale).encode()),
        ("pdf", render_pdf(made, locale)),
        ("csv", render_csv(made, locale).encode()),
    ):
        path = out_dir / f"{made.file_stem}.{suffix}"
        path.write_bytes(content)
        written.append(path)
    for path in written:
        click.echo(f"wrote {path}")
    if made.checkpoint is None:
        click.echo("no signed checkpoint yet: run visselpipa checkpoint and make it again")


@main.command("rebuild-projections")
def rebuild_projections() -> None:
    """Drop the read models (case index, findings, proposals, flags) and derive them again.

    Run it after editing the rule files: deadlines and wake days depend on them.
    Appends wait while it runs.
    """
    from caseflow.service.projections import Projections

    settings = _settings()
    engine = open_database(settings)
    try:
        report = Projections(settings.rules).rebuild(engine)
    finally:
        engine.dispose()
    click.echo(
        f"rebuilt from {report.events} events: {report.cases} cases, {report.flags} flags "
        f"in {report.seconds:.2f} s ({report.events_per_second:,.0f} events/s)"
    )


@main.command("processing-record")
@click.option("--locale", type=click.Choice(["sv", "en"]), default="sv", show_default=True)
def processing_record_command(locale: str) -> None:
    """Print the record of processing activities (GDPR art. 30): privacy.toml and the settings."""
    from app.privacy import processing_record

    click.echo(processing_record(_settings(), locale), nl=False)


@main.group("data-subject-request")
def data_subject_request() -> None:
    """Record and list requests from data subjects and the decisions on them (docs/privacy.md)."""


def _day(text: str | None, name: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a day YYYY-MM-DD", param_hint=name) from None


@data_subject_request.command("record")
@click.option("--received", required=True, help="The day the request came in (YYYY-MM-DD).")
@click.option(
    "--kind",
    required=True,
    type=click.Choice(
        ["information", "access", "rectification", "erasure", "restriction", "objection"]
    ),
)
@click.option(
    "--reference",
    required=True,
    help="The request's registration number in the agency's records (never the requester's name).",
)
@click.option(
    "--decision",
    required=True,
    type=click.Choice(["pending", "granted", "partly_granted", "refused"]),
)
@click.option(
    "--ground", default="", help="The legal ground of the decision (required unless pending)."
)
@click.option("--decided", help="The day of the decision (YYYY-MM-DD; required unless pending).")
@click.option("--by", "recorded_by", required=True, help="Who records it (name or role).")
def data_subject_request_record(
    received: str,
    kind: str,
    reference: str,
    decision: str,
    ground: str,
    decided: str | None,
    recorded_by: str,
) -> None:
    """Record a request and the decision taken on it, with its legal ground."""
    from caseflow.clock import STOCKHOLM
    from caseflow.store.data_subject_requests import RequestRefused, record_request

    received_on = _day(received, "--received")
    if received_on is None:  # required by click; for the type checker
        raise click.BadParameter("missing", param_hint="--received")
    settings = _settings()
    engine = open_database(settings)
    try:
        row = record_request(
            engine,
            received_on=received_on,
            kind=kind,
            reference=reference,
            decision=decision,
            legal_ground=ground,
            decided_on=_day(decided, "--decided"),
            recorded_by=recorded_by,
            today=datetime.now(STOCKHOLM).date(),
        )
    except RequestRefused as e:
        raise click.ClickException(str(e)) from None
    finally:
        engine.dispose()
    click.echo(f"recorded request {row.id} ({row.kind}, {row.decision})")


@data_subject_request.command("list")
def data_subject_request_list() -> None:
    """Every recorded request, oldest first (tab-separated)."""
    from caseflow.store.data_subject_requests import list_requests

    settings = _settings()
    engine = open_database(settings)
    try:
        rows = list_requests(engine)
    finally:
        engine.dispose()
    if not rows:
        click.echo("no data-subject requests recorded")
    for r in rows:
        decided = r.decided_on.isoformat() if r.decided_on else "-"
        click.echo(
            f"{r.id}\t{r.received_on.isoformat()}\t{r.kind}\t{r.reference}\t{r.decision}\t"
            f"{decided}\t{r.legal_ground or '-'}\t{r.recorded_by}"
        )


if __name__ == "__main__":
    main()
