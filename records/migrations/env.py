"""Alembic environment for the case record, run from ``records.database`` (no alembic.ini).

``records.database.upgrade`` hands over an open connection inside one transaction, so a
migration that fails leaves the database exactly as it was (on SQLite as on PostgreSQL).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from records.schema import Base

VERSION_TABLE = "icpc_record_version"

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run the case record migrations with `icpc db upgrade`")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table=VERSION_TABLE,
    transactional_ddl=True,
    render_as_batch=True,  # SQLite alters tables by copying them
)
with context.begin_transaction():
    context.run_migrations()
