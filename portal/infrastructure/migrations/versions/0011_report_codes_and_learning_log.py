"""Codes that reports count, the days they count by, and the learning log

Revision ID: 0011
Revises: 0010

- notice_category: one row per notice and partnership code list (a level of need, a reason, an area) with the
  common theme it maps to. Plain: a category is neither a child identifier nor narrative (docs/categories.md).
- notice.outcome_code, debrief_held, learning_flagged: recorded at closure; NULL on a notice closed before
  ("not recorded").
- notice.opened_on, closed_on and notice_stage.ended_on: the days in England reports count by. Filled for
  existing rows from the entry stage's start day and the UTC day of the timestamps.
- learning_item: a general issue flagged at closure, assigned to a group with an action and a status.
- Indexes for the reports, which read one partnership's notices over a range of days.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notice_category",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.String(length=36), nullable=False),
        sa.Column("list_field", sa.String(length=40), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("common_code", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["notice_id"], ["notice.id"], name=op.f("fk_notice_category_notice_id_notice")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_category")),
        sa.UniqueConstraint("notice_id", "list_field", name=op.f("uq_notice_category_notice_id")),
    )
    op.create_index(op.f("ix_notice_category_notice_id"), "notice_category", ["notice_id"])
    op.create_table(
        "learning_item",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("notice_id", sa.String(length=36), nullable=False),
        sa.Column("partnership_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("assigned_to", sa.String(length=200), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["notice_id"], ["notice.id"], name=op.f("fk_learning_item_notice_id_notice")),
        sa.ForeignKeyConstraint(
            ["partnership_id"], ["partnership.id"], name=op.f("fk_learning_item_partnership_id_partnership")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["staff_user.id"], name=op.f("fk_learning_item_updated_by_id_staff_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_item")),
        sa.UniqueConstraint("notice_id", name=op.f("uq_learning_item_notice_id")),
    )
    op.create_index(op.f("ix_learning_item_partnership_id"), "learning_item", ["partnership_id"])
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outcome_code", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("debrief_held", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("learning_flagged", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("opened_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("closed_on", sa.Date(), nullable=True))
    with op.batch_alter_table("notice_stage", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ended_on", sa.Date(), nullable=True))
    op.execute(
        "UPDATE notice SET opened_on = (SELECT min(s.started_on) FROM notice_stage s WHERE s.notice_id = notice.id)"
    )
    # The UTC day of a timestamp: SQLite has no DATE type to cast to, only its date() function.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("UPDATE notice SET opened_on = date(submitted_at) WHERE opened_on IS NULL")
        op.execute("UPDATE notice SET closed_on = date(closed_at) WHERE closed_at IS NOT NULL")
        op.execute("UPDATE notice_stage SET ended_on = date(ended_at) WHERE ended_at IS NOT NULL")
    else:
        op.execute("UPDATE notice SET opened_on = CAST(submitted_at AS DATE) WHERE opened_on IS NULL")
        op.execute("UPDATE notice SET closed_on = CAST(closed_at AS DATE) WHERE closed_at IS NOT NULL")
        op.execute("UPDATE notice_stage SET ended_on = CAST(ended_at AS DATE) WHERE ended_at IS NOT NULL")
    # Reports read one partnership's notices raised, or closed, over a range of days.
    op.create_index("ix_notice_partnership_opened", "notice", ["partnership_id", "opened_on"])
    op.create_index("ix_notice_partnership_closed", "notice", ["partnership_id", "closed_on"])


def downgrade() -> None:
    op.drop_index("ix_notice_partnership_closed", table_name="notice")
    op.drop_index("ix_notice_partnership_opened", table_name="notice")
    with op.batch_alter_table("notice_stage", schema=None) as batch_op:
        batch_op.drop_column("ended_on")
    with op.batch_alter_table("notice", schema=None) as batch_op:
        for name in ("closed_on", "opened_on", "learning_flagged", "debrief_held", "outcome_code"):
            batch_op.drop_column(name)
    op.drop_index(op.f("ix_learning_item_partnership_id"), table_name="learning_item")
    op.drop_table("learning_item")
    op.drop_index(op.f("ix_notice_category_notice_id"), table_name="notice_category")
    op.drop_table("notice_category")
