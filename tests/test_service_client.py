"""The command line's HTTP client (starters.service_client) against the real service on
loopback: the person's token is all it needs; the service's refusals come back in one line."""

from __future__ import annotations

import pytest

from starters.cli import CommandError
from starters.service_client import Refused, Service
from tests.case_helpers import person_token
from tests.service_helpers import RunningService


async def test_a_token_is_all_the_client_needs(service: RunningService) -> None:
    token = person_token("svc-client-tm", "team_manager", teams=["svc-team"])
    me = Service(service.url, token).get("/me")
    assert me["id"] == "svc-client-tm"
    assert me["teams"] == ["svc-team"]


async def test_a_wrong_token_is_refused_in_one_line(service: RunningService) -> None:
    with pytest.raises(Refused) as refused:
        Service(service.url, "icpc_not-a-token").get("/me")
    assert refused.value.status == 401
    assert str(refused.value).startswith("refused: The person token is unknown")


def test_no_service_is_a_plain_error() -> None:
    with pytest.raises(CommandError, match=r"cannot reach the service at http://127\.0\.0\.1:9"):
        Service("http://127.0.0.1:9", "icpc_x").get("/me")
