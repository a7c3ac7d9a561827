"""A client that cannot encrypt refuses to send (issue 12).

Without a usable payload key, ``icpc start`` (every command that talks to Temporal), ``icpc
web`` and ``icpc worker`` stop with one line naming the setting and how to make a key, before
anything reaches the server. Only ``ICPC_PAYLOAD_ENCRYPTION=off``, set on purpose, sends plain
payloads (the tests' own clients do).
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

from runtime.connection import connect, data_converter
from runtime.encryption import PayloadKeyError
from starters.cli import main
from tests.conftest import free_port
from web.dependencies import ClientHolder
from web.problems import Problem

ROOT = Path(__file__).resolve().parent.parent
HOW_TO = "head -c 32 /dev/urandom | base64 > var/payload-key"


@pytest.fixture
def no_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No key anywhere: no setting, and a working folder without var/payload-key."""
    for name in ("ICPC_PAYLOAD_ENCRYPTION", "ICPC_PAYLOAD_KEY", "ICPC_PAYLOAD_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def one_line(capsys: pytest.CaptureFixture[str], argv: list[str], command: str) -> str:
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"icpc {command}: ")
    return err.strip()


def bad_key_files(folder: Path) -> dict[str, tuple[Path, str]]:
    short = folder / "short-key"
    short.write_text(base64.b64encode(os.urandom(16)).decode() + "\n")
    garbled = folder / "garbled-key"
    garbled.write_text("this is not base64 at all!\n")
    for key in (short, garbled):
        key.chmod(0o600)  # owner-only, as a key must be (else `icpc worker` says so too)
    return {
        "missing": (folder / "no-such-key", "cannot read the key file (No such file"),
        "not base64": (garbled, "is not valid base64"),
        "16 bytes": (short, "holds a 16-byte key; a payload key is 32 bytes"),
    }


# --- the settings ----------------------------------------------------------------------------


def test_no_key_is_refused_naming_the_setting_and_how_to_make_one(no_key: Path) -> None:
    with pytest.raises(PayloadKeyError) as refused:
        data_converter()
    message = str(refused.value)
    assert "ICPC_PAYLOAD_KEY_FILE" in message and HOW_TO in message
    assert "\n" not in message


def test_an_empty_key_file_setting_no_longer_means_off(
    no_key: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ICPC_PAYLOAD_KEY_FILE", "")
    with pytest.raises(PayloadKeyError, match="no payload key"):
        data_converter()
    monkeypatch.setenv("ICPC_PAYLOAD_ENCRYPTION", "off")
    assert data_converter().payload_codec is None


def test_the_default_key_file_in_the_working_folder_is_used(no_key: Path) -> None:
    (no_key / "var").mkdir()
    (no_key / "var" / "payload-key").write_text(base64.b64encode(os.urandom(32)).decode())
    assert data_converter().payload_codec is not None


async def test_connect_refuses_before_reaching_the_server(no_key: Path) -> None:
    with pytest.raises(PayloadKeyError, match="ICPC_PAYLOAD_KEY_FILE"):
        await connect()


# --- the command line ------------------------------------------------------------------------


# ``icpc start`` is a client of the web service and holds no key (tests/test_one_door.py); the
# service refuses to start without one (below), so nothing is sent unencrypted.


# --- the web form ----------------------------------------------------------------------------


def test_icpc_web_without_the_key_does_not_start(
    no_key: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = one_line(capsys, ["web", "--port", str(free_port())], "web")
    assert "no payload key" in err and "ICPC_PAYLOAD_KEY_FILE" in err and HOW_TO in err


async def test_the_form_sends_nothing_without_the_key(no_key: Path) -> None:
    """A form whose key went away after start answers 'unavailable', and connects nowhere."""
    holder = ClientHolder(connect)
    with pytest.raises(Problem) as problem:
        await holder.get()
    assert problem.value.status == 503
    assert isinstance(problem.value.__cause__, PayloadKeyError)


# --- the worker ------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["missing", "not base64", "16 bytes"])
def test_the_worker_refuses_a_bad_key_in_one_line(
    no_key: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    case: str,
) -> None:
    path, reason = bad_key_files(no_key)[case]
    monkeypatch.setenv("ICPC_PAYLOAD_KEY_FILE", str(path))
    monkeypatch.setenv("TEMPORAL_ADDRESS", f"127.0.0.1:{free_port()}")
    err = one_line(capsys, ["worker", "--task-queue", "never-polled"], "worker")
    assert f"ICPC_PAYLOAD_KEY_FILE ({path})" in err and reason in err and HOW_TO in err


def test_the_worker_process_without_a_key_prints_one_line_and_exits(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ICPC_", "TEMPORAL_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}",
        ICPC_DATABASE_URL=f"sqlite:///{tmp_path / 'records.sqlite3'}",
    )
    done = subprocess.run(
        [sys.executable, "-m", "starters.cli", "worker", "--task-queue", "never-polled"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("icpc worker: no payload key")
