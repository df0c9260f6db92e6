"""Blind-index search and crypto-shredding at the end of retention

Revision ID: 0004
Revises: 0003

- notice_blind_index: truncated keyed hashes of a notice's NHS number, and of its surname with date of birth,
  one row per notice, kind and blind-index key version (docs/threats.md#properties: 8 and 9). The CHECK
  keeps out any other kind, a date-of-birth-only index in particular.
- notice.shredded_at: when the notice's data key was destroyed at the end of its retention
  (docs/threats.md#property-10).
- notice.legal_hold (+ reason, who, when): a hold that stops shredding.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notice_blind_index",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('nhs_number', 'surname_dob')", name=op.f("ck_notice_blind_index_kind")),
        sa.ForeignKeyConstraint(["notice_id"], ["notice.id"], name=op.f("fk_notice_blind_index_notice_id_notice")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_blind_index")),
        sa.UniqueConstraint("notice_id", "kind", "key_version", name=op.f("uq_notice_blind_index_notice_id")),
    )
    # Search looks values up by kind and key version (the unique constraint serves lookups by notice).
    op.create_index("ix_notice_blind_index_lookup", "notice_blind_index", ["kind", "key_version", "value"])

    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shredded_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("legal_hold", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("legal_hold_reason", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("legal_hold_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("legal_hold_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.drop_column("legal_hold_at")
        batch_op.drop_column("legal_hold_by")
        batch_op.drop_column("legal_hold_reason")
        batch_op.drop_column("legal_hold")
        batch_op.drop_column("shredded_at")
    op.drop_index("ix_notice_blind_index_lookup", table_name="notice_blind_index")
    op.drop_table("notice_blind_index")
