"""One way to reach Temporal for every process: the SDK's environment configuration.

TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS* and the config file
profile (TEMPORAL_PROFILE) are honoured; the default is the embedded dev server on loopback.
Payloads are always encrypted (see ``workers.encryption``): without a usable key, connecting
fails with a ``PayloadKeyError`` naming the setting, before anything is sent.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.envconfig import ClientConfig
from temporalio.runtime import Runtime

from workers.encryption import codec_from_environment
from workers.tracing import client_plugins

DEFAULT_ADDRESS = "127.0.0.1:7233"
# The key `icpc dev` creates; commands run from the project folder find it without settings.
DEFAULT_KEY_FILE = Path("var/payload-key")


def connect_config() -> dict[str, Any]:
    config: dict[str, Any] = dict(ClientConfig.load_client_connect_config())
    config.setdefault("target_host", DEFAULT_ADDRESS)
    config.setdefault("namespace", "default")
    return config


def data_converter() -> DataConverter:
    """Pydantic payloads, encrypted with the configured key (``var/payload-key`` by default).

    Raises ``PayloadKeyError`` when there is no usable key; only ``ICPC_PAYLOAD_ENCRYPTION=off``
    gives plain payloads."""
    codec = codec_from_environment(os.environ, default_key_file=DEFAULT_KEY_FILE)
    if codec is None:
        return pydantic_data_converter
    return dataclasses.replace(pydantic_data_converter, payload_codec=codec)


async def connect(runtime: Runtime | None = None) -> Client:
    """``runtime``: one with a metrics exporter (``workers.metrics``); None, the default.

    Raises ``PayloadKeyError`` (before connecting) when payloads cannot be encrypted."""
    # Tracing (off unless OTEL_* asks for it, see workers.tracing) rides on the client, so
    # every worker built on this client traces too.
    return await Client.connect(
        **connect_config(),
        data_converter=data_converter(),
        plugins=client_plugins(),
        runtime=runtime,
    )
