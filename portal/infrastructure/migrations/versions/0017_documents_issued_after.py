"""PDF versions drawn after the change that issues them (issue 11)

Revision ID: 0017
Revises: 0016

Rendering and signing a version took about half of a submit, a response or an escalation. A change now
stores what the version prints (its context, sealed under the notice's data key) and the PDF is drawn after
it commits, by the mail worker or by the first reader, whichever comes first (portal.services.documents).
Until then pdf_ct is NULL; a partial index lists the versions still to draw.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notice_document") as batch:
        batch.alter_column("pdf_ct", existing_type=sa.LargeBinary(), nullable=True)
        batch.add_column(sa.Column("context_ct", sa.LargeBinary(), nullable=True))
    op.create_index(
        "ix_notice_document_to_issue",
        "notice_document",
        ["id"],
        postgresql_where=sa.text("pdf_ct IS NULL"),
        sqlite_where=sa.text("pdf_ct IS NULL"),
    )


def downgrade() -> None:
    # A version still to draw has no PDF to keep: it is drawn by `flask notices issue-pdfs` before downgrading.
    op.drop_index("ix_notice_document_to_issue", table_name="notice_document")
    with op.batch_alter_table("notice_document") as batch:
        batch.drop_column("context_ct")
        batch.alter_column("pdf_ct", existing_type=sa.LargeBinary(), nullable=False)
