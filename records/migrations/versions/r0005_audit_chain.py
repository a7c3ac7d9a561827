"""The audit trail becomes a hash chain (``records.audit``): each row gets its sequence number,
the hash of the row before it and its own hash; the rows already there are chained in id order.
On PostgreSQL a trigger refuses every UPDATE, DELETE and TRUNCATE of ``audit_events``, whoever
the role (SQLite has no roles; there ``icpc audit verify`` is what shows an edit).

Revision ID: r0005
Revises: r0004
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from records.audit import GENESIS_HASH, row_hash
from records.schema import UtcDateTime

revision = "r0005"
down_revision = "r0004"
branch_labels = None
depends_on = None

_CHAIN_COLUMNS: dict[str, sa.types.TypeEngine[Any]] = {
    "seq": sa.Integer(),
    "previous_hash": sa.String(64),
    "row_hash": sa.String(64),
}
# The table as this revision knows it (not records.schema's, which later revisions may change).
_ROWS = sa.table(
    "audit_events",
    sa.column("id", sa.Integer()),
    sa.column("at", UtcDateTime()),  # read back as the code reads it, so the hashes agree
    *(sa.column(name) for name in ("actor", "actor_role", "action", "outcome", "channel")),
    *(sa.column(name) for name in ("case_id", "target", "address", "detail")),
    *(sa.column(name, kind) for name, kind in _CHAIN_COLUMNS.items()),
)
_PAGE = 1000

_APPEND_ONLY_FUNCTION = """
CREATE FUNCTION icpc_audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % on audit_events refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""
# FOR EACH STATEMENT: refused even when no row matches, and TRUNCATE has no rows to fire on.
_APPEND_ONLY_TRIGGER = """
CREATE TRIGGER audit_events_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION icpc_audit_events_append_only()
"""


def upgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        for name, kind in _CHAIN_COLUMNS.items():
            batch.add_column(sa.Column(name, kind, nullable=True))
    _chain_the_rows_already_there()
    with op.batch_alter_table("audit_events") as batch:
        for name, kind in _CHAIN_COLUMNS.items():
            batch.alter_column(name, existing_type=kind, nullable=False)
        batch.create_index("uq_audit_events_seq", ["seq"], unique=True)
    if op.get_context().dialect.name == "postgresql":
        op.execute(_APPEND_ONLY_FUNCTION)
        op.execute(_APPEND_ONLY_TRIGGER)


def _chain_the_rows_already_there() -> None:
    connection = op.get_bind()
    update = (
        sa.update(_ROWS)
        .where(_ROWS.c.id == sa.bindparam("row_id"))
        .values(
            seq=sa.bindparam("new_seq"),
            previous_hash=sa.bindparam("new_previous_hash"),
            row_hash=sa.bindparam("new_row_hash"),
        )
    )
    seq, previous, last_id = 0, GENESIS_HASH, None
    while True:  # a page at a time: a trail kept for years may be long
        query = sa.select(_ROWS).order_by(_ROWS.c.id).limit(_PAGE)
        if last_id is not None:
            query = query.where(_ROWS.c.id > last_id)
        rows = connection.execute(query).mappings().all()
        if not rows:
            return
        changes = []
        for row in rows:
            seq += 1
            chained = {**row, "seq": seq, "previous_hash": previous}
            previous = row_hash(chained)
            changes.append(
                {
                    "row_id": row["id"],
                    "new_seq": seq,
                    "new_previous_hash": chained["previous_hash"],
                    "new_row_hash": previous,
                }
            )
        connection.execute(update, changes)
        last_id = rows[-1]["id"]


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION icpc_audit_events_append_only()")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_index("uq_audit_events_seq")
        for name in _CHAIN_COLUMNS:
            batch.drop_column(name)
