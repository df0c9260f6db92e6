"""audit_event is append-only at the database, and its chain cannot fork

Revision ID: 0002
Revises: 0001

- UPDATE and DELETE on audit_event are refused by triggers (SQLite: RAISE(ABORT); PostgreSQL: a trigger
  function raising insufficient_privilege), whatever code or SQL issues them. Only INSERT remains.
- prev_hash becomes UNIQUE: two entries can never extend the same predecessor, even if a writer skipped
  the application's append lock.

TRUNCATE is deliberately NOT blocked on PostgreSQL. A trigger cannot stop a database administrator (who
can disable triggers) from cutting the log short anyway; what catches a cut-off tail is the head exported
outside the database (`flask --app portal audit export-head`) and `audit verify --anchor`. The test
suite's per-test cleanup also truncates every table.

In production, also take the privileges away from the application's role, so an attempt is refused with
"permission denied" before any trigger runs (role names are deployment-specific, so not done here):

    REVOKE UPDATE, DELETE, TRUNCATE ON audit_event FROM portal_app;
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SQLITE_TRIGGERS = {
    "audit_event_no_update": "UPDATE",
    "audit_event_no_delete": "DELETE",
}

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_event is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Audit entries are only ever added; see portal/services/audit.py.';
END;
$$
"""


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    # On SQLite, batch mode copies the table to add the constraint: do it before creating the triggers.
    with op.batch_alter_table("audit_event") as batch:
        batch.create_unique_constraint(op.f("uq_audit_event_prev_hash"), ["prev_hash"])
    if dialect == "sqlite":
        for name, operation in SQLITE_TRIGGERS.items():
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {operation} ON audit_event "
                f"BEGIN SELECT RAISE(ABORT, 'audit_event is append-only ({operation} refused)'); END"
            )
    elif dialect == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
            "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()"
        )
    else:
        raise NotImplementedError(f"append-only audit_event is not implemented for {dialect}")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
    with op.batch_alter_table("audit_event") as batch:
        batch.drop_constraint(op.f("uq_audit_event_prev_hash"), type_="unique")
