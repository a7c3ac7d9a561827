"""Files under ``var/`` are their owner's only (issue 12): 0600 files, 0700 folders.

Every ``icpc`` command runs under the umask 077, so what it (or a child it starts) creates is
owner-only; ``icpc dev``, ``worker``, ``web`` and ``mailsink`` make what others could read
owner-only as they start, and say so. (``tests/test_dev_command.py`` checks the Temporal dev
server's ``temporal.db``, the log and the emails of a whole ``icpc dev``.)
"""

from __future__ import annotations

import os
import signal
import smtplib
import sqlite3
import stat
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from starters.cli import main
from starters.file_modes import SHOWN, check_at_start, owner_only_files, tighten
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_what_a_command_creates_is_owner_only(tmp_path: Path) -> None:
    before = os.umask(0o022)
    try:
        with owner_only_files():
            folder = tmp_path / "var" / "mail"
            folder.mkdir(parents=True)
            (folder / "one.eml").write_bytes(b"Subject: x\r\n\r\nx\r\n")
            with (tmp_path / "var" / "temporal.log").open("ab") as log:
                log.write(b"started\n")
            database = sqlite3.connect(tmp_path / "var" / "some.sqlite3")
            database.execute("PRAGMA journal_mode = WAL")
            database.execute("CREATE TABLE t (x)")
            database.execute("INSERT INTO t VALUES (1)")
            database.commit()
        assert os.umask(0o022) == 0o022, "the umask is given back once the command ends"
        created = sorted((tmp_path / "var").rglob("*"))
        names = {p.name for p in created}
        assert {"some.sqlite3-wal", "some.sqlite3-shm"} <= names
        for path in [tmp_path / "var", *created]:
            assert mode(path) == (0o700 if path.is_dir() else 0o600), path
        database.close()
    finally:
        os.umask(before)


def test_the_record_database_is_owner_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    record = tmp_path / "var" / "icpc-records.sqlite3"
    monkeypatch.setenv("ICPC_DATABASE_URL", f"sqlite:///{record}")
    assert main(["db", "upgrade"]) == 0, capsys.readouterr()
    assert mode(tmp_path / "var") == 0o700
    for path in tmp_path.joinpath("var").iterdir():
        assert mode(path) == 0o600, path


def test_tighten_fixes_what_is_ours_and_leaves_links_alone(tmp_path: Path) -> None:
    var = tmp_path / "var"
    (var / "mail").mkdir(parents=True)
    var.chmod(0o755)
    (var / "mail").chmod(0o775)
    (var / "mail" / "a.eml").write_text("x")
    (var / "mail" / "a.eml").chmod(0o644)
    (var / "payload-key").write_text("x")
    (var / "payload-key").chmod(0o600)
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("not the product's")
    outside.chmod(0o644)
    (var / "link").symlink_to(outside)

    found = tighten([var, var / "no-such-file"])
    assert {e.path for e in found} == {var, var / "mail", var / "mail" / "a.eml"}
    assert all(e.fixed for e in found)
    assert mode(var) == 0o700 and mode(var / "mail") == 0o700
    assert mode(var / "mail" / "a.eml") == 0o600
    assert mode(var / "payload-key") == 0o600
    assert mode(outside) == 0o644, "a link is not followed"
    assert tighten([var]) == [], "nothing left to fix"


def test_check_at_start_names_each_path_then_counts_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    var = tmp_path / "var"
    var.mkdir(mode=0o700)
    for number in range(SHOWN + 3):
        (var / f"{number}.eml").write_text("x")
        (var / f"{number}.eml").chmod(0o644)
    found = check_at_start("worker", [var])
    assert len(found) == SHOWN + 3
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == SHOWN + 1
    assert lines[0].startswith("icpc worker: warning: file ")
    assert "was open to other users (0644); made owner-only (0600)" in lines[0]
    assert lines[-1] == (
        "icpc worker: warning: 3 more paths were open to other users (3 of them made owner-only)"
    )


@pytest.mark.parametrize("command", ["worker", "web"])
def test_worker_and_web_fix_var_as_they_start(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    """Checked first thing: here the command then stops for want of a payload key."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ICPC_PAYLOAD_ENCRYPTION")
    monkeypatch.delenv("ICPC_PAYLOAD_KEY_FILE")
    monkeypatch.setenv("ICPC_DATABASE_URL", f"sqlite:///{tmp_path / 'var' / 'records.sqlite3'}")
    monkeypatch.setenv("ICPC_WEB_SECRET", "not-a-real-secret")
    (tmp_path / "var").mkdir()
    (tmp_path / "var").chmod(0o755)
    (tmp_path / "var" / "records.sqlite3").write_bytes(b"")
    (tmp_path / "var" / "records.sqlite3").chmod(0o644)
    assert main([command]) == 2
    err = capsys.readouterr().err
    assert f"icpc {command}: warning: folder var was open to other users (0755)" in err
    assert "records.sqlite3 was open to other users (0644); made owner-only (0600)" in err
    assert mode(tmp_path / "var") == 0o700
    assert mode(tmp_path / "var" / "records.sqlite3") == 0o600


def test_the_mail_sink_keeps_each_email_owner_only(tmp_path: Path) -> None:
    mail = tmp_path / "var" / "mail"
    mail.mkdir(parents=True)
    mail.chmod(0o755)  # left open by an earlier version: fixed at start
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    sink = subprocess.Popen(
        [sys.executable, "-m", "starters.cli", "mailsink", "--port", str(port), "--dir", str(mail)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "a@example.org", "b@example.org", "t"
        message.set_content("an invented invitation")
        deadline = time.monotonic() + 20
        while True:
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
                    smtp.send_message(message)
                break
            except OSError:
                assert sink.poll() is None, sink.communicate()
                assert time.monotonic() < deadline, "the mail sink never answered"
                time.sleep(0.2)
        [stored] = list(mail.glob("*.eml"))
        assert mode(stored) == 0o600
        assert mode(mail) == 0o700
    finally:
        sink.send_signal(signal.SIGTERM)
        _, err = sink.communicate(timeout=15)
    assert f"icpc mailsink: warning: folder {mail} was open to other users (0755)" in err
