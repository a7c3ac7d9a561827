"""Sign-in protection across real web processes: two ``icpc web`` processes share one database;
40 wrong guesses sent to them at once lock the account in both, the right password is then
refused with a message that says when to try again, a restarted process still refuses it, and
``icpc users unlock`` (an administrator, through the service) lets the person in again. The
audit trail has every failure and exactly one lockout.

Every name here is invented.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from records.audit import Action, AuditLog
from records.database import make_engine
from records.people import PeopleStore
from tests.conftest import free_port
from tests.web.web_helpers import PASSWORD, accounts_database, csrf_token

PEOPLE = (
    ("hal.head", "area_head_of_service", PASSWORD, "Hal Example"),
    ("ada.admin", "admin", PASSWORD, "Ada Example"),
)
GUESSES = 40


def environment(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "ICPC_DATABASE_URL": url,
        "ICPC_WEB_SECRET": "test-secret-" + "y" * 40,
        "ICPC_WEB_SIGNIN_DELAY": "0.05",
        "ICPC_PAYLOAD_ENCRYPTION": "off",
        "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",  # never reached by these pages
    }


@contextmanager
def web_process(url: str, folder: Path) -> Iterator[str]:
    """``icpc web`` on a free port, until the block ends."""
    port = free_port()
    log = folder / f"web-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "starters.cli", "web", "--port", str(port)],
            cwd=folder,
            env=environment(url),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"icpc web did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def try_password(base: str, password: str) -> httpx.Response:
    """One sign-in, from a browser of its own (its own pre-sign-in cookie and token)."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        page = await http.get("/sign-in")
        return await http.post(
            "/sign-in",
            data={"user": "hal.head", "password": password, "csrf_token": csrf_token(page.text)},
        )


async def test_parallel_guesses_lock_the_account_in_every_process_and_after_a_restart(
    tmp_path: Path,
) -> None:
    url = accounts_database(tmp_path / "shared", PEOPLE)
    with web_process(url, tmp_path) as first, web_process(url, tmp_path) as second:
        answers = await asyncio.gather(
            *(
                try_password(first if n % 2 else second, f"wrong guess number {n}")
                for n in range(GUESSES)
            )
        )
        assert {a.status_code for a in answers} <= {400, 429}
        assert sum(a.status_code == 429 for a in answers) >= 1  # the last ones hear of the lock
        for base in (first, second):
            refused = await try_password(base, PASSWORD)
            assert refused.status_code == 429, refused.text
            assert "too many failed sign-ins for this sign-in id" in refused.text
            assert "Try again after" in refused.text
            assert "ask an administrator to unlock it" in refused.text

    with web_process(url, tmp_path) as restarted:  # nothing is kept in a process's memory
        assert (await try_password(restarted, PASSWORD)).status_code == 429
        engine = make_engine(url)
        try:
            admin = PeopleStore(engine).issue_token("ada.admin", label="test")
        finally:
            engine.dispose()
        # An administrator's client of the service: the URL and their token only.
        client = {"ICPC_SERVICE_URL": restarted, "ICPC_PERSON_TOKEN": admin}
        unlock = subprocess.run(
            [sys.executable, "-m", "starters.cli", "users", "unlock", "hal.head"],
            cwd=tmp_path,
            env={**os.environ, **client},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert unlock.returncode == 0, unlock.stderr
        assert "sign-in id hal.head unlocked" in unlock.stdout
        assert (await try_password(restarted, PASSWORD)).status_code == 303

    engine = make_engine(url)
    try:
        rows = AuditLog(engine).read(actor="hal.head", limit=1000)
    finally:
        engine.dispose()
    failed = [r for r in rows if r.action == Action.SIGN_IN_FAILED]
    guessed = [r for r in failed if r.detail == "wrong sign-in id or password"]
    # Every guess refused and audited, in whichever process it landed: those checked before the
    # lock took hold as wrong (at least the ten that set it), the rest unchecked, as locked;
    # then the three right passwords refused while locked.
    assert len(failed) == GUESSES + 3
    assert 10 <= len(guessed) < GUESSES
    assert sum(r.action == Action.LOCKOUT for r in rows) == 1
    assert any(r.action == Action.ACCOUNT_CHANGE and r.detail == "sign-in unlocked" for r in rows)
    assert sum(r.action == Action.SIGN_IN for r in rows) == 1
