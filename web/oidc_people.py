"""Who a validated ID token names: the person linked to its issuer and subject, or on a
first sign-in the one matched by a configured claim (then linked); in claims mode their roles,
teams and areas are taken from the token. Every outcome is audited."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from domain.people import PERSON_ID, ROLE_ID, UNIT_ID, Person
from records.audit import Action, AuditEntry, Channel, Outcome
from records.people import PeopleError, normalise_id
from records.sessions import WebSession
from web.oidc_settings import (
    Access,
    MatchTo,
    OidcSettings,
)
from web.users import Accounts, main_role


class Refused(StrEnum):
    UNKNOWN = "unknown"
    DISABLED = "disabled"
    LINKED_ELSEWHERE = "linked elsewhere"
    NO_ROLE = "no role"


@dataclass(frozen=True)
class SignOn:
    """A person signed in by the provider, with their new session; or why not."""

    person: Person | None = None
    session_id: str | None = None
    session: WebSession | None = None
    refused: Refused | None = None
    named: str = ""  # the identity the provider named, for the refusal page


def _claim_text(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if isinstance(value, str) and value.strip():
        return value.strip().lower()[:254]
    return None


def claim_values(claims: Mapping[str, Any], name: str) -> list[str]:
    """A claim as a list of strings: a JSON array, or one string of space- or comma-separated
    values."""
    value = claims.get(name)
    if isinstance(value, str):
        return [v for v in re.split(r"[,\s]+", value) if v]
    if isinstance(value, list):
        return [v.strip() for v in value if isinstance(v, str) and v.strip()]
    return []


def subject_of(claims: Mapping[str, Any]) -> str:
    """The identity a person is linked to: the issuer and the subject, which the provider
    never gives to anyone else (Entra's ``sub`` is per application too)."""
    return f"{claims['iss']}|{claims['sub']}"


class SignOnPeople:
    """Finds, links and (claims mode) updates the person a validated ID token names, and
    starts their session. Blocking: run through :meth:`web.users.Accounts.run`."""

    def __init__(self, accounts: Accounts, settings: OidcSettings, address: str) -> None:
        self.accounts = accounts
        self.settings = settings
        self.address = address

    def _audit(self, action: Action, outcome: Outcome, actor: str | None, **more: Any) -> None:
        self.accounts.audit(
            AuditEntry(action, outcome, Channel.WEB, actor=actor, address=self.address, **more)
        )

    def _refuse(self, refused: Refused, actor: str | None, detail: str, named: str) -> SignOn:
        self._audit(
            Action.SIGN_IN_FAILED,
            Outcome.REFUSED,
            (actor or "")[:64] or None,
            detail=f"single sign-on: {detail}",
        )
        return SignOn(refused=refused, named=named)

    def _match(self, claims: Mapping[str, Any], named: str | None) -> Person | SignOn:
        """The person a first sign-in is matched to (and links), or the refusal."""
        s = self.settings
        subject = subject_of(claims)
        if named is None:
            return self._refuse(
                Refused.UNKNOWN, None, f"the ID token has no {s.match_claim} claim", ""
            )
        if claims.get("email_verified") is False and s.match_claim == "email":
            return self._refuse(Refused.UNKNOWN, named, "email not verified", named)
        if s.match_to is MatchTo.ID:
            person_id = normalise_id(named)
            candidate = self.accounts.people.get(person_id) if PERSON_ID.match(person_id) else None
        else:
            ids = self.accounts.people.ids_with_email(named)
            if len(ids) > 1:
                return self._refuse(
                    Refused.UNKNOWN, named, "more than one person has that email", named
                )
            candidate = self.accounts.people.get(ids[0]) if ids else None
        if candidate is None:
            return self._refuse(Refused.UNKNOWN, named, f"no person for {s.match_claim}", named)
        linked = self.accounts.people.oidc_subject_of(candidate.id)
        if linked is not None and linked != subject:
            return self._refuse(
                Refused.LINKED_ELSEWHERE,
                candidate.id,
                "the person is linked to another sign-on identity",
                named,
            )
        if not candidate.active:
            return self._refuse(Refused.DISABLED, candidate.id, "account disabled", named)
        try:
            self.accounts.people.link_oidc_subject(candidate.id, subject)
        except PeopleError:  # linked to someone else a moment ago, by another process
            return self._refuse(
                Refused.LINKED_ELSEWHERE, candidate.id, "the identity is linked to another", named
            )
        self._audit(
            Action.ACCOUNT_CHANGE,
            Outcome.OK,
            candidate.id,
            target=candidate.id,
            detail=f"linked to a single sign-on identity, matched by {s.match_claim}",
        )
        return candidate

    def _from_claims(self, person: Person, claims: Mapping[str, Any]) -> Person | None:
        """The person with the roles, teams and areas the token gives (written to the people
        table when they differ, audited); None when it gives no role the product knows."""
        s = self.settings
        mapping = dict(s.role_map)
        known = self.accounts.people.known_roles
        roles = frozenset(
            role
            for role in (mapping.get(v, v) for v in claim_values(claims, s.roles_claim))
            if ROLE_ID.match(role) and (known is None or role in known)
        )
        if not roles:
            return None

        def units(name: str, current: frozenset[str]) -> frozenset[str]:
            if not name:
                return current
            return frozenset(v for v in claim_values(claims, name) if UNIT_ID.match(v))

        teams, areas = units(s.teams_claim, person.teams), units(s.areas_claim, person.areas)
        if (roles, teams, areas) == (person.roles, person.teams, person.areas):
            return person
        updated = self.accounts.people.update(person.id, roles=roles, teams=teams, areas=areas)
        self._audit(
            Action.ACCOUNT_CHANGE,
            Outcome.OK,
            person.id,
            target=person.id,
            detail="from single sign-on claims: roles "
            + ", ".join(sorted(roles))
            + "; teams "
            + (", ".join(sorted(teams)) or "none")
            + "; areas "
            + (", ".join(sorted(areas)) or "none"),
        )
        return updated

    def sign_on(self, claims: Mapping[str, Any]) -> SignOn:
        s = self.settings
        named = _claim_text(claims, s.match_claim)
        person = self.accounts.people.find_by_oidc_subject(subject_of(claims))
        if person is None:
            matched = self._match(claims, named)
            if isinstance(matched, SignOn):
                return matched
            person = matched
        shown = named or person.id
        if not person.active:
            return self._refuse(Refused.DISABLED, person.id, "account disabled", shown)
        if s.access is Access.CLAIMS:
            found = self._from_claims(person, claims)
            if found is None:
                return self._refuse(
                    Refused.NO_ROLE, person.id, f"no known role in the {s.roles_claim} claim", shown
                )
            person = found
        # The same server-side session a password sign-in starts.
        session_id, session = self.accounts.sessions.start(person.id)
        self._audit(
            Action.SIGN_IN,
            Outcome.OK,
            person.id,
            actor_role=main_role(person) or None,
            detail="single sign-on",
        )
        return SignOn(person=person, session_id=session_id, session=session)
