"""Caps counted exactly under concurrency, and a version on every notice

Revision ID: 0007
Revises: 0006

- attempt_claim: one row per attempt at something capped (a sign-in step per account and per address, an
  export per user), claimed under a lock before the attempt is worked on, so parallel attempts cannot all pass
  a count taken before any of them was recorded. An attempt still in flight (outcome NULL) counts against
  the cap until it is finished.
- notice.version: moves on with every change of the notice, so a page can tell that the notice changed
  while someone was working on it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attempt_claim",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attempt_claim")),
    )
    # Each count reads one scope and key over a recent window.
    op.create_index("ix_attempt_claim_scope_key_at", "attempt_claim", ["scope", "key", "at"])
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.drop_column("version")
    op.drop_index("ix_attempt_claim_scope_key_at", table_name="attempt_claim")
    op.drop_table("attempt_claim")
