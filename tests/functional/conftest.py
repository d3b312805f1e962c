"""A real deployment per test: settings, a migrated database, desks with keys, the app."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from nacl.public import PrivateKey

from app import create_app
from caseflow.domain.commands import Acknowledge, GiveFeedback, RequestInformation
from caseflow.service.cases import Step
from caseflow.service.intake import message_item
from caseflow.store import create_engine, migrate
from config.settings import Settings, load_settings
from crypto.sealing import seal_item
from identity.bootstrap import bootstrap


@dataclass
class Deployment:
    app: Flask
    settings: Settings
    engine: Any
    desk_keys: dict[str, PrivateKey]

    def desk_writes(self, access: Any, text: str, command: type = Acknowledge) -> None:
        """The desk acts on the case with a message to the reporter (the staff
        workspace does this through the same case service)."""
        message_id = secrets.token_hex(8)
        sealed = seal_item(access.key, access.case_id, message_item(message_id), text.encode())
        step_command = command(
            case_id=access.case_id, actor="staff:utredare", message_id=message_id
        )
        event_type = {
            Acknowledge: "CaseAcknowledged",
            RequestInformation: "MessageToReporterSent",
            GiveFeedback: "FeedbackGiven",
        }[command]
        self.app.extensions["visselpipa.cases"].execute(
            access.case_id,
            [Step(step_command, {event_type: sealed}, epoch=access.keys.current_epoch)],
        )

    def client(self) -> FlaskClient:
        self.app.test_client_class = HttpsClient
        return self.app.test_client()

    def cli(self, *args: str) -> Any:
        """Run a `visselpipa` command on this deployment (its secrets.toml written once)."""
        from click.testing import CliRunner

        from app.cli import main

        secrets_file = self.settings.data_dir / "secrets.toml"
        if not secrets_file.exists():
            secrets_file.parent.mkdir(parents=True, exist_ok=True)
            secrets_file.write_text(
                f'secret_key = "{self.settings.secret_key}"\n'
                f'tenant_salt = "{self.settings.tenant_salt.hex()}"\n'
                f'signing_seed = "{self.settings.signing_seed.hex()}"\n',
                encoding="utf-8",
            )
        env = cli_env(self.settings.database_url, self.settings.data_dir)
        return CliRunner().invoke(main, [str(a) for a in args], env=env)


class HttpsClient(FlaskClient):
    """Production settings force HTTPS and __Host- cookies: talk HTTPS."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        if not args or isinstance(args[0], str):
            kwargs.setdefault("base_url", "https://localhost")
        return super().open(*args, **kwargs)


def cli_env(database_url: str, data_dir: Path) -> dict[str, str]:
    """The environment of a `visselpipa` command in a test: its data, its database, cheap KDF."""
    return {
        "VISSELPIPA_DATA_DIR": str(data_dir),
        "VISSELPIPA_DATABASE_URL": database_url,
        "VISSELPIPA_KDF_TIME_COST": "1",
        "VISSELPIPA_KDF_MEMORY_KIB": "8",
        "VISSELPIPA_KDF_PARALLELISM": "1",
        "VISSELPIPA_INSECURE_TEST_KDF": "1",
    }


def make_settings(database_url: str, data_dir: Path, **extra: Any) -> Settings:
    overrides: dict[str, Any] = {
        "secret_key": secrets.token_urlsafe(40),
        "tenant_salt": secrets.token_hex(16),
        "signing_seed": secrets.token_hex(32),
        "data_dir": str(data_dir),
        "database_url": database_url,
        # The cheapest Argon2id the library allows; test_kdf checks the real default.
        "kdf_time_cost": 1,
        "kdf_memory_kib": 8,
        "kdf_parallelism": 1,
        # Below the production floor, which only this flag allows.
        "insecure_test_kdf": True,
        "max_file_bytes": 256 * 1024,
        "max_files": 3,
        "max_request_bytes": 2 * 1024 * 1024,
        # Tests open many sessions in a burst; the deployment-wide lanes are
        # tested on their own (test_abuse_resistance), with their own limits.
        **{
            f"limit_{action}_{lane}": "100000/minute"
            for action in ("report", "receipt", "message")
            for lane in ("fresh", "patient")
        },
    }
    overrides.update(extra)
    return load_settings(environ={}, overrides=overrides)


@pytest.fixture
def deployment(database_url: str, tmp_path: Path) -> Iterator[Deployment]:
    settings = make_settings(database_url, tmp_path / "data")
    engine = create_engine(settings.database_url)
    migrate(engine)
    boot = bootstrap(engine, settings)
    app = create_app(settings, {"TESTING": True})
    try:
        yield Deployment(app, settings, engine, boot.created_desks)
    finally:
        app.extensions["visselpipa.engine"].dispose()
        engine.dispose()


@pytest.fixture
def client(deployment: Deployment) -> FlaskClient:
    return deployment.client()


class OperatorLog:
    """The operator's log of this process: what was written, what is held.

    Lines that a request causes are held (app/held_log.py) and written once a
    day; ``written_now`` is what reached the log while the test ran,
    ``end_of_day`` writes what is held, as the midnight timer does, and returns
    those lines.
    """

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self._caplog = caplog

    def written_now(self) -> list[str]:
        return [r.getMessage() for r in self._caplog.records if r.name == "visselpipa"]

    def end_of_day(self) -> list[str]:
        from app.held_log import held

        self._caplog.clear()
        held.flush()
        return self.written_now()


@pytest.fixture
def operator_log(caplog: pytest.LogCaptureFixture) -> Iterator[OperatorLog]:
    from app.held_log import held

    held.flush()  # what earlier tests left
    caplog.set_level("WARNING", logger="visselpipa")
    caplog.clear()
    yield OperatorLog(caplog)
    held.flush()
