"""Evidence attached to a draft, before the notice is sent

Revision ID: 0014
Revises: 0013

- notice_attachment.draft_id: evidence attached while the notice is still a draft belongs to the draft (and is
  deleted with it); on submit it moves to the notice, which keeps the draft's id, so the ciphertext's binding
  (``<notice id>/<attachment id>``) holds unchanged. notice_id becomes nullable; exactly one of the two is set.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notice_attachment", schema=None) as batch_op:
        batch_op.alter_column("notice_id", existing_type=sa.String(length=36), nullable=True)
        batch_op.add_column(sa.Column("draft_id", sa.String(length=36), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_notice_attachment_draft_id_notice_draft"), "notice_draft", ["draft_id"], ["id"]
        )
        batch_op.create_index(batch_op.f("ix_notice_attachment_draft_id"), ["draft_id"])
        batch_op.create_check_constraint(
            batch_op.f("ck_notice_attachment_one_owner"), "(notice_id IS NULL) <> (draft_id IS NULL)"
        )


def downgrade() -> None:
    # Evidence on unsent drafts has nowhere to go in the old shape: it is deleted (as deleting the draft would).
    op.execute("DELETE FROM notice_attachment WHERE notice_id IS NULL")
    with op.batch_alter_table("notice_attachment", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_notice_attachment_one_owner"), type_="check")
        batch_op.drop_index(batch_op.f("ix_notice_attachment_draft_id"))
        batch_op.drop_constraint(batch_op.f("fk_notice_attachment_draft_id_notice_draft"), type_="foreignkey")
        batch_op.drop_column("draft_id")
        batch_op.alter_column("notice_id", existing_type=sa.String(length=36), nullable=False)
