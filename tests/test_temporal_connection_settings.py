"""How the product reaches a Temporal that is not the local dev server (Temporal Cloud, or a
self-hosted cluster behind TLS): the environment settings the Temporal CLI uses become
``Client.connect``'s arguments, and a certificate or key that cannot be read is one line naming
the setting, never a traceback. Nothing here connects: the arguments are checked as built.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from temporalio.service import TLSConfig

from runtime.connection import DEFAULT_ADDRESS, TemporalSettingsError, connect_config
from starters.cli import main
from tests.conftest import free_port

# The shape of a Temporal Cloud namespace id and its endpoints (London region for API keys).
CLOUD_NAMESPACE = "icpc-prod.a1b2c"
API_KEY_ENDPOINT = "eu-west-2.aws.api.temporal.io:7233"
MTLS_ENDPOINT = f"{CLOUD_NAMESPACE}.tmprl.cloud:7233"

# No config file: only the settings each test gives (a developer's own profile must not leak in).
NO_FILE = {"TEMPORAL_CONFIG_FILE": "/nonexistent/temporal.toml"}


def pem_pair(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "client.pem", folder / "client.key"
    cert.write_bytes(b"-----BEGIN CERTIFICATE-----\nnot checked here\n-----END CERTIFICATE-----\n")
    key.write_bytes(b"-----BEGIN PRIVATE KEY-----\nnot checked here\n-----END PRIVATE KEY-----\n")
    return cert, key


def test_without_settings_the_local_dev_server() -> None:
    config = connect_config(NO_FILE)
    assert config == {"target_host": DEFAULT_ADDRESS, "namespace": "default"}


def test_api_key_turns_tls_on() -> None:
    config = connect_config(
        {
            **NO_FILE,
            "TEMPORAL_ADDRESS": API_KEY_ENDPOINT,
            "TEMPORAL_NAMESPACE": CLOUD_NAMESPACE,
            "TEMPORAL_API_KEY": "secret-key",
        }
    )
    assert config == {
        "target_host": API_KEY_ENDPOINT,
        "namespace": CLOUD_NAMESPACE,
        "api_key": "secret-key",
        "tls": True,
    }


def test_client_certificate_and_key_are_read_for_mtls(tmp_path: Path) -> None:
    cert, key = pem_pair(tmp_path)
    ca = tmp_path / "ca.pem"
    ca.write_bytes(b"a private CA")
    config = connect_config(
        {
            **NO_FILE,
            "TEMPORAL_ADDRESS": MTLS_ENDPOINT,
            "TEMPORAL_NAMESPACE": CLOUD_NAMESPACE,
            "TEMPORAL_TLS_CLIENT_CERT_PATH": str(cert),
            "TEMPORAL_TLS_CLIENT_KEY_PATH": str(key),
            "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(ca),
            "TEMPORAL_TLS_SERVER_NAME": "temporal.council.example",
        }
    )
    assert config["target_host"] == MTLS_ENDPOINT
    assert config["namespace"] == CLOUD_NAMESPACE
    assert "api_key" not in config
    tls = config["tls"]
    assert isinstance(tls, TLSConfig)
    assert tls.client_cert == cert.read_bytes()
    assert tls.client_private_key == key.read_bytes()
    assert tls.server_root_ca_cert == b"a private CA"
    assert tls.domain == "temporal.council.example"


@pytest.mark.parametrize(
    ("setting", "make"),
    [
        ("TEMPORAL_TLS_CLIENT_CERT_PATH", lambda folder: folder / "missing.pem"),
        # A folder where the key should be: unreadable even to root, who can read any file.
        ("TEMPORAL_TLS_CLIENT_KEY_PATH", lambda folder: folder),
        ("TEMPORAL_TLS_SERVER_CA_CERT_PATH", lambda folder: folder / "missing-ca.pem"),
    ],
)
def test_a_file_that_cannot_be_read_is_one_line_naming_its_setting(
    tmp_path: Path, setting: str, make: Callable[[Path], Path]
) -> None:
    cert, key = pem_pair(tmp_path)
    bad = make(tmp_path)
    environ = {
        **NO_FILE,
        "TEMPORAL_TLS_CLIENT_CERT_PATH": str(cert),
        "TEMPORAL_TLS_CLIENT_KEY_PATH": str(key),
        setting: str(bad),
    }
    with pytest.raises(TemporalSettingsError) as caught:
        connect_config(environ)
    message = str(caught.value)
    assert message.startswith(f"{setting}: cannot read {bad} (")
    assert "\n" not in message


def test_a_file_named_by_the_config_file_profile(tmp_path: Path) -> None:
    profile = tmp_path / "temporal.toml"
    profile.write_text(
        "[profile.default]\n"
        f'address = "{MTLS_ENDPOINT}"\n'
        f"[profile.default.tls]\n"
        f'client_cert_path = "{tmp_path / "gone.pem"}"\n'
        f'client_key_path = "{tmp_path / "gone.key"}"\n'
    )
    with pytest.raises(TemporalSettingsError) as caught:
        connect_config({"TEMPORAL_CONFIG_FILE": str(profile)})
    assert str(caught.value).startswith(
        "a file named in the Temporal config file profile: cannot read "
    )


@pytest.mark.parametrize("given", ["TEMPORAL_TLS_CLIENT_CERT_PATH", "TEMPORAL_TLS_CLIENT_KEY_PATH"])
def test_certificate_and_key_go_together(tmp_path: Path, given: str) -> None:
    cert, key = pem_pair(tmp_path)
    path = cert if given.endswith("CERT_PATH") else key
    with pytest.raises(TemporalSettingsError, match="go together"):
        connect_config({**NO_FILE, given: str(path)})


def test_the_worker_refuses_to_start_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # `icpc worker` tightens ./var: not the checkout's
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", NO_FILE["TEMPORAL_CONFIG_FILE"])
    cert, _ = pem_pair(tmp_path)
    monkeypatch.setenv("TEMPORAL_TLS_CLIENT_CERT_PATH", str(cert))
    monkeypatch.setenv("TEMPORAL_TLS_CLIENT_KEY_PATH", str(tmp_path / "missing.key"))
    assert main(["worker"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"icpc worker: TEMPORAL_TLS_CLIENT_KEY_PATH: cannot read {tmp_path / 'missing.key'}"
        " (No such file or directory)"
    ]


def test_the_web_form_refuses_to_start_in_one_line(tmp_path: Path) -> None:
    """The form connects on first use, so it checks its TLS files as it starts. A process of
    its own: were the check gone, the form would serve (and the timeout end it)."""
    cert, _ = pem_pair(tmp_path)
    environ = {
        **os.environ,
        "ICPC_PAYLOAD_ENCRYPTION": "off",
        "ICPC_DATABASE_URL": f"sqlite:///{tmp_path / 'record.sqlite3'}",
        "TEMPORAL_CONFIG_FILE": NO_FILE["TEMPORAL_CONFIG_FILE"],
        "TEMPORAL_TLS_CLIENT_CERT_PATH": str(cert),
        "TEMPORAL_TLS_CLIENT_KEY_PATH": str(tmp_path),  # a folder: unreadable as a key
    }
    result = subprocess.run(
        [sys.executable, "-m", "starters.cli", "web", "--port", str(free_port())],
        cwd=tmp_path,  # `icpc web` tightens ./var: not the checkout's
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"icpc web: TEMPORAL_TLS_CLIENT_KEY_PATH: cannot read {tmp_path} (Is a directory)"
    ]
