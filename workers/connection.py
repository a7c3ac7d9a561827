"""One way to reach Temporal for every process: the SDK's environment configuration.

TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS* and the config file
profile (TEMPORAL_PROFILE) are honoured; the default is the embedded dev server on loopback.
"""

from __future__ import annotations

from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.envconfig import ClientConfig

DEFAULT_ADDRESS = "127.0.0.1:7233"


def connect_config() -> dict[str, Any]:
    config: dict[str, Any] = dict(ClientConfig.load_client_connect_config())
    config.setdefault("target_host", DEFAULT_ADDRESS)
    config.setdefault("namespace", "default")
    return config


async def connect() -> Client:
    return await Client.connect(**connect_config(), data_converter=pydantic_data_converter)
