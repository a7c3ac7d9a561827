"""Threads of one process creating empty databases at once (a worker's activities each
opening the ledger's and the record's for the first time): all end current. Alembic keeps its
``op`` proxy process-wide, so without one migration at a time they pull it from each other."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from records.database import State, status, upgrade


def test_upgrades_in_several_threads_at_once_all_finish(tmp_path: Path) -> None:
    urls = [f"sqlite:///{tmp_path / f'db{n}.sqlite3'}" for n in range(16)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(upgrade, urls))
    assert [r.state for r in results] == [State.CURRENT] * len(urls)
    assert all(status(url).state == State.CURRENT for url in urls)
