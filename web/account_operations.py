"""The changes an administrator makes to people, in one place for every face: the Accounts
pages (:mod:`web.accounts`), the API (:mod:`web.api_people`, which ``icpc users`` calls) and the
first administrator's bootstrap on the service host (``icpc db bootstrap-admin``).

Each operation checks the own-account rule (:func:`domain.people.own_account_refusal`: another
administrator must change an administrator's roles or scope, or disable or remove them), makes
the change, ends the person's sessions where the change must sign them out, and writes one row
of the audit trail, accepted or refused, with the same words whichever face asked; only the
channel (web, api, cli) and the address differ.

A password someone else sets (adding a person with one, a reset, the bootstrap) is temporary:
the person changes it at their next sign-in (:func:`change_own_password`).

Blocking: run through :meth:`web.users.Accounts.run` in async code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol, TypeVar

from domain.people import ADMIN, Person, own_account_refusal
from records.audit import Action, AuditEntry, Channel, Outcome
from records.people import PeopleError, PeopleStore, normalise_id
from records.sessions import SessionStore
from records.signin_guard import LockKind, SigninGuard

T = TypeVar("T")

NO_ACTIVE_ADMIN_ONLY = (
    "the record already has an active administrator: ask them (icpc users ... with their"
    " token, or the Accounts pages); the bootstrap is for the first one only"
)


class Parts(Protocol):
    """What an operation needs: :class:`web.users.Accounts` is one."""

    @property
    def people(self) -> PeopleStore: ...

    @property
    def sessions(self) -> SessionStore: ...

    @property
    def guard(self) -> SigninGuard: ...

    def audit(self, entry: AuditEntry) -> None: ...


@dataclass(frozen=True)
class Operator:
    """Who asks, through which face, from where: the audit row's actor, channel and address."""

    actor: str
    channel: Channel
    address: str | None = None
    role: str | None = ADMIN


class AccountRefused(Exception):
    """The change was not made (already audited): the reason, the field it is about, and the
    HTTP status the faces answer with (400 bad input, 403 not allowed, 404 no such person)."""

    def __init__(self, message: str, field: str = "person_id", status: int = 400) -> None:
        super().__init__(message)
        self.message, self.field, self.status = message, field, status


def audit(
    parts: Parts, op: Operator, target: str, detail: str, outcome: Outcome = Outcome.OK
) -> None:
    parts.audit(
        AuditEntry(
            Action.ACCOUNT_CHANGE,
            outcome,
            op.channel,
            actor=op.actor,
            actor_role=op.role,
            target=target,
            address=op.address,
            detail=detail,
        )
    )


def _attempt(parts: Parts, op: Operator, target: str, detail: str, call: Callable[[], T]) -> T:
    """``call``, audited; a refusal of the store's (a bad role, a common password) audited as
    refused and raised as :class:`AccountRefused`."""
    try:
        found = call()
    except PeopleError as error:
        audit(parts, op, target, f"{detail}: refused: {error}", Outcome.REFUSED)
        status = 404 if str(error).startswith("no account") else 400
        raise AccountRefused(str(error), error.field, status) from None
    audit(parts, op, target, detail)
    return found


def _refuse(parts: Parts, op: Operator, target: str, what: str, message: str, field: str) -> None:
    audit(parts, op, target, f"{what} refused: {message}", Outcome.REFUSED)
    raise AccountRefused(message, field, 403)


def person(parts: Parts, person_id: str) -> Person:
    """The person, or a 404 refusal."""
    found = parts.people.get(person_id)
    if found is None:
        raise AccountRefused(f"no account '{normalise_id(person_id)}'", "person_id", 404)
    return found


def _set(values: Iterable[str] | None) -> frozenset[str] | None:
    return None if values is None else frozenset(v.strip() for v in values if v.strip())


def _shown(values: Iterable[str]) -> str:
    return ", ".join(sorted(values))


# --- adding -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewPerson:
    person_id: str
    roles: Sequence[str]
    name: str = ""
    email: str = ""
    teams: Sequence[str] = ()
    areas: Sequence[str] = ()
    service_wide: bool = False
    password: str | None = None  # None: single sign-on only; else a temporary password


def add(parts: Parts, op: Operator, new: NewPerson, how: str = "added") -> Person:
    target = normalise_id(new.person_id)
    detail = (
        f"{how} with roles {_shown(new.roles)}; teams {_shown(new.teams)!r};"
        f" areas {_shown(new.areas)!r}; service-wide {new.service_wide}"
        + ("" if new.password is not None else "; no password (single sign-on)")
    )
    return _attempt(
        parts,
        op,
        target,
        detail,
        lambda: parts.people.add(
            target,
            roles=new.roles,
            name=new.name,
            email=new.email,
            teams=new.teams,
            areas=new.areas,
            service_wide=new.service_wide,
            password=new.password,
            password_must_change=True,  # chosen by someone else
        ),
    )


def bootstrap_admin(parts: Parts, op: Operator, new: NewPerson) -> Person:
    """The first administrator, on the service host: only while no active person holds the
    admin role (so it never lets an administrator change their own account, nor adds a second
    way in beside one), and only as a new person."""
    if any(p.active and p.holds(ADMIN) for p in parts.people.all()):
        audit(
            parts,
            op,
            normalise_id(new.person_id),
            f"bootstrap refused: {NO_ACTIVE_ADMIN_ONLY}",
            Outcome.REFUSED,
        )
        raise AccountRefused(NO_ACTIVE_ADMIN_ONLY, "person_id", 403)
    return add(parts, op, replace(new, roles=(ADMIN,)), "first administrator added (bootstrap)")


# --- changing -----------------------------------------------------------------------------


def change(
    parts: Parts,
    op: Operator,
    person_id: str,
    *,
    name: str | None = None,
    email: str | None = None,
    roles: Iterable[str] | None = None,
    teams: Iterable[str] | None = None,
    areas: Iterable[str] | None = None,
    service_wide: bool | None = None,
) -> Person:
    """Change what is given (None leaves it as it is)."""
    before = person(parts, person_id)
    new_roles, new_teams, new_areas = _set(roles), _set(teams), _set(areas)
    refusal = own_account_refusal(
        op.actor,
        before,
        roles=new_roles,
        teams=new_teams,
        areas=new_areas,
        service_wide=service_wide,
    )
    if refusal is not None:
        _refuse(parts, op, before.id, "change", refusal.message, refusal.field)
    wide = before.service_wide if service_wide is None else service_wide
    detail = (
        f"roles {_shown(before.roles)} -> {_shown(before.roles if new_roles is None else new_roles)};"
        f" teams {_shown(before.teams)} -> {_shown(before.teams if new_teams is None else new_teams)};"
        f" areas {_shown(before.areas)} -> {_shown(before.areas if new_areas is None else new_areas)};"
        f" service-wide {before.service_wide} -> {wide}"
    )
    return _attempt(
        parts,
        op,
        before.id,
        detail,
        lambda: parts.people.update(
            before.id,
            name=name,
            email=email,
            roles=new_roles,
            teams=new_teams,
            areas=new_areas,
            service_wide=service_wide,
        ),
    )


def set_temporary_password(parts: Parts, op: Operator, person_id: str, password: str) -> None:
    """A temporary password: changed at their next sign-in; whoever knew the old one is
    signed out."""
    target = person(parts, person_id)
    refusal = own_account_refusal(op.actor, target, setting_password=True)
    if refusal is not None:
        _refuse(parts, op, target.id, "password reset", refusal.message, refusal.field)

    def reset() -> None:
        parts.people.set_password(target.id, password, must_change=True)
        parts.sessions.end_all(target.id)

    _attempt(parts, op, target.id, "password reset by an administrator", reset)


def set_active(parts: Parts, op: Operator, person_id: str, active: bool) -> Person:
    target = person(parts, person_id)
    refusal = own_account_refusal(op.actor, target, disabling=not active)
    if refusal is not None:
        _refuse(parts, op, target.id, "disable", refusal.message, refusal.field)

    def apply() -> None:
        if active:
            parts.people.enable(target.id)
        else:
            parts.people.disable(target.id)
            parts.sessions.end_all(target.id)

    _attempt(parts, op, target.id, "enabled" if active else "disabled", apply)
    return person(parts, target.id)


def remove(parts: Parts, op: Operator, person_id: str) -> None:
    """Delete the person, their roles, units and tokens; their recorded decisions stay."""
    target = person(parts, person_id)
    refusal = own_account_refusal(op.actor, target, removing=True)
    if refusal is not None:
        _refuse(parts, op, target.id, "remove", refusal.message, refusal.field)

    def apply() -> None:
        parts.sessions.end_all(target.id)
        parts.people.remove(target.id)

    _attempt(parts, op, target.id, "removed", apply)


def unlock_account(parts: Parts, op: Operator, person_id: str) -> bool:
    """Forget the failed sign-ins of a sign-in id; False if there were none."""
    target = normalise_id(person_id)
    return _attempt(
        parts, op, target, "sign-in unlocked", lambda: parts.guard.unlock(LockKind.ACCOUNT, target)
    )


def unlock_address(parts: Parts, op: Operator, address: str) -> bool:
    where = address.strip()[:100]
    return _attempt(
        parts,
        op,
        f"address {where}",
        f"sign-in unlocked for address {where}",
        lambda: parts.guard.unlock(LockKind.ADDRESS, where),
    )


# --- tokens -------------------------------------------------------------------------------


def issue_token(parts: Parts, op: Operator, person_id: str, label: str = "") -> str:
    """A new person token: whoever holds it acts as the person. Shown once; only its hash is
    kept."""
    target = person(parts, person_id)
    return _attempt(
        parts,
        op,
        target.id,
        f"command-line token issued ({label.strip() or 'no label'})",
        lambda: parts.people.issue_token(target.id, label),
    )


def revoke_tokens(parts: Parts, op: Operator, person_id: str) -> int:
    target = person(parts, person_id)
    count = parts.people.revoke_tokens(target.id)
    audit(parts, op, target.id, f"command-line tokens revoked ({count})")
    return count


# --- the old accounts file ------------------------------------------------------------------


@dataclass
class Imported:
    imported: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (id, why)


def import_accounts(
    parts: Parts, op: Operator, source: str, accounts: Mapping[str, object]
) -> Imported:
    """The accounts of the old JSON accounts file, roles mapped one to one, no teams; their
    argon2 hashes kept (the person knows that password: not temporary)."""
    result = Imported()
    for user, record in sorted(accounts.items()):
        if not isinstance(record, dict):
            result.skipped.append((user, "not an account"))
            continue
        if parts.people.get(user) is not None:
            result.skipped.append((user, "already a person here"))
            continue
        try:
            added = parts.people.add(
                user, roles=[str(record.get("role", ""))], name=str(record.get("name", ""))
            )
            parts.people.import_hash(added.id, str(record.get("password_hash", "")))
        except PeopleError as error:
            parts.people.remove(user)
            result.skipped.append((user, str(error)))
            continue
        units = "no team or area"
        audit(parts, op, added.id, f"imported from {source}: {_shown(added.roles)}; {units}")
        result.imported.append(added.id)
    return result


# --- a person's own password ----------------------------------------------------------------


def change_own_password(
    parts: Parts, who: Person, channel: Channel, address: str, current: str, new: str
) -> None:
    """The person's own new password (never temporary), once their current one is checked."""
    op = Operator(who.id, channel, address, role=None)
    if parts.people.verify_password(who.id, current) is None:
        audit(parts, op, who.id, "own password change refused: current password wrong",
              Outcome.REFUSED)  # fmt: skip
        raise AccountRefused("Your current password is not right", "current_password")
    if new == current:
        audit(parts, op, who.id, "own password change refused: the same password",
              Outcome.REFUSED)  # fmt: skip
        raise AccountRefused("Choose a password different from your current one", "password")
    _attempt(
        parts,
        op,
        who.id,
        "password changed by the person",
        lambda: parts.people.set_password(who.id, new, must_change=False),
    )
