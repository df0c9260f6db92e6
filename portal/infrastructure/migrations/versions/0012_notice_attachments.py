"""Evidence attached to a notice, and the SHA-256 of every signed version

Revision ID: 0012
Revises: 0011

- notice_attachment: one row per attached document, its name and content sealed under the notice's data key
  (re-encrypted by data-key rotation, deleted when the notice is shredded); its checked type, size and
  SHA-256 kept plain to list it on the notice and in the signed PDF.
- notice_document.sha256: the hash of each signed version as issued, for the public verify page.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notice_attachment",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("notice_id", sa.String(length=36), nullable=False),
        sa.Column("stage", sa.String(length=40), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("name_ct", sa.LargeBinary(), nullable=False),
        sa.Column("content_ct", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["notice_id"], ["notice.id"], name=op.f("fk_notice_attachment_notice_id_notice")),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"], ["staff_user.id"], name=op.f("fk_notice_attachment_uploaded_by_id_staff_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_attachment")),
    )
    op.create_index(op.f("ix_notice_attachment_notice_id"), "notice_attachment", ["notice_id"])
    with op.batch_alter_table("notice_document", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sha256", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_notice_document_sha256"), ["sha256"])


def downgrade() -> None:
    with op.batch_alter_table("notice_document", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notice_document_sha256"))
        batch_op.drop_column("sha256")
    op.drop_index(op.f("ix_notice_attachment_notice_id"), table_name="notice_attachment")
    op.drop_table("notice_attachment")
