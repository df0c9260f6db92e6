"""A draft keeps the reference its submit was given (issue 11)

Revision ID: 0015
Revises: 0014

A submit allocates its notice's reference in a short transaction of its own, before it renders and signs the
PDF that prints it, so the partnership's reference counter is no longer held while a PDF is made. The draft
keeps the reference it was given: a second click, a retry after a fault, or twenty submits of one draft at
once all use the one reference, and only a draft abandoned after a submit began leaves a gap in the numbers
(portal.services.references).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notice_draft") as batch:
        batch.add_column(sa.Column("reference", sa.String(length=30), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notice_draft") as batch:
        batch.drop_column("reference")
