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
    # A temporary password (set by someone else): nothing else until they change it.
    password_must_change: bool = False

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


# --- an administrator's own account ---------------------------------------------------------

ANOTHER_ADMIN = "ask another administrator"


@dataclass(frozen=True)
class OwnAccountRefusal:
    """Why an administrator may not make this change to their own account, and which part
    of it (roles, teams, password, status) was refused."""

    field: str
    message: str


def own_account_refusal(
    actor_id: str,
    target: Person,
    *,
    roles: frozenset[str] | None = None,
    teams: frozenset[str] | None = None,
    areas: frozenset[str] | None = None,
    service_wide: bool | None = None,
    disabling: bool = False,
    removing: bool = False,
    setting_password: bool = False,
) -> OwnAccountRefusal | None:
    """The one rule, for every face: nobody widens (or narrows) their own roles or scope,
    disables or removes themselves, or gives themselves a temporary password; another
    administrator must. A value equal to what they already have is no change (a form posts
    every field at once); their name and email are theirs to change."""
    if actor_id != target.id:
        return None
    if roles is not None and roles != target.roles:
        return OwnAccountRefusal("roles", f"You cannot change your own roles: {ANOTHER_ADMIN}")
    scope = (
        (teams is not None and teams != target.teams)
        or (areas is not None and areas != target.areas)
        or (service_wide is not None and service_wide != target.service_wide)
    )
    if scope:
        return OwnAccountRefusal(
            "teams",
            f"You cannot change your own teams, areas or service-wide scope: {ANOTHER_ADMIN}",
        )
    if disabling:
        return OwnAccountRefusal("status", f"You cannot disable your own account: {ANOTHER_ADMIN}")
    if removing:
        return OwnAccountRefusal("status", f"You cannot remove your own account: {ANOTHER_ADMIN}")
    if setting_password:
        return OwnAccountRefusal(
            "password",
            "You cannot give yourself a temporary password: change your own on the"
            " Change your password page",
        )
    return None
