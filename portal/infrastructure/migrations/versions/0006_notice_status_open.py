"""A notice's status reads "open" rather than "sent"

Revision ID: 0006
Revises: 0005

Until now an open notice was stored as "sent", a word left from the walking skeleton; the portal now names its
statuses once (portal.domain.models.NoticeStatus) and an open notice is "open".
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE notice SET status = 'open' WHERE status = 'sent'")


def downgrade() -> None:
    op.execute("UPDATE notice SET status = 'sent' WHERE status = 'open'")
