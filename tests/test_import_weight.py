"""The web form loads what a client needs and no more (issue 24).

Its Temporal plumbing lives in ``runtime/``, so importing it loads nothing of the workers',
workflows' or activities'; OpenTelemetry's SDK, exporters and instrumentation and Temporal's
plugin are imported only when OTEL_* asks for tracing (FastAPI itself imports the bare
OpenTelemetry API); and no password hash is computed as ``records.people`` is imported (one
argon2 hash is ~85 ms, paid by every process). Each check runs in a fresh interpreter, since
this one has loaded everything already.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Counts argon2 hashes made while web.app is imported, then lists what got loaded.
PROBE = """
import json, sys
from argon2 import PasswordHasher
hashes = []
real = PasswordHasher.hash
PasswordHasher.hash = lambda self, *a, **k: hashes.append(1) or real(self, *a, **k)
import web.app
print(json.dumps({"modules": sorted(sys.modules), "hashes": len(hashes)}))
"""

TRACING_ONLY = (
    "opentelemetry.sdk",
    "opentelemetry.exporter",
    "opentelemetry.instrumentation",
    "temporalio.contrib.opentelemetry",
)


def loaded_by_web_app(**settings: str) -> dict[str, object]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    environ.update(settings, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


def test_the_web_form_loads_no_worker_code_no_tracing_and_hashes_nothing() -> None:
    loaded = loaded_by_web_app()
    modules = loaded["modules"]
    assert isinstance(modules, list)
    assert "web.app" in modules  # the probe did import it
    server_side = [m for m in modules if m.split(".")[0] in ("workers", "workflows", "activities")]
    assert server_side == []
    assert [m for m in modules if m.startswith(TRACING_ONLY)] == []
    assert loaded["hashes"] == 0
