"""Stored key-stretching parameters, and fingerprints of the deployment's secrets.

Revision ID: 0011
Revises: 0010

- ``reporter_index.kdf`` and ``staff.key_kdf``: the Argon2id cost each
  receipt tag and each wrapped staff key was derived with, as
  ``argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt role>``
  (``crypto.kdf.KdfCost.to_text``). Before this revision the cost lived
  only in the settings, so a changed setting made every existing receipt and
  staff key fail to open.
- ``deployment_fingerprints``: hashes of the tenant salt and of the signing
  key's public key (identity/deployment.py), filled by ``visselpipa init``
  or the first start after this upgrade.

**Which cost the existing rows get.** They were made with the cost the
deployment runs with, so that is what is recorded: ``visselpipa init``
passes its settings' cost (``migrate(..., attributes={"kdf_cost": ...})``);
run by ``alembic`` alone, this revision reads the settings the way the
application does (defaults, ``secrets.toml``, ``VISSELPIPA_CONFIG``,
``VISSELPIPA_KDF_*``). It does not record the shipped default blindly: a
deployment that tuned its cost would then have every row recorded wrongly.
The settings are read only when there are rows to fill.

**Why the columns carry a server default of ''.** SQLite adds a NOT NULL
column only with a default, and rebuilding ``staff`` in batch mode would
drop the table that ``desk_members`` refers to. The empty text is no cost
(``KdfCost.from_text`` refuses it), so a row written without a cost fails
loudly instead of opening with a guessed one. The models declare no default;
on PostgreSQL the default is dropped again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _deployment_cost() -> object:
    cost = context.config.attributes.get("kdf_cost")
    if cost is not None:
        return cost
    from config.settings import load_settings

    return load_settings(require_secrets=False).kdf


def upgrade() -> None:
    op.add_column(
        "reporter_index",
        sa.Column("kdf", sa.String(64), nullable=False, server_default=""),
    )
    op.add_column(
        "staff",
        sa.Column("key_kdf", sa.String(64), nullable=False, server_default=""),
    )
    op.create_index(op.f("ix_reporter_index_kdf"), "reporter_index", ["kdf"])
    op.create_table(
        "deployment_fingerprints",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("fingerprint", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_deployment_fingerprints")),
    )
    conn = op.get_bind()
    has_rows = any(
        conn.execute(sa.text(f"SELECT 1 FROM {table} LIMIT 1")).first() is not None
        for table in ("reporter_index", "staff")
    )
    if has_rows:
        cost = _deployment_cost()
        to_text = cost.to_text  # type: ignore[attr-defined]
        conn.execute(
            sa.text("UPDATE reporter_index SET kdf = :kdf"), {"kdf": to_text("tenant_salt")}
        )
        conn.execute(sa.text("UPDATE staff SET key_kdf = :kdf"), {"kdf": to_text("key_salt")})
    if conn.dialect.name == "postgresql":
        op.alter_column("reporter_index", "kdf", server_default=None)
        op.alter_column("staff", "key_kdf", server_default=None)


def downgrade() -> None:
    op.drop_table("deployment_fingerprints")
    op.drop_index(op.f("ix_reporter_index_kdf"), "reporter_index")
    # SQLite 3.35+ drops a column in place; batch mode would rebuild ``staff``.
    op.drop_column("reporter_index", "kdf")
    op.drop_column("staff", "key_kdf")
