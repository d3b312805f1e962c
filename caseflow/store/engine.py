"""Engines and migrations.

:func:`create_engine` builds an engine that behaves the same way on SQLite
(the embedded default) and PostgreSQL (production) where the event store
depends on it; :func:`migrate` brings a database to the newest schema with
Alembic, in code, without an ``alembic.ini``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib.resources import files
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from caseflow.store.errors import SchemaNotCurrent, StoreUnavailable

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
        _create_private(engine, parsed.database)
        return engine
    # pre_ping: app instances outlive PostgreSQL restarts and idle-connection
    # reaping by poolers; a dead pooled connection is replaced, not handed out.
    return sa.create_engine(parsed, pool_pre_ping=True)


def _create_private(engine: Engine, database: str | None) -> None:
    """Create a missing SQLite database file readable by its owner only (0600).

    SQLite would create it with the process's umask (usually 0644: readable
    by every local user); it creates the ``-wal`` and ``-shm`` files with the
    mode of the database file, so they are private too. An existing file is
    left as it is. In-memory and URI databases are not files we create.
    """
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = database

    @event.listens_for(engine, "do_connect")
    def _before_connect(*_args: Any) -> None:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError:
            # It exists (kept as it is), or its directory does not: SQLite's
            # own error says that better.
            return
        os.close(fd)


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


def schema_revision(engine: Engine) -> str | None:
    """The migration the database behind ``engine`` is at (None: no tables yet).

    Raises :class:`StoreUnavailable` when the database does not answer.
    """
    try:
        with engine.connect() as conn:
            heads = MigrationContext.configure(read_only(conn)).get_current_heads()
    except sa.exc.OperationalError as e:
        raise StoreUnavailable(f"the database did not answer ({type(e).__name__})") from e
    return heads[0] if heads else None


def head_revision(engine: Engine) -> str:
    """The newest migration this version of the code ships."""
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    assert head is not None  # the revisions form one line (a test keeps it so)
    return head


def pending_migrations(engine: Engine) -> list[str]:
    """The migrations ``migrate`` would apply, oldest first ([] when current).

    Raises :class:`SchemaNotCurrent` when the database is at a revision this
    code does not know (a newer version upgraded it), and
    :class:`StoreUnavailable` when it does not answer.
    """
    script = ScriptDirectory.from_config(alembic_config(engine))
    current = schema_revision(engine)
    head = script.get_current_head()
    assert head is not None
    if current == head:
        return []
    if current is not None and not _known(script, current):
        raise SchemaNotCurrent(current, head, known=False)
    steps = script.iterate_revisions(head, current or "base")
    return [r.revision for r in reversed(list(steps)) if r is not None]


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except CommandError:
        return False


def require_current_schema(engine: Engine) -> None:
    """Refuse (:class:`SchemaNotCurrent`) a database that is not at the head migration.

    The web app and ``visselpipa serve`` call it before serving: code that
    expects a column the database does not have would fail request by
    request instead of once, at the start, with the command to run.
    """
    pending = pending_migrations(engine)
    if pending:
        raise SchemaNotCurrent(schema_revision(engine), pending[-1])
