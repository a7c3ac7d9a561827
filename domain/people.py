"""People who use the product: one sign-in each, several roles, and the units they belong to.

A unit is a team (social work teams and their managers), an area (heads of service, area
managers, the conference service serving that area) or the whole service. Who may see and
decide a case is worked out from these in :mod:`domain.scoping`; the people themselves are kept
in the case record's database (``records.people``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

PERSON_ID = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")
ROLE_ID = re.compile(r"^[a-z][a-z0-9_]*$")
UNIT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")


class UnitKind(StrEnum):
    TEAM = "team"
    AREA = "area"
    SERVICE = "service"  # the whole authority's service; its unit id names the service


@dataclass(frozen=True)
class Person:
    id: str  # the sign-in id, recorded as the decider; never a name
    name: str = ""
    email: str | None = None
    roles: frozenset[str] = field(default_factory=frozenset)
    teams: frozenset[str] = field(default_factory=frozenset)
    areas: frozenset[str] = field(default_factory=frozenset)
    service_wide: bool = False
    active: bool = True

    @property
    def display_name(self) -> str:
        return self.name or self.id

    def holds(self, role: str) -> bool:
        return role in self.roles


# Roles the product itself needs, beside the roles procedures name: they grant no decision on
# any case.
ADMIN = "admin"  # adds, disables and changes accounts; unlocks; reads the audit trail
SUPPORT = "support"  # keeps the service running: decodes payloads for the Temporal Web UI
PRODUCT_ROLES: dict[str, str] = {ADMIN: "Account administrator", SUPPORT: "Service support"}
