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
    newest_head,
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
from caseflow.store.heads import HeadInvalid, TreeHead, head_from_fields, parse_head
from caseflow.store.merkle import ProofFailed, leaf_hash, verify_consistency, verify_inclusion
from caseflow.store.tree import TreeIncomplete, consistency_proof, inclusion_proof

__all__ = [
    "CHECKPOINT_STREAM",
    "GENESIS",
    "HeadInvalid",
    "ChainBroken",
    "Checkpoint",
    "ConcurrencyConflict",
    "EventStore",
    "LogReport",
    "ProofFailed",
    "NewEvent",
    "RecordedEvent",
    "SchemaNotCurrent",
    "StoreError",
    "StoreUnavailable",
    "TreeHead",
    "TreeIncomplete",
    "VerifyReport",
    "alembic_config",
    "checkpoint_if_due",
    "consistency_proof",
    "newest_checkpoint",
    "create_engine",
    "event_hash",
    "events_table",
    "head_from_fields",
    "head_revision",
    "inclusion_proof",
    "leaf_hash",
    "migrate",
    "newest_head",
    "parse_head",
    "pending_migrations",
    "require_current_schema",
    "schema_revision",
    "sign_checkpoint",
    "verify_chain",
    "verify_consistency",
    "verify_inclusion",
    "verify_log",
]
