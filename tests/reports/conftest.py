"""The report tests' databases: SQLite, and a real, throwaway PostgreSQL 15 (tests/postgres.py);
and one simulated year shared by the tests that read it."""

from __future__ import annotations

from datetime import date, time

import pytest

from domain.calendar import london_instant
from procedures import load_all
from simulation.year import Simulation, simulate
from tests.postgres import postgres_server
from tests.records.conftest import database_url  # one fixture: each kind of database

__all__ = ["database_url", "postgres_server", "simulated_year"]

AS_OF = london_instant(date(2026, 11, 25), time(18))


@pytest.fixture(scope="session")
def simulated_year() -> Simulation:
    """About 1,500 strategy discussions in 2026, as at 25 November 2026 (seed 7)."""
    return simulate(1500, 2026, 7, [load_all()["bct-management-note"]], AS_OF)
