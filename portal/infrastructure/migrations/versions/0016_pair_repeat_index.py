"""An index for the repeat check on a pair of agencies at submit (issue 11)

Revision ID: 0016
Revises: 0015

A submit flags the third notice between one raising agency and one receiving agency within six months
(portal.services.repeats). It now asks only whether two others exist, and this index finds the raising
agency's notices over those six months without reading the partnership's: the check costs the same at 100
notices or 100,000.
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_notice_raising_agency_opened", "notice", ["raising_agency_id", "opened_on"])


def downgrade() -> None:
    op.drop_index("ix_notice_raising_agency_opened", table_name="notice")
