"""The command line's way in for people's work: the service's JSON API (``web.api``), with the
person's own token. Nothing else: no database address, no Temporal, no payload key.

``ICPC_SERVICE_URL`` is the web service's address (``icpc dev`` prints it; default
``http://127.0.0.1:8000``, the address ``icpc web`` binds by default). The token is the person's
(:func:`starters.operator.token_from`: ``--token-file``, ``ICPC_PERSON_TOKEN``,
``ICPC_PERSON_TOKEN_FILE``). Over HTTPS the service's certificate is checked; ``ICPC_SERVICE_CA``
names a CA bundle for a council's own certificate authority.

The service's refusals come back as problem details (``{"status", "title", "detail"}``) and are
said in one line, as every command says a refusal.
"""

from __future__ import annotations

import argparse
import logging
import os
from dataclasses import dataclass
from typing import Any

import httpx

from starters.cli import CommandError
from starters.operator import NO_TOKEN, token_from

URL_ENV = "ICPC_SERVICE_URL"
CA_ENV = "ICPC_SERVICE_CA"
DEFAULT_URL = "http://127.0.0.1:8000"
API = "/api/v1"
TIMEOUT = httpx.Timeout(60.0, connect=10.0)
# httpx logs each request at INFO: a command's standard error is for what went wrong.
logging.getLogger("httpx").setLevel(logging.WARNING)


class Refused(CommandError):
    """The service refused: its status and its plain reason."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(f"refused: {detail}" if detail else f"refused: {title}")
        self.status, self.title, self.detail = status, title, detail


def service_url() -> str:
    return os.environ.get(URL_ENV, "").strip().rstrip("/") or DEFAULT_URL


@dataclass
class Service:
    """One person's calls to the service's API."""

    url: str
    token: str
    verify: bool | str = True

    def _client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url + API,
            headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"},
            timeout=TIMEOUT,
            verify=self.verify,
        )

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The service's answer; a one-line :class:`CommandError` when it could not be asked,
        and :class:`Refused` for its refusals (4xx) and its failures (5xx)."""
        try:
            with self._client() as client:
                answer = client.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise CommandError(
                f"the service at {self.url} did not answer in time: whether anything was done"
                " is not known; `icpc show` tells"
            ) from None
        except httpx.HTTPError as error:
            raise CommandError(
                f"cannot reach the service at {self.url} ({type(error).__name__}): set"
                f" {URL_ENV} to the web service's address"
            ) from None
        if answer.status_code >= 400:
            raise _refusal(answer)
        return answer

    def get(self, path: str, **params: Any) -> Any:
        return self.call("GET", path, params={k: v for k, v in params.items() if v}).json()

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.call("POST", path, json=body, **kwargs).json()


def _refusal(answer: httpx.Response) -> Refused:
    try:
        body = answer.json()
        return Refused(answer.status_code, str(body["title"]), str(body.get("detail", "")))
    except (ValueError, KeyError, TypeError):
        return Refused(answer.status_code, f"HTTP {answer.status_code}", answer.reason_phrase)


def service(args: argparse.Namespace) -> Service:
    """The service, called as the person whose token the command was given; a one-line
    refusal without one."""
    token = token_from(args)
    if not token:
        raise CommandError(NO_TOKEN)
    ca = os.environ.get(CA_ENV, "").strip()
    return Service(url=service_url(), token=token, verify=ca or True)
