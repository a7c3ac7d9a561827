"""The worker's Prometheus endpoint: Temporal's SDK metrics and the product's own, one address.

Off by default; ``icpc worker --metrics-bind HOST:PORT`` or ``ICPC_METRICS_BIND`` turns it on.
The SDK runtime serves ``/metrics`` itself; the client (and so the worker) must be connected
with that runtime for its metrics, and the workflows' and activities' meters, to land there.
"""

from __future__ import annotations

import ipaddress
import os

from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from contracts.metrics import RECORD_WRITE_BUCKETS, RECORD_WRITE_SECONDS

METRICS_ENV = "ICPC_METRICS_BIND"


class MetricsBindError(ValueError):
    """A bind address that is not HOST:PORT, or that cannot be bound."""


def parse_bind(value: str) -> str:
    """``HOST:PORT`` (an IPv6 host in brackets), checked; returned as the exporter wants it."""
    example = "for example 127.0.0.1:9464"
    host, sep, port_text = value.strip().rpartition(":")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise MetricsBindError(f"metrics bind address {value!r} is not HOST:PORT ({example})")
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        ipaddress.ip_address(bare)
    except ValueError:
        if bare != "localhost":
            raise MetricsBindError(
                f"metrics bind address {value!r} needs an IP address as host ({example})"
            ) from None
        host = "127.0.0.1"
    return f"{host}:{int(port_text)}"


def bind_from_environment(value: str | None = None) -> str | None:
    """The bind address from ``--metrics-bind`` or ``ICPC_METRICS_BIND``; None: off."""
    chosen = value if value is not None else os.environ.get(METRICS_ENV, "")
    return parse_bind(chosen) if chosen.strip() else None


def metrics_runtime(bind: str) -> Runtime:
    """A runtime whose Prometheus exporter serves ``http://<bind>/metrics``."""
    config = PrometheusConfig(
        bind_address=bind,
        histogram_bucket_overrides={RECORD_WRITE_SECONDS: RECORD_WRITE_BUCKETS},
    )
    try:
        return Runtime(telemetry=TelemetryConfig(metrics=config))
    except (ValueError, RuntimeError) as error:
        raise MetricsBindError(f"cannot serve metrics on {bind}: {error}") from None
