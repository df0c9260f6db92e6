"""Indexes for paginated lists and the streamed register (issue 11)

Revision ID: 0010
Revises: 0009

Every list is read a page at a time in (submitted_at, id) order within its scope, so each scope has an
index that ends in that order and a page is a short index range scan whatever the number of notices:
- notice (partnership_id, submitted_at, id): the business unit's list and the register export;
- notice (raised_by_id, submitted_at, id): a practitioner's home page;
- notice_recipient (agency_id, notice_id): a SPOC's home page (notices sent to the agency), index-only;
- notice_event (kind, notice_id): the register's chase counts, aggregated in one GROUP BY.
The overdue and due-this-week counts use ix_notice_stage_open_due and the (notice_id, stage) unique key.
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_notice_partnership_submitted", "notice", ["partnership_id", "submitted_at", "id"]),
    ("ix_notice_raised_by_submitted", "notice", ["raised_by_id", "submitted_at", "id"]),
    ("ix_notice_recipient_agency_notice", "notice_recipient", ["agency_id", "notice_id"]),
    ("ix_notice_event_kind_notice", "notice_event", ["kind", "notice_id"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
