"""The business unit's desk: working days kept per stage, list sort indexes, repeat flags

Revision ID: 0013
Revises: 0012

- notice_stage.working_days: the working days a stage took (started_on to ended_on), kept when it ends so a
  year's report takes its medians over 100,000 stages in SQL. Filled here for the stages already ended, one
  calendar count per distinct (start, end) pair.
- ix_notice_partnership_reference: the business unit's list in order of reference, paged by keyset on
  (reference, id); newest and oldest first page from ix_notice_partnership_submitted, read either way.
- notice.repeat_child, repeat_pair: repeat escalations found at submit, for the business unit's list. NULL for
  notices raised before: the notice page sets repeat_child when the business unit opens one
  (docs/reports.md#repeats).
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from alembic import op

# The one calendar the clocks count by: the days a stage took are the same figure the report counted before.
from portal.domain.working_days import ENGLAND_AND_WALES_CALENDAR

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notice_stage", schema=None) as batch_op:
        batch_op.add_column(sa.Column("working_days", sa.Integer(), nullable=True))
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.add_column(sa.Column("repeat_child", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("repeat_pair", sa.Boolean(), nullable=True))
    op.create_index("ix_notice_partnership_reference", "notice", ["partnership_id", "reference", "id"])
    bind = op.get_bind()
    pairs = bind.execute(
        sa.text("SELECT DISTINCT started_on, ended_on FROM notice_stage WHERE ended_on IS NOT NULL")
    ).all()
    update = sa.text(
        "UPDATE notice_stage SET working_days = :days WHERE started_on = :started AND ended_on = :ended"
    ).bindparams(sa.bindparam("started", type_=sa.Date()), sa.bindparam("ended", type_=sa.Date()))
    for started, ended in pairs:
        started, ended = _day(started), _day(ended)
        days = ENGLAND_AND_WALES_CALENDAR.working_days_between(started, ended)
        bind.execute(update, {"days": days, "started": started, "ended": ended})


def _day(value: object) -> date:
    # SQLite hands a DATE column back as text.
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def downgrade() -> None:
    op.drop_index("ix_notice_partnership_reference", table_name="notice")
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.drop_column("repeat_pair")
        batch_op.drop_column("repeat_child")
    with op.batch_alter_table("notice_stage", schema=None) as batch_op:
        batch_op.drop_column("working_days")
