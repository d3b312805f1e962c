"""Fixtures shared by the whole suite.

Databases: every test that asks for ``database_url`` runs on SQLite and, when
``TEST_DATABASE_URL`` names a PostgreSQL server, on PostgreSQL as well; each
PostgreSQL test gets a database of its own that is dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from crypto.kdf import KdfCost

#: Argon2id at the smallest cost the library allows: the tests exercise the
#: same code path as production without paying for it (see test_kdf for the
#: check that the production defaults stay strong). Settings refuse a cost
#: below crypto.kdf.MINIMUM_COST unless ``insecure_test_kdf`` is set, which
#: the functional fixtures (tests/functional/conftest.py) do.
CHEAP_KDF = KdfCost(time_cost=1, memory_kib=8, parallelism=1)


@pytest.fixture
def cheap_kdf() -> KdfCost:
    return CHEAP_KDF


def _postgres_server_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL") or None


def _backends() -> list[object]:
    return [
        "sqlite",
        pytest.param(
            "postgresql",
            marks=pytest.mark.skipif(
                _postgres_server_url() is None,
                reason="TEST_DATABASE_URL is not set: PostgreSQL tests run in CI (.ci/run sets it)",
            ),
        ),
    ]


@pytest.fixture(params=_backends())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a file on SQLite, a new database on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'visselpipa.sqlite3'}"
        return
    yield from _fresh_postgres_database()


def _fresh_postgres_database() -> Iterator[str]:
    import sqlalchemy as sa

    server = sa.make_url(_postgres_server_url() or "")
    name = f"vp_test_{secrets.token_hex(6)}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[object]:
    """An engine on a fresh database migrated to the newest revision."""
    from caseflow.store import create_engine, migrate

    eng = create_engine(database_url)
    migrate(eng)
    try:
        yield eng
    finally:
        eng.dispose()
