"""Persistence for Visselpipa: the append-only event log, engines, migrations.

Other packages import from here, not from the modules inside.
"""

from __future__ import annotations

from caseflow.store.chain import VerifyReport, verify_chain
from caseflow.store.checkpoints import (
    CHECKPOINT_STREAM,
    Checkpoint,
    LogReport,
    checkpoint_if_due,
    newest_checkpoint,
    sign_checkpoint,
    verify_log,
)
from caseflow.store.engine import (
    alembic_config,
    create_engine,
    head_revision,
    migrate,
    pending_migrations,
    require_current_schema,
    schema_revision,
)
from caseflow.store.errors import (
    ChainBroken,
    ConcurrencyConflict,
    SchemaNotCurrent,
    StoreError,
    StoreUnavailable,
)
from caseflow.store.events import EventStore, NewEvent, RecordedEvent, events_table
from caseflow.store.hashing import GENESIS, event_hash

__all__ = [
    "CHECKPOINT_STREAM",
    "GENESIS",
    "ChainBroken",
    "Checkpoint",
    "ConcurrencyConflict",
    "EventStore",
    "LogReport",
    "NewEvent",
    "RecordedEvent",
    "SchemaNotCurrent",
    "StoreError",
    "StoreUnavailable",
    "VerifyReport",
    "alembic_config",
    "checkpoint_if_due",
    "newest_checkpoint",
    "create_engine",
    "event_hash",
    "events_table",
    "head_revision",
    "migrate",
    "pending_migrations",
    "require_current_schema",
    "schema_revision",
    "sign_checkpoint",
    "verify_chain",
    "verify_log",
]
