"""Upgrades: `visselpipa migrate` applies what is pending; nothing serves a stale schema.

A database is built at an older revision with the project's own migrations
(as a deployment of an earlier version left it), with desks and a report
in it. The app factory and `visselpipa serve` refuse it and name the
command; `visselpipa migrate` brings it to the head; then it serves and the
report is still there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa
from alembic import command
from click.testing import CliRunner

from app import create_app
from app.cli import main
from caseflow.store import (
    SchemaNotCurrent,
    alembic_config,
    create_engine,
    head_revision,
    migrate,
    pending_migrations,
    schema_revision,
)
from caseflow.store.projections import case_index_table
from tests.functional.conftest import HttpsClient, cli_env, make_settings
from tests.live_server import REPO_ROOT, _free_port

#: The head migration of the release before this one: databases in the field are at it.
PREVIOUS_RELEASE_HEAD = "0006"


def _env(database_url, data_dir, settings) -> dict[str, str]:
    return {
        **cli_env(database_url, data_dir),
        "VISSELPIPA_SECRET_KEY": settings.secret_key,
        "VISSELPIPA_TENANT_SALT": settings.tenant_salt.hex(),
        "VISSELPIPA_SIGNING_SEED": settings.signing_seed.hex(),
        "VISSELPIPA_KDF_TIME_COST": str(settings.kdf.time_cost),
        "VISSELPIPA_KDF_MEMORY_KIB": str(settings.kdf.memory_kib),
        "VISSELPIPA_KDF_PARALLELISM": str(settings.kdf.parallelism),
    }


@pytest.fixture
def old_deployment(database_url, tmp_path):
    """A deployment of the previous release: its schema, its desks, one report, as the
    code at 0006 wrote them (tests/data/deployment_0006.json; today's code would also
    write the columns and tables of the later migrations)."""
    from tests.functional.test_kdf_parameters import SNAPSHOT, _load_snapshot

    snapshot = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert snapshot["revision"] == PREVIOUS_RELEASE_HEAD
    settings = make_settings(database_url, tmp_path / "data", **snapshot["settings"])
    engine = create_engine(database_url)
    migrate(engine, PREVIOUS_RELEASE_HEAD)
    _load_snapshot(engine, snapshot["tables"])
    yield settings, engine
    engine.dispose()


def _cases(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(case_index_table)).scalar()


def test_the_previous_release_is_refused_then_migrated_then_served(old_deployment, tmp_path):
    settings, engine = old_deployment
    assert head_revision(engine) != PREVIOUS_RELEASE_HEAD, "a new migration exists to apply"
    with pytest.raises(SchemaNotCurrent, match=r"at migration 0006.*run `visselpipa migrate`"):
        create_app(settings, {"TESTING": True})

    env = _env(settings.database_url, settings.data_dir, settings)
    served = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(_free_port()), "--workers", "1"],
        cwd=REPO_ROOT,
        env={**_clean_environ(), **env},
        capture_output=True,
        text=True,
        timeout=60,  # a serve that did not refuse would still be running: a failure
    )
    assert served.returncode != 0
    assert "visselpipa migrate" in served.stderr and "0006" in served.stderr

    runner = CliRunner()
    result = runner.invoke(main, ["migrate"], env=env)
    assert result.exit_code == 0, result.output
    assert f"migrated from 0006 to {head_revision(engine)}" in result.output
    assert schema_revision(engine) == head_revision(engine) and pending_migrations(engine) == []
    assert "up to date" in runner.invoke(main, ["migrate"], env=env).output

    app = create_app(settings, {"TESTING": True})
    app.test_client_class = HttpsClient
    try:
        assert app.test_client().get("/report").status_code == 200
    finally:
        app.extensions["visselpipa.engine"].dispose()
    assert _cases(engine) == 1  # the report survived the upgrade


def _clean_environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("VISSELPIPA_")}


@pytest.mark.parametrize("revision", ["0001", "0002", "0003", "0004", "0005"])
def test_every_older_revision_migrates_to_the_head(revision, tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    settings = make_settings(url, tmp_path / "data")
    engine = create_engine(url)
    try:
        migrate(engine, revision)
        assert pending_migrations(engine)[0] == f"{int(revision) + 1:04d}"
        result = CliRunner().invoke(main, ["migrate"], env=_env(url, settings.data_dir, settings))
        assert result.exit_code == 0, result.output
        assert schema_revision(engine) == head_revision(engine)
    finally:
        engine.dispose()


def test_an_empty_database_is_refused_with_init_named(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    settings = make_settings(url, tmp_path / "data")
    with pytest.raises(SchemaNotCurrent, match="run `visselpipa init`"):
        create_app(settings, {"TESTING": True})
    result = CliRunner().invoke(main, ["migrate"], env=_env(url, settings.data_dir, settings))
    assert result.exit_code == 1 and "visselpipa init" in result.output


def test_a_database_from_a_newer_version_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'newer.sqlite3'}"
    settings = make_settings(url, tmp_path / "data")
    engine = create_engine(url)
    try:
        migrate(engine)
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0999'")
    finally:
        engine.dispose()
    with pytest.raises(SchemaNotCurrent, match="0999, which this version of Visselpipa does not"):
        create_app(settings, {"TESTING": True})
    result = CliRunner().invoke(main, ["migrate"], env=_env(url, settings.data_dir, settings))
    assert result.exit_code == 1 and "newer version" in result.output


def test_a_database_that_does_not_answer_does_not_stop_the_factory(tmp_path):
    # PostgreSQL on a port nobody listens on: the app starts and answers for
    # itself when the database is back (503 handling is per request).
    port = _free_port()
    settings = make_settings(
        f"postgresql+psycopg://nobody@127.0.0.1:{port}/none?connect_timeout=2",
        tmp_path / "data",
    )
    app = create_app(settings, {"TESTING": True})
    app.extensions["visselpipa.engine"].dispose()


def test_migrate_moves_the_sealed_files_of_0011_into_the_database(deployment, client, monkeypatch):
    import io

    from caseflow.store import blobs as blob_store
    from tests.functional.blobs import stored_blob, stored_blob_ids
    from tests.functional.pages import submit_report
    from tests.functional.test_attachment_checks import _stored_file

    monkeypatch.setattr(blob_store, "ROW_BYTES", 65536)  # the upload's rows: several
    contents = b"Anbud inkom 2026-03-04 kl 09.12 och oppnades samma kvall.\n" * 3000
    status, _page = submit_report(client, files=(io.BytesIO(contents), "anbud.txt"))
    assert status == 200
    described, stored = _stored_file(deployment)
    assert stored == contents
    engine, settings = deployment.engine, deployment.settings
    # The layout 0011 left: each sealed file under <data_dir>/blobs, an orphan
    # of a failed request beside it.
    (file_id,) = stored_blob_ids(engine)
    blobs = settings.data_dir / "blobs"
    blobs.mkdir()
    (blobs / file_id).write_bytes(stored_blob(engine, file_id))
    (blobs / ("f" * 32)).write_bytes(b"an orphan")
    # Back to 0012 by the migrations' own downgrades (the later ones), then 0011's tables.
    command.downgrade(alembic_config(engine), "0012")
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE blob_chunks")
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0011'")

    # Alembic alone does not know where the files are: it refuses, changing nothing.
    with pytest.raises(RuntimeError, match="visselpipa migrate"):
        migrate(engine)
    assert schema_revision(engine) == "0011"

    result = CliRunner().invoke(
        main, ["migrate"], env=_env(settings.database_url, settings.data_dir, settings)
    )
    assert result.exit_code == 0, result.output
    assert "moved 1 sealed files" in result.output
    assert not blobs.exists()  # nothing of a file is a file any more
    assert stored_blob_ids(engine) == [file_id]
    assert _stored_file(deployment) == (described, stored)


def test_0013_fills_the_last_activity_day_as_a_rebuild_would(old_deployment):
    """The day 0013 reads from the log is the day the projector derives from the events."""
    from caseflow.service.projections import Projections

    settings, engine = old_deployment
    migrate(engine)
    t = case_index_table
    with engine.connect() as conn:
        migrated = dict(conn.execute(sa.select(t.c.case_id, t.c.last_activity_on)).all())
    assert migrated and all(day is not None for day in migrated.values())
    Projections(settings.rules).rebuild(engine)
    with engine.connect() as conn:
        rebuilt = dict(conn.execute(sa.select(t.c.case_id, t.c.last_activity_on)).all())
    assert migrated == rebuilt
