"""Engines and migrations.

:func:`create_engine` builds an engine that behaves the same way on SQLite
(the embedded default) and PostgreSQL (production) where the event store
depends on it; :func:`migrate` brings a database to the newest schema with
Alembic, in code, without an ``alembic.ini``.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.resources import files
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

#: Execution option marking a connection that only reads. On SQLite such a
#: connection begins with a plain (deferred) ``BEGIN``: in WAL mode it reads a
#: consistent snapshot without taking the write lock, so long reads (replay,
#: chain verification) do not stall writers. Ignored on other databases.
READ_ONLY = "visselpipa_read_only"


def create_engine(url: str) -> Engine:
    """Create an engine for ``url`` (``sqlite:///…`` or ``postgresql+psycopg://…``).

    On SQLite every connection uses WAL, enforces foreign keys, waits up to
    30 s for a lock, and every transaction starts with ``BEGIN IMMEDIATE`` so
    that writers are serialised from their first statement (the event store
    relies on this to keep its hash chain linear).
    """
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = sa.create_engine(parsed, connect_args={"timeout": 30})
        _fix_sqlite_transactions(engine)
        return engine
    # pre_ping: app instances outlive PostgreSQL restarts and idle-connection
    # reaping by poolers; a dead pooled connection is replaced, not handed out.
    return sa.create_engine(parsed, pool_pre_ping=True)


def _fix_sqlite_transactions(engine: Engine) -> None:
    # The recipe of SQLAlchemy's SQLite docs ("Serializable isolation /
    # Savepoints / Transactional DDL"): pysqlite's own transaction handling
    # emits BEGIN late (not before SELECT or DDL), so SQLAlchemy takes over.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # pysqlite must not emit BEGIN itself
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")
        else:
            # IMMEDIATE takes the write lock at BEGIN: a deferred transaction
            # that read the chain head and then upgrades to write could find
            # the head moved (SQLITE_BUSY_SNAPSHOT) after doing its work.
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def read_only(conn: Connection) -> Connection:
    """Mark ``conn`` as read-only (see :data:`READ_ONLY`); returns ``conn``."""
    return conn.execution_options(**{READ_ONLY: True})


def _migrations_dir() -> str:
    # importlib.resources finds the package wherever it is installed; Alembic
    # needs a real directory, which a regular (non-zipped) install provides.
    return str(files("migrations"))


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration for ``engine``'s database, built in code.

    ``migrations/env.py`` connects through ``config.attributes["connection"]``
    when set, else through ``config.attributes["engine"]`` (set here).
    """
    config = Config()
    # ConfigParser interpolates '%': a path holding one must be escaped.
    config.set_main_option("script_location", _migrations_dir().replace("%", "%%"))
    config.attributes["engine"] = engine
    return config


def migrate(
    engine: Engine, revision: str = "head", *, attributes: Mapping[str, object] | None = None
) -> None:
    """Upgrade the database behind ``engine`` to ``revision``, in one transaction.

    ``attributes`` reach the revisions as ``context.config.attributes``:
    ``visselpipa init`` passes ``kdf_cost``, the cost the deployment runs
    with, which revision 0007 records on the rows made before it.
    """
    config = alembic_config(engine)
    config.attributes.update(attributes or {})
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
