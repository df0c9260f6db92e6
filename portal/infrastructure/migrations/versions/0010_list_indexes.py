"""Indexes for paginated lists and the streamed register; a directory version for cached form choices (issue 11)

Revision ID: 0010
Revises: 0009

Every list is read a page at a time in (submitted_at, id) order within its scope, so each scope has an
index that ends in that order and a page is a short index range scan whatever the number of notices:
- notice (partnership_id, submitted_at, id): the business unit's list and the register export;
- notice (raised_by_id, submitted_at, id): a practitioner's home page;
- notice_recipient (agency_id, notice_id): a SPOC's home page (notices sent to the agency), index-only;
- notice_event (kind, notice_id): the register's chase counts, aggregated in one GROUP BY.
The overdue and due-this-week counts use ix_notice_stage_open_due and the (notice_id, stage) unique key.

partnership.directory_version moves on with every change to the partnership's agencies or contacts, made by
triggers so that no write can miss it (the import, `directory add-contact`, or SQL typed by hand): a worker
keeps the form's directory choices in memory and reloads them when the version it reads has moved.
"""

from __future__ import annotations

import sqlalchemy as sa
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


# The partnership a changed row belongs to, for each table that makes up a directory.
_OWNER = {
    "agency": "{row}.partnership_id",
    "directory_contact": "(SELECT partnership_id FROM agency WHERE agency.id = {row}.agency_id)",
}
_BUMP = "UPDATE partnership SET directory_version = directory_version + 1 WHERE id = {owner}"

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION {table}_directory_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        {bump_old};
    END IF;
    IF TG_OP <> 'DELETE' THEN
        {bump_new};
    END IF;
    RETURN NULL;
END;
$$
"""


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)
    with op.batch_alter_table("partnership") as batch:
        batch.add_column(sa.Column("directory_version", sa.Integer(), nullable=False, server_default="1"))
    dialect = op.get_bind().dialect.name
    for table, owner in _OWNER.items():
        if dialect == "sqlite":
            for operation, rows in (("INSERT", ("NEW",)), ("UPDATE", ("OLD", "NEW")), ("DELETE", ("OLD",))):
                bumps = "; ".join(_BUMP.format(owner=owner.format(row=row)) for row in rows)
                op.execute(
                    f"CREATE TRIGGER {table}_directory_version_{operation.lower()} AFTER {operation} ON {table} "
                    f"BEGIN {bumps}; END"
                )
        elif dialect == "postgresql":
            op.execute(
                PG_FUNCTION.format(
                    table=table,
                    bump_old=_BUMP.format(owner=owner.format(row="OLD")),
                    bump_new=_BUMP.format(owner=owner.format(row="NEW")),
                )
            )
            op.execute(
                f"CREATE TRIGGER {table}_directory_version AFTER INSERT OR UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {table}_directory_version()"
            )
        else:
            raise NotImplementedError(f"directory_version triggers are not implemented for {dialect}")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in _OWNER:
        if dialect == "sqlite":
            for operation in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_directory_version_{operation}")
        elif dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_directory_version ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_directory_version()")
    with op.batch_alter_table("partnership") as batch:
        batch.drop_column("directory_version")
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
