"""Alembic environment for Visselpipa.

Where the database comes from, in order:

1. ``config.attributes["connection"]``: a connection already in a transaction
   (``caseflow.store.migrate`` passes one, so the upgrade is one transaction);
2. ``config.attributes["engine"]`` (``caseflow.store.alembic_config``);
3. the ``VISSELPIPA_DATABASE_URL`` environment variable (the ``alembic`` CLI).

Every table must be registered on ``caseflow.store.metadata.metadata``, which is
what ``alembic check`` compares with the database.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy.engine import Connection, Engine

import caseflow.store.blobs  # noqa: F401 - registers the sealed files' rows
import caseflow.store.data_subject_requests  # noqa: F401 - registers the request records
import caseflow.store.events  # noqa: F401 - registers the events table
import caseflow.store.notifications  # noqa: F401 - registers the mail digests
import caseflow.store.operations  # noqa: F401 - registers the job runs
import caseflow.store.projections  # noqa: F401 - registers the read models
import caseflow.store.publications  # noqa: F401 - registers the published figures
import caseflow.store.records  # noqa: F401 - registers the mutable tables
import caseflow.store.tree  # noqa: F401 - registers the Merkle tree's nodes
from caseflow.store.engine import create_engine
from caseflow.store.metadata import metadata

config = context.config
target_metadata = metadata


def _database_url() -> str:
    url = os.environ.get("VISSELPIPA_DATABASE_URL") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError(
            "no database to migrate: set VISSELPIPA_DATABASE_URL "
            "(e.g. sqlite:///visselpipa.sqlite3 or postgresql+psycopg://…)"
        )
    return url


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table.
        # A rebuild drops the table's triggers: a revision that alters
        # "events" on SQLite must create the append-only triggers again.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    url = _database_url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if isinstance(connection, Connection):
        _configure_and_run(connection)
        return
    engine = config.attributes.get("engine")
    owned = not isinstance(engine, Engine)
    if owned:
        engine = create_engine(_database_url())
    assert isinstance(engine, Engine)
    try:
        with engine.connect() as conn:
            _configure_and_run(conn)
    finally:
        if owned:
            engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
