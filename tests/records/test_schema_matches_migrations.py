"""The tables the code declares are exactly the tables the migrations build, on both databases.

A column or index added to ``records/schema.py`` without a migration (or the other way round)
would work in tests that create tables from the code and fail on a real upgraded database.
"""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from records.database import upgrade
from records.schema import Base

VERSION_TABLE = "icpc_record_version"


def _differences(url: str) -> list[Any]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            found = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    # The migrations' own bookkeeping table is not one of the record's tables.
    return [
        d
        for d in found
        if not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name == VERSION_TABLE)
    ]


def test_the_upgraded_database_has_the_declared_tables_and_nothing_else(database_url: str) -> None:
    upgrade(database_url)
    assert _differences(database_url) == []
