"""A start with another tenant salt or signing key refuses, and says how to fix it.

Every receipt is derived with the tenant salt and every checkpoint and proof
is signed with the signing key: a deployment that starts with a different one
(a secrets.toml lost and written again, a typo in the environment) would
answer "no case found" to every reporter, or sign with a key nobody can
check. The database keeps a fingerprint of each; the app, ``serve`` and the
commands that use the secrets compare them before doing anything.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from app import create_app
from app.cli import main
from caseflow.store import create_engine
from caseflow.store.records import deployment_fingerprints_table
from config.settings import ConfigError, load_settings
from tests.functional.conftest import cli_env, make_settings

SECRETS = ("secret_key", "tenant_salt", "signing_seed")


def _same_secrets_but(deployment, **changed):
    kept = {
        "secret_key": deployment.settings.secret_key,
        "tenant_salt": deployment.settings.tenant_salt.hex(),
        "signing_seed": deployment.settings.signing_seed.hex(),
    }
    return make_settings(
        deployment.settings.database_url,
        deployment.settings.data_dir,
        **{**kept, **changed},
    )


def test_another_tenant_salt_refuses_to_start_and_names_the_fix(deployment):
    other = _same_secrets_but(deployment, tenant_salt=secrets.token_hex(16))
    with pytest.raises(ConfigError) as refused:
        create_app(other, {"TESTING": True})
    message = str(refused.value)
    assert "tenant_salt" in message
    assert "secrets.toml" in message and "backup" in message
    # The same secrets start as before.
    app = create_app(_same_secrets_but(deployment), {"TESTING": True})
    app.extensions["visselpipa.engine"].dispose()


def test_another_signing_key_refuses_to_start_and_names_the_fix(deployment):
    other = _same_secrets_but(deployment, signing_seed=secrets.token_hex(32))
    with pytest.raises(ConfigError) as refused:
        create_app(other, {"TESTING": True})
    message = str(refused.value)
    assert "signing_seed" in message
    assert "secrets.toml" in message and "backup" in message
    assert "tenant_salt" not in message


def test_init_records_fingerprints_and_never_the_secrets(database_url, tmp_path):
    data = tmp_path / "data"
    env = cli_env(database_url, data)
    assert CliRunner().invoke(main, ["init"], env=env).exit_code == 0
    settings = load_settings(environ=env)
    engine = create_engine(database_url)
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.select(deployment_fingerprints_table)).all())
    engine.dispose()
    assert set(rows) == {"tenant_salt", "signing_key"}
    stored = b"".join(bytes(v) for v in rows.values())
    assert settings.tenant_salt not in stored and settings.signing_seed not in stored
    assert settings.tenant_salt.hex().encode() not in stored


def _moved_secrets(data: Path, env: dict[str, str], **changed: str) -> dict[str, str]:
    """The environment after secrets.toml was lost and the secrets set again, wrongly."""
    settings = load_settings(environ=env)
    (data / "secrets.toml").rename(data / "secrets.toml.bak")
    values = {
        "secret_key": settings.secret_key,
        "tenant_salt": settings.tenant_salt.hex(),
        "signing_seed": settings.signing_seed.hex(),
        **changed,
    }
    return {**env, **{f"VISSELPIPA_{k.upper()}": v for k, v in values.items()}}


@pytest.mark.parametrize("command", [["tick"], ["checkpoint"], ["signing-key"], ["verify"]])
def test_commands_that_use_the_secrets_refuse_another_salt(database_url, tmp_path, command):
    data = tmp_path / "data"
    env = cli_env(database_url, data)
    assert CliRunner().invoke(main, ["init"], env=env).exit_code == 0
    wrong = _moved_secrets(data, env, tenant_salt=secrets.token_hex(16))
    result = CliRunner().invoke(main, command, env=wrong)
    assert result.exit_code != 0
    assert "tenant_salt" in result.output and "secrets.toml" in result.output
    again = CliRunner().invoke(main, ["init", "--if-missing"], env=wrong)
    assert again.exit_code != 0 and "tenant_salt" in again.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_refuses_another_signing_key_before_any_worker_starts(database_url, tmp_path):
    data = tmp_path / "data"
    env = cli_env(database_url, data)
    assert CliRunner().invoke(main, ["init"], env=env).exit_code == 0
    wrong = _moved_secrets(data, env, signing_seed=secrets.token_hex(32))
    command = shutil.which("visselpipa", path=str(Path(sys.executable).parent))
    assert command, "the visselpipa command is not installed in this environment"
    # A serve that did not refuse would run until the timeout kills it.
    done = subprocess.run(
        [command, "serve", "--port", str(_free_port()), "--workers", "1"],
        env={**os.environ, **wrong},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "signing_seed" in done.stderr and "secrets.toml" in done.stderr
