"""Notices move through their procedure's stages: stage records, deadlines, chasers, copies

Revision ID: 0003
Revises: 0002

- notice_stage: one row per stage a notice has been at, with its start, due date (from the procedure
  version the notice was opened under), acknowledgement, response, end and the overdue period last chased.
- notice.concern_date ("Day 1" of Pan Cheshire's clocks) and notice.closed_at.
- notice_recipient.stage and notice_event.stage: who each stage went to, and which stage an event is about.
- notice_document.copy: the parties' full copy, or the partnership's pseudonymous copy (Trafford), per version.
- audit_event(action, at): the sign-in throttle counts recent failures by action.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notice_stage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.String(length=36), nullable=False),
        sa.Column("stage", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("entered_at", sa.DateTime(), nullable=False),
        sa.Column("entered_by_id", sa.Integer(), nullable=True),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("start_by", sa.Date(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("agreed_due_on", sa.Date(), nullable=True),
        sa.Column("skipped_from", sa.String(length=40), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(), nullable=True),
        sa.Column("acknowledged_by_id", sa.Integer(), nullable=True),
        sa.Column("responded_at", sa.DateTime(), nullable=True),
        sa.Column("responded_by_id", sa.Integer(), nullable=True),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("last_chased_period", sa.Date(), nullable=True),
        sa.Column("chase_count", sa.Integer(), nullable=False, server_default="0"),
        sa.ForeignKeyConstraint(["notice_id"], ["notice.id"], name=op.f("fk_notice_stage_notice_id_notice")),
        sa.ForeignKeyConstraint(
            ["entered_by_id"], ["staff_user.id"], name=op.f("fk_notice_stage_entered_by_id_staff_user")
        ),
        sa.ForeignKeyConstraint(
            ["acknowledged_by_id"], ["staff_user.id"], name=op.f("fk_notice_stage_acknowledged_by_id_staff_user")
        ),
        sa.ForeignKeyConstraint(
            ["responded_by_id"], ["staff_user.id"], name=op.f("fk_notice_stage_responded_by_id_staff_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_stage")),
        sa.UniqueConstraint("notice_id", "stage", name=op.f("uq_notice_stage_notice_id")),
    )
    with op.batch_alter_table("notice_stage", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notice_stage_notice_id"), ["notice_id"], unique=False)
        # The chaser and the business unit's list look for open stages by due date.
        batch_op.create_index("ix_notice_stage_open_due", ["ended_at", "due_on"], unique=False)

    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.add_column(sa.Column("concern_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(), nullable=True))

    with op.batch_alter_table("notice_recipient", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stage", sa.String(length=40), nullable=True))

    with op.batch_alter_table("notice_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stage", sa.String(length=40), nullable=True))

    with op.batch_alter_table("notice_document", schema=None) as batch_op:
        batch_op.add_column(sa.Column("copy", sa.String(length=20), nullable=False, server_default="full"))
        batch_op.drop_constraint("uq_notice_document_notice_id", type_="unique")
        batch_op.create_unique_constraint("uq_notice_document_notice_id", ["notice_id", "version", "copy"])

    # Not through batch mode: on SQLite that could rebuild audit_event and drop 0002's triggers.
    op.create_index("ix_audit_event_action_at", "audit_event", ["action", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_audit_event_action_at", table_name="audit_event")
    with op.batch_alter_table("notice_document", schema=None) as batch_op:
        batch_op.drop_constraint("uq_notice_document_notice_id", type_="unique")
        batch_op.create_unique_constraint("uq_notice_document_notice_id", ["notice_id", "version"])
        batch_op.drop_column("copy")
    with op.batch_alter_table("notice_event", schema=None) as batch_op:
        batch_op.drop_column("stage")
    with op.batch_alter_table("notice_recipient", schema=None) as batch_op:
        batch_op.drop_column("stage")
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.drop_column("closed_at")
        batch_op.drop_column("concern_date")
    with op.batch_alter_table("notice_stage", schema=None) as batch_op:
        batch_op.drop_index("ix_notice_stage_open_due")
        batch_op.drop_index(batch_op.f("ix_notice_stage_notice_id"))
    op.drop_table("notice_stage")
