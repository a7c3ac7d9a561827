"""Mail and record settings, read from the environment each time an activity runs.

Reading them per call (not at import) means a worker picks up the settings it was started
with, and tests can point the activity at their own SMTP server with ``monkeypatch.setenv``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from records.database import DEFAULT_URL

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}

# Environment variable for each field.
ENVIRONMENT = {
    "smtp_host": "ICPC_SMTP_HOST",
    "smtp_port": "ICPC_SMTP_PORT",
    "smtp_starttls": "ICPC_SMTP_STARTTLS",
    "smtp_username": "ICPC_SMTP_USERNAME",
    "smtp_password": "ICPC_SMTP_PASSWORD",
    "smtp_timeout_seconds": "ICPC_SMTP_TIMEOUT",
    "mail_from": "ICPC_MAIL_FROM",
    "database_url": "ICPC_DATABASE_URL",
    "outbox_db": "ICPC_OUTBOX_DB",
}


class MailSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    smtp_host: str = "127.0.0.1"
    smtp_port: Annotated[int, Field(gt=0, lt=65536)] = 8025
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: Annotated[float, Field(gt=0)] = 30.0
    mail_from: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")] = "icpc-bookings@localhost"
    # The case record database (SQLAlchemy URL); the outbox ledger lives there too.
    database_url: Annotated[str, Field(min_length=1)] = DEFAULT_URL
    # Where the outbox ledger lives: a database URL, or the path of a SQLite file of its own
    # (ICPC_OUTBOX_DB, for one worker alone). Unset: the record database, shared by workers.
    outbox_db: str = ""

    @model_validator(mode="before")
    @classmethod
    def _outbox_in_record(cls, values: object) -> object:
        if isinstance(values, Mapping) and not values.get("outbox_db"):
            return {**values, "outbox_db": values.get("database_url") or DEFAULT_URL}
        return values

    @field_validator("smtp_starttls", mode="before")
    @classmethod
    def _flag(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ValueError("expected one of 1/0, true/false, yes/no, on/off")
        return value

    @property
    def mail_domain(self) -> str:
        return self.mail_from.rsplit("@", 1)[1]

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> MailSettings:
        env = os.environ if environ is None else environ
        values = {field: env[name] for field, name in ENVIRONMENT.items() if env.get(name)}
        return cls.model_validate(values)
