"""Administration in the browser: a review-by date and a source per directory contact; audit look-ups

Revision ID: 0009
Revises: 0008

- directory_contact.review_by: when the entry is next checked, per contact (an agency's contacts are
  confirmed one by one). Filled from the agency's review date for the contacts already there.
- directory_contact.source: where the entry came from (the published document, or "entered by ..."), so a
  directory export says what the seed CSVs say.
- partnership.directory_managed_at: set when a partnership first changes its directory in the portal; from
  then on the seed import run by `init` leaves that directory alone.
- audit_event (actor_id, action, at): a user's history, and their last sign-in, without scanning the log.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("directory_contact", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_by", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("source", sa.String(length=300), nullable=False, server_default=""))
    with op.batch_alter_table("partnership", schema=None) as batch_op:
        batch_op.add_column(sa.Column("directory_managed_at", sa.DateTime(), nullable=True))
    op.execute(
        "UPDATE directory_contact SET review_by = "
        "(SELECT agency.review_due FROM agency WHERE agency.id = directory_contact.agency_id)"
    )
    op.create_index("ix_audit_event_actor_action_at", "audit_event", ["actor_id", "action", "at"])


def downgrade() -> None:
    op.drop_index("ix_audit_event_actor_action_at", table_name="audit_event")
    with op.batch_alter_table("partnership", schema=None) as batch_op:
        batch_op.drop_column("directory_managed_at")
    with op.batch_alter_table("directory_contact", schema=None) as batch_op:
        batch_op.drop_column("source")
        batch_op.drop_column("review_by")
