"""Directory contacts added by hand survive a re-import of the seeds

Revision ID: 0005
Revises: 0004

directory_contact.from_seed: true for a contact read from a partnership's seed, false for one added with
`directory add-contact` (Trafford and Pan Cheshire publish no SPOC list). A seed import deactivates only
seed contacts that have left their seed, so `init`, run on every deployment, no longer switches off the
contacts a partnership added.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("directory_contact", schema=None) as batch_op:
        batch_op.add_column(sa.Column("from_seed", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("directory_contact", schema=None) as batch_op:
        batch_op.drop_column("from_seed")
