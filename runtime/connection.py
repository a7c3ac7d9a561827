"""One way to reach Temporal for every process: the SDK's environment configuration.

TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS* and the config file
profile (TEMPORAL_PROFILE) are honoured; the default is the embedded dev server on loopback.
Payloads are always encrypted (see ``runtime.encryption``): without a usable key, connecting
fails with a ``PayloadKeyError`` naming the setting, before anything is sent. A client that is
not a worker checks that the workers can read its key before each start, signal and update
(``runtime.payload_readers``).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.envconfig import ClientConfig
from temporalio.runtime import Runtime
from temporalio.service import TLSConfig

from runtime.encryption import (
    ENCRYPTION_OFF_WARNING,
    codec_from_environment,
    worker_data_converter,
)
from runtime.log_setup import get_logger
from runtime.payload_readers import CheckReaders, readers_for
from runtime.tracing import client_plugins

DEFAULT_ADDRESS = "127.0.0.1:7233"
# The key `icpc dev` creates; commands run from the project folder find it without settings.
DEFAULT_KEY_FILE = Path("var/payload-key")


# Settings that name a file the client reads as it starts (the Temporal CLI's names).
FILE_SETTINGS = (
    "TEMPORAL_TLS_CLIENT_CERT_PATH",
    "TEMPORAL_TLS_CLIENT_KEY_PATH",
    "TEMPORAL_TLS_SERVER_CA_CERT_PATH",
    "TEMPORAL_CONFIG_FILE",
)


class TemporalSettingsError(ValueError):
    """A Temporal connection setting that cannot be used; the message is one line naming it."""


def connect_config(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``Client.connect``'s address, namespace, API key and TLS, from ``environ`` (the process
    environment by default) and the config file profile, as the Temporal CLI reads them.

    Raises ``TemporalSettingsError`` for a certificate or key file that cannot be read, or a
    client certificate without its key (or the reverse)."""
    try:
        config: dict[str, Any] = dict(
            ClientConfig.load_client_connect_config(override_env_vars=environ)
        )
    except OSError as error:  # the SDK reads the files named here at once
        message = unreadable(error, os.environ if environ is None else environ)
        raise TemporalSettingsError(message) from None
    tls = config.get("tls")
    half_pair = isinstance(tls, TLSConfig) and (tls.client_cert is None) != (
        tls.client_private_key is None
    )
    if half_pair:
        raise TemporalSettingsError(
            "TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH (or their _DATA"
            " forms) go together: set both for mTLS, or neither"
        )
    config.setdefault("target_host", DEFAULT_ADDRESS)
    config.setdefault("namespace", "default")
    return config


def unreadable(error: OSError, environ: Mapping[str, str]) -> str:
    """One line: which setting names the file, the file, and why it cannot be read."""
    path = str(error.filename)
    setting = next((name for name in FILE_SETTINGS if environ.get(name) == path), None)
    where = setting or "a file named in the Temporal config file profile"
    return f"{where}: cannot read {path} ({error.strerror or error})"


def data_converter(*, worker: bool = False) -> DataConverter:
    """Pydantic payloads, encrypted with the configured key (``var/payload-key`` by default).
    ``worker``: the workers' codec and converter (what it cannot open, or what the service did
    not seal, becomes an ``Unreadable`` placeholder; see ``runtime.encryption``).

    Raises ``PayloadKeyError`` when there is no usable key; only ``ICPC_PAYLOAD_ENCRYPTION=off``
    gives plain payloads (a worker then warns, loudly: it takes decisions in clear)."""
    codec = codec_from_environment(os.environ, default_key_file=DEFAULT_KEY_FILE, worker=worker)
    if codec is None:
        if worker:
            get_logger().warning("payload_encryption_off", warning=ENCRYPTION_OFF_WARNING)
        return pydantic_data_converter
    if worker:
        return worker_data_converter(codec)
    return dataclasses.replace(pydantic_data_converter, payload_codec=codec)


async def connect(runtime: Runtime | None = None, *, worker: bool = False) -> Client:
    """``runtime``: one with a metrics exporter (``workers.metrics``); None, the default.
    ``worker``: the client a worker runs on (its codec, and no check of the workers' keys).

    Raises ``PayloadKeyError`` (before connecting) when payloads cannot be encrypted."""
    converter = data_converter(worker=worker)
    readers = None if worker else readers_for(converter.payload_codec)
    # Tracing (off unless OTEL_* asks for it, see runtime.tracing) rides on the client, so
    # every worker built on this client traces too.
    client = await Client.connect(
        **connect_config(),
        data_converter=converter,
        plugins=client_plugins(),
        interceptors=[CheckReaders(readers)] if readers else [],
        runtime=runtime,
    )
    if readers:
        readers.client = client
    return client
