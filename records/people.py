"""People as the case record's database keeps them: one sign-in each, several roles, the teams
and areas they belong to (or the whole service), a local password (argon2) for the embedded
default, the single sign-on subject they are linked to, and their command-line tokens.

Every web process, worker and command shares these tables, so a change made by one is seen by
all on their next read. The store checks roles against the set its caller passes (the
installed procedures' role ids and :data:`domain.people.PRODUCT_ROLES`); it loads no
procedure itself.

Blocking (SQLAlchemy, synchronous): call it from a thread when in async code.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from domain.passwords import password_problem
from domain.people import PERSON_ID, ROLE_ID, UNIT_ID, Person, UnitKind
from records.schema import (
    CaseAllocationRow,
    EndedAllocationRow,
    PersonRoleRow,
    PersonRow,
    PersonTokenRow,
    PersonUnitRow,
)

SERVICE_UNIT = "service"  # the unit id of the one whole-service membership
TOKEN_PREFIX = "icpc_"

_HASHER = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Checked against when there is no hash to check, so a wrong id costs as long as a wrong
    password. Made at the first sign-in, not at import: a hash is ~85 ms every process paid."""
    return _HASHER.hash("not a real password, only for timing")


class PeopleError(ValueError):
    """A change to a person that cannot be made as asked; the message says why, in one line,
    and ``field`` names what was wrong (person_id, roles, teams, areas, email, password)."""

    def __init__(self, message: str, field: str = "person_id") -> None:
        super().__init__(message)
        self.field = field


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def normalise_id(person_id: str) -> str:
    return person_id.strip().lower()


def end_allocations(connection: Connection, person_id: str) -> None:
    """End every allocation of ``person_id``: kept as ended (the cases' later batches still
    name the id, :meth:`records.store.RecordStore.append` leaves it out), then dropped."""
    mine = CaseAllocationRow.person_id == person_id
    ended = connection.execute(
        select(CaseAllocationRow.case_id, CaseAllocationRow.role).where(mine)
    ).all()
    already = {
        (row.case_id, row.role)
        for row in connection.execute(
            select(EndedAllocationRow.case_id, EndedAllocationRow.role).where(
                EndedAllocationRow.person_id == person_id
            )
        )
    }
    rows = [
        {"case_id": row.case_id, "role": row.role, "person_id": person_id, "ended_at": _now()}
        for row in ended
        if (row.case_id, row.role) not in already
    ]
    if rows:
        connection.execute(insert(EndedAllocationRow), rows)
    connection.execute(delete(CaseAllocationRow).where(mine))


class PeopleStore:
    """People on an engine the caller owns (and disposes of). Thread-safe."""

    def __init__(self, engine: Engine, known_roles: Collection[str] | None = None) -> None:
        self._engine = engine
        self.known_roles = frozenset(known_roles) if known_roles is not None else None

    # --- checks -------------------------------------------------------------------------

    def _check_id(self, person_id: str) -> str:
        person_id = normalise_id(person_id)
        if not PERSON_ID.match(person_id):
            raise PeopleError(
                "a sign-in id is 1 to 64 lower-case letters, digits, '.', '_', '@' or '-'"
            )
        return person_id

    def _check_roles(self, roles: Iterable[str]) -> frozenset[str]:
        found = frozenset(r.strip() for r in roles if r.strip())
        if not found:
            raise PeopleError("a person needs at least one role", "roles")
        for role in sorted(found):
            if not ROLE_ID.match(role):
                raise PeopleError(f"'{role}' is not a role id (such as team_manager)", "roles")
            if self.known_roles is not None and role not in self.known_roles:
                raise PeopleError(
                    f"'{role}' is not a role of any installed procedure nor of the product"
                    f" (roles: {', '.join(sorted(self.known_roles))})",
                    "roles",
                )
        return found

    @staticmethod
    def _check_units(units: Iterable[str], what: str) -> frozenset[str]:  # what: team, area
        found = frozenset(u.strip() for u in units if u.strip())
        for unit in sorted(found):
            if not UNIT_ID.match(unit):
                raise PeopleError(
                    f"'{unit}' is not a {what} id: letters, digits, '_' and '-', up to 100",
                    f"{what}s",
                )
        return found

    @staticmethod
    def _check_email(email: str | None) -> str | None:
        if email is None or not email.strip():
            return None
        email = email.strip()
        local, _, domain = email.rpartition("@")
        if not local or "." not in domain or any(c.isspace() for c in email) or len(email) > 254:
            raise PeopleError(f"'{email}' is not an email address", "email")
        return email

    @staticmethod
    def _check_password(person_id: str, password: str) -> str:
        problem = password_problem(password, person_id)
        if problem is not None:
            raise PeopleError(problem, "password")
        return _HASHER.hash(password)

    # --- reading ------------------------------------------------------------------------

    def _people(self, connection: Connection, ids: Sequence[str] | None) -> list[Person]:
        query = select(PersonRow).order_by(PersonRow.id)
        if ids is not None:
            query = query.where(PersonRow.id.in_(ids))
        rows = connection.execute(query).all()
        if not rows:
            return []
        wanted = [row.id for row in rows]
        roles: dict[str, set[str]] = {}
        for person_id, role in connection.execute(
            select(PersonRoleRow.person_id, PersonRoleRow.role).where(
                PersonRoleRow.person_id.in_(wanted)
            )
        ):
            roles.setdefault(person_id, set()).add(role)
        units: dict[str, dict[str, set[str]]] = {}
        for person_id, kind, unit in connection.execute(
            select(PersonUnitRow.person_id, PersonUnitRow.kind, PersonUnitRow.unit).where(
                PersonUnitRow.person_id.in_(wanted)
            )
        ):
            units.setdefault(person_id, {}).setdefault(kind, set()).add(unit)
        return [
            Person(
                id=row.id,
                name=row.name,
                email=row.email,
                roles=frozenset(roles.get(row.id, ())),
                teams=frozenset(units.get(row.id, {}).get(UnitKind.TEAM.value, ())),
                areas=frozenset(units.get(row.id, {}).get(UnitKind.AREA.value, ())),
                service_wide=bool(units.get(row.id, {}).get(UnitKind.SERVICE.value)),
                active=row.active,
                password_must_change=row.password_must_change,
            )
            for row in rows
        ]

    def get(self, person_id: str) -> Person | None:
        """The person, active or not (``active`` says which); None if there is no such id."""
        with self._engine.connect() as connection:
            found = self._people(connection, [normalise_id(person_id)])
        return found[0] if found else None

    def all(self) -> list[Person]:
        with self._engine.connect() as connection:
            return self._people(connection, None)

    def has_password(self, person_id: str) -> bool:
        with self._engine.connect() as connection:
            stored = connection.execute(
                select(PersonRow.password_hash).where(PersonRow.id == normalise_id(person_id))
            ).scalar_one_or_none()
        return stored is not None

    # --- writing ------------------------------------------------------------------------

    def _write_roles(self, connection: Connection, person_id: str, roles: frozenset[str]) -> None:
        connection.execute(delete(PersonRoleRow).where(PersonRoleRow.person_id == person_id))
        connection.execute(
            insert(PersonRoleRow), [{"person_id": person_id, "role": r} for r in sorted(roles)]
        )

    def _write_units(
        self,
        connection: Connection,
        person_id: str,
        teams: frozenset[str],
        areas: frozenset[str],
        service_wide: bool,
    ) -> None:
        connection.execute(delete(PersonUnitRow).where(PersonUnitRow.person_id == person_id))
        rows = [
            *({"person_id": person_id, "kind": UnitKind.TEAM.value, "unit": t} for t in teams),
            *({"person_id": person_id, "kind": UnitKind.AREA.value, "unit": a} for a in areas),
        ]
        if service_wide:
            rows.append(
                {"person_id": person_id, "kind": UnitKind.SERVICE.value, "unit": SERVICE_UNIT}
            )
        if rows:
            connection.execute(insert(PersonUnitRow), sorted(rows, key=lambda r: tuple(r.values())))

    def add(
        self,
        person_id: str,
        *,
        roles: Iterable[str],
        name: str = "",
        email: str | None = None,
        teams: Iterable[str] = (),
        areas: Iterable[str] = (),
        service_wide: bool = False,
        password: str | None = None,
        password_must_change: bool = False,
    ) -> Person:
        """A new person; with no password they can sign in by single sign-on only. A password
        someone else chose for them is ``password_must_change``: they change it at sign-in."""
        person_id = self._check_id(person_id)
        checked_roles = self._check_roles(roles)
        checked_teams = self._check_units(teams, "team")
        checked_areas = self._check_units(areas, "area")
        checked_email = self._check_email(email)
        password_hash = self._check_password(person_id, password) if password is not None else None
        now = _now()
        try:
            with self._engine.begin() as connection:
                connection.execute(
                    insert(PersonRow).values(
                        id=person_id,
                        name=name.strip()[:200],
                        email=checked_email,
                        active=True,
                        password_hash=password_hash,
                        password_must_change=password_hash is not None and password_must_change,
                        oidc_subject=None,
                        created_at=now,
                        updated_at=now,
                    )
                )
                self._write_roles(connection, person_id, checked_roles)
                self._write_units(connection, person_id, checked_teams, checked_areas, service_wide)
        except IntegrityError:
            raise PeopleError(f"'{person_id}' already has an account") from None
        found = self.get(person_id)
        assert found is not None
        return found

    def _change(self, person_id: str, **values: object) -> None:
        with self._engine.begin() as connection:
            self._update_row(connection, person_id, **values)

    @staticmethod
    def _update_row(connection: Connection, person_id: str, **values: object) -> None:
        result = connection.execute(
            update(PersonRow)
            .where(PersonRow.id == normalise_id(person_id))
            .values(updated_at=_now(), **values)
        )
        if result.rowcount == 0:
            raise PeopleError(f"no account '{normalise_id(person_id)}'")

    def update(
        self,
        person_id: str,
        *,
        name: str | None = None,
        email: str | None = None,
        roles: Iterable[str] | None = None,
        teams: Iterable[str] | None = None,
        areas: Iterable[str] | None = None,
        service_wide: bool | None = None,
    ) -> Person:
        """Change what is given (None leaves it as it is; an empty email removes it)."""
        person_id = normalise_id(person_id)
        current = self.get(person_id)
        if current is None:
            raise PeopleError(f"no account '{person_id}'")
        values: dict[str, object] = {}
        if name is not None:
            values["name"] = name.strip()[:200]
        if email is not None:
            values["email"] = self._check_email(email)
        new_roles = self._check_roles(roles) if roles is not None else None
        new_teams = self._check_units(teams, "team") if teams is not None else current.teams
        new_areas = self._check_units(areas, "area") if areas is not None else current.areas
        wide = current.service_wide if service_wide is None else service_wide
        units_changed = teams is not None or areas is not None or service_wide is not None
        with self._engine.begin() as connection:
            self._update_row(connection, person_id, **values)
            if new_roles is not None:
                self._write_roles(connection, person_id, new_roles)
            if units_changed:
                self._write_units(connection, person_id, new_teams, new_areas, wide)
        found = self.get(person_id)
        assert found is not None
        return found

    def disable(self, person_id: str) -> None:
        """The person can no longer sign in or act; their sessions and tokens stop working."""
        self._change(person_id, active=False)

    def enable(self, person_id: str) -> None:
        self._change(person_id, active=True)

    def set_password(self, person_id: str, password: str, *, must_change: bool = False) -> None:
        """A new password: ``must_change`` when someone else set it (an administrator), not
        when the person chose it themselves."""
        self._change(
            person_id,
            password_hash=self._check_password(normalise_id(person_id), password),
            password_must_change=must_change,
        )

    def remove(self, person_id: str) -> bool:
        """Delete the person, their roles, units and tokens, and end their allocations (a new
        account with the same id inherits no case); False if there was none."""
        person_id = normalise_id(person_id)
        with self._engine.begin() as connection:
            for table in (PersonRoleRow, PersonUnitRow, PersonTokenRow):
                connection.execute(delete(table).where(table.person_id == person_id))
            result = connection.execute(delete(PersonRow).where(PersonRow.id == person_id))
            if result.rowcount:
                end_allocations(connection, person_id)
        return bool(result.rowcount)

    # --- local passwords ----------------------------------------------------------------

    def verify_password(self, person_id: str, password: str) -> Person | None:
        """The person if ``password`` is theirs (active or not: the caller refuses a disabled
        account with its own message); None otherwise, about as slowly for an unknown id."""
        person_id = normalise_id(person_id)
        with self._engine.connect() as connection:
            stored = connection.execute(
                select(PersonRow.password_hash).where(PersonRow.id == person_id)
            ).scalar_one_or_none()
        try:
            _HASHER.verify(stored or _dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            return None
        if stored is None:
            return None
        if _HASHER.check_needs_rehash(stored):
            with self._engine.begin() as connection:
                connection.execute(
                    update(PersonRow)
                    .where(PersonRow.id == person_id, PersonRow.password_hash == stored)
                    .values(password_hash=_HASHER.hash(password))
                )
        return self.get(person_id)

    def import_hash(self, person_id: str, password_hash: str) -> None:
        """Keep a password already hashed with argon2 elsewhere (the old accounts file)."""
        if not password_hash.startswith("$argon2"):
            raise PeopleError("only argon2 password hashes can be imported", "password")
        self._change(person_id, password_hash=password_hash)

    # --- single sign-on -----------------------------------------------------------------

    def find_by_oidc_subject(self, subject: str) -> Person | None:
        with self._engine.connect() as connection:
            person_id = connection.execute(
                select(PersonRow.id).where(PersonRow.oidc_subject == subject)
            ).scalar_one_or_none()
            if person_id is None:
                return None
            found = self._people(connection, [person_id])
        return found[0] if found else None

    def oidc_subject_of(self, person_id: str) -> str | None:
        """The sign-on identity the person is linked to, if any."""
        with self._engine.connect() as connection:
            found: str | None = connection.execute(
                select(PersonRow.oidc_subject).where(PersonRow.id == person_id)
            ).scalar_one_or_none()
        return found

    def ids_with_email(self, email: str, limit: int = 2) -> list[str]:
        """The ids of people with this email address (case-insensitive), at most ``limit``."""
        with self._engine.connect() as connection:
            return list(
                connection.execute(
                    select(PersonRow.id)
                    .where(func.lower(PersonRow.email) == email.lower())
                    .limit(limit)
                ).scalars()
            )

    def link_oidc_subject(self, person_id: str, subject: str) -> None:
        """Link the identity provider's subject to the person (a subject links one person)."""
        if not subject or len(subject) > 500:
            raise PeopleError("an identity provider subject is 1 to 500 characters")
        try:
            self._change(person_id, oidc_subject=subject)
        except IntegrityError:
            raise PeopleError("that sign-on identity is already linked to another person") from None

    # --- command-line tokens ------------------------------------------------------------

    def issue_token(self, person_id: str, label: str = "") -> str:
        """A new token the command line acts as the person with; only its sha256 is kept."""
        person_id = normalise_id(person_id)
        if self.get(person_id) is None:
            raise PeopleError(f"no account '{person_id}'")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._engine.begin() as connection:
            connection.execute(
                insert(PersonTokenRow).values(
                    token_hash=token_hash(token),
                    person_id=person_id,
                    label=label.strip()[:200],
                    created_at=_now(),
                    revoked_at=None,
                )
            )
        return token

    def person_for_token(self, token: str) -> Person | None:
        """The active person a token that is not revoked belongs to; None otherwise."""
        if not token:
            return None
        with self._engine.connect() as connection:
            person_id = connection.execute(
                select(PersonTokenRow.person_id).where(
                    PersonTokenRow.token_hash == token_hash(token.strip()),
                    PersonTokenRow.revoked_at.is_(None),
                )
            ).scalar_one_or_none()
            if person_id is None:
                return None
            found = self._people(connection, [person_id])
        return found[0] if found and found[0].active else None

    def revoke_tokens(self, person_id: str) -> int:
        with self._engine.begin() as connection:
            result = connection.execute(
                update(PersonTokenRow)
                .where(
                    PersonTokenRow.person_id == normalise_id(person_id),
                    PersonTokenRow.revoked_at.is_(None),
                )
                .values(revoked_at=_now())
            )
        return int(result.rowcount)
