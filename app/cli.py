"""The ``visselpipa`` console command: init, serve, verify."""

from __future__ import annotations

import os
import secrets
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa

from config.settings import SECRETS_FILE, ConfigError, Settings, load_settings

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


@click.group()
def main() -> None:
    """Visselpipa: anonymous whistleblowing for the Swedish state administration."""


@main.command()
@click.option(
    "--demo", is_flag=True, help="Also create demo staff accounts with printed passwords."
)
@click.option("--if-missing", is_flag=True, help="Do nothing if the database is already set up.")
def init(demo: bool, if_missing: bool) -> None:
    """Create secrets, the database, the desks (and demo staff)."""
    from caseflow.service.bootstrap import bootstrap
    from caseflow.store import create_engine, migrate

    try:
        preliminary = load_settings(require_secrets=False)
    except ConfigError as e:
        raise click.ClickException(f"configuration: {e}") from None
    data_dir = preliminary.data_dir
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
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
    migrate(engine)
    result = bootstrap(engine, settings, demo=demo)
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


def _redacted(url: str) -> str:
    return sa.make_url(url).render_as_string(hide_password=True)


def _print_demo(settings: Settings) -> None:
    path = settings.data_dir / CREDENTIALS_FILE
    if path.exists():
        click.echo("Demo staff accounts (the staff workspace comes with a later release):")
        click.echo(path.read_text(encoding="utf-8"))


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
def serve(host: str, port: int, workers: int) -> None:
    """Serve the app with gunicorn."""
    settings = _settings()  # fail here, with the setting's name, not in a worker
    from dataclasses import replace

    from gunicorn.app.base import BaseApplication

    from app import create_app
    from app.services import receipt_floor_seconds

    if not settings.receipt_floor_ms:
        # Measured once, here, before the workers start: measured in each
        # worker at once, the derivations would compete for the cores and the
        # floor would come out too high for the workers' whole life.
        floor_ms = max(1, round(receipt_floor_seconds(settings) * 1000))
        settings = replace(settings, receipt_floor_ms=floor_ms)

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            options: dict[str, Any] = {
                "bind": f"{host}:{port}",
                "workers": workers,
                # No access log unless asked for, and then without an address,
                # user agent, referrer or time (gunicorn's default has all four).
                "accesslog": "-" if settings.access_log else None,
                "access_log_format": ACCESS_LOG_FORMAT,
                "errorlog": "-",
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


@main.command()
def verify() -> None:
    """Walk the event log's hash chain; exit 1 naming the first broken event."""
    from caseflow.store import create_engine, verify_chain

    settings = _settings()
    engine = create_engine(settings.database_url)
    report = verify_chain(engine)
    engine.dispose()
    if report.ok:
        click.echo(f"ok: {report.events_checked} events, chain intact")
        return
    click.echo(f"BROKEN at sequence number {report.first_broken_seq}: {report.reason}", err=True)
    sys.exit(1)


def _moment(text: str | None) -> datetime:
    """``--now``: an ISO date or time, Stockholm time unless it names its zone."""
    from caseflow.service.clock import STOCKHOLM, system_clock

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

    Idempotent and safe to run from several machines at once; run it from a
    timer (every few minutes is plenty).
    """
    from caseflow.service.tick import Tick
    from caseflow.store import create_engine

    now = _moment(now_text)
    settings = _settings()
    engine = create_engine(settings.database_url)
    try:
        report = Tick(engine, settings.rules).run(now)
    finally:
        engine.dispose()
    click.echo(
        f"tick at {now.isoformat(timespec='seconds')}: {report.cases_examined} cases due, "
        f"{report.cases_changed} changed, {report.events_appended} events appended, "
        f"{len(report.shredded)} shredded, {len(report.flags)} agencies flagged "
        f"({report.seconds:.2f} s)"
    )


@main.command("rebuild-projections")
def rebuild_projections() -> None:
    """Drop the read models (case index, findings, proposals, flags) and derive them again.

    Run it after editing the rule files: deadlines and wake days depend on them.
    Appends wait while it runs.
    """
    from caseflow.service.projections import Projections
    from caseflow.store import create_engine

    settings = _settings()
    engine = create_engine(settings.database_url)
    try:
        report = Projections(settings.rules).rebuild(engine)
    finally:
        engine.dispose()
    click.echo(
        f"rebuilt from {report.events} events: {report.cases} cases, {report.flags} flags "
        f"in {report.seconds:.2f} s ({report.events_per_second:,.0f} events/s)"
    )


if __name__ == "__main__":
    main()
