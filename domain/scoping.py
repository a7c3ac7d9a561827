"""Who may see a case, who may decide on it, and the break-glass read: pure rules.

The same rules serve every face: the web form, the command line and the reports. A case's
:class:`CaseScope` is its procedure, its team and area (both optional) and the people allocated
to it by role; a :class:`domain.people.Person` holds roles and belongs to teams, areas or the
whole service.

Seeing a case (:func:`may_see`):

- a person allocated to the case (in any role) sees it;
- the social worker role is a *caseholder* role: it gives sight of the cases allocated to the
  person and of no others, whatever team the person is in;
- any other case role (team manager, area head of service, conference service, chair ...)
  gives sight of the cases of the person's teams and areas, and of every case when the person
  is service-wide;
- the product's own roles (admin, support) give no sight of any case;
- a case with neither team nor area is seen by the people allocated to it and by service-wide
  people only;
- a disabled account sees nothing.

Deciding (:func:`may_decide`): the role acted in must be one the procedure names for the
decision and one the person holds, and the person must be in scope for the case *through that
role*: a caseholder role only when the person is allocated to the case in that role; any other
role when the person is allocated to the case in it, or the case is in one of their teams or
areas, or they are service-wide.

Break glass (:func:`break_glass`): a person holding one of the senior roles may read a case
outside their scope, only with a typed reason, which the face records in the audit trail. It
gives sight, never a decision.

Separation of duties is checked on the person: every decision records ``Decider.user``, the
person's id, and the decision rules compare those ids (never accounts or display names).

Reasons are plain sentences, addressed to the person asking.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from domain.decisions import CaseStart, Contact
from domain.people import PRODUCT_ROLES, Person
from domain.procedure import Procedure
from domain.reasons import visible_length
from domain.vocabulary import DecisionKind
from domain.wording import in_sentence

SOCIAL_WORKER = "social_worker"
TEAM_MANAGER = "team_manager"

# Roles whose holders see only the cases allocated to them (the social worker in every
# procedure): a caseload, not a team's cases.
CASEHOLDER_ROLES: frozenset[str] = frozenset({SOCIAL_WORKER})

# Roles allocated from within the case's team: a case with a team is allocated to a social
# worker or a team manager of that team only.
TEAM_ALLOCATED_ROLES: frozenset[str] = frozenset({SOCIAL_WORKER, TEAM_MANAGER})

# The senior roles that may break glass (ICPC_BREAK_GLASS_ROLES overrides them). One or two in
# each procedure: those accountable for safeguarding across the service or an area, who approve
# delays or sit over the conference service, and the duty officer who acts out of hours.
# bct-management-note: head_of_service_safeguarding, area_head_of_service
# man13-qarss: ops_manager_cp, area_manager
# leicestershire-leaflet: service_manager, safeguarding_manager
# isu-practitioner-guide: isu_service_delivery_manager
# cp-conference-responsibilities: duty_principal_officer
# Team managers, social workers, business support and chairs are not among them: their work is
# within their team or the cases they serve.
BREAK_GLASS_ROLES: frozenset[str] = frozenset(
    {
        "head_of_service_safeguarding",
        "area_head_of_service",
        "ops_manager_cp",
        "area_manager",
        "service_manager",
        "safeguarding_manager",
        "isu_service_delivery_manager",
        "duty_principal_officer",
    }
)

# A break-glass reason must say something: at least this many characters, not counting spaces
# or invisible ones (domain.reasons).
BREAK_GLASS_MIN_REASON = 10


@dataclass(frozen=True)
class CaseScope:
    """What the scoping rules need of a case: never a name, only ids."""

    procedure_id: str
    team: str | None = None
    area: str | None = None
    # (role, person id) for each person allocated to the case now.
    allocated: frozenset[tuple[str, str]] = field(default_factory=frozenset)

    def roles_of(self, person_id: str) -> frozenset[str]:
        """The roles ``person_id`` is allocated to the case in (none: not allocated)."""
        return frozenset(role for role, who in self.allocated if who == person_id)

    def people_in(self, role: str) -> frozenset[str]:
        return frozenset(who for r, who in self.allocated if r == role)


def allocations(contacts: Iterable[Contact]) -> dict[str, str]:
    """The people a case is allocated to, by role: its contacts that name a sign-in id. One
    person a role (a later contact for a role replaces an earlier one, as reassigning does)."""
    allocated: dict[str, str] = {}
    for contact in contacts:
        if contact.user:
            allocated[contact.role] = contact.user
        else:
            allocated.pop(contact.role, None)
    return allocated


def scope_of(
    procedure_id: str,
    team: str | None = None,
    area: str | None = None,
    allocated: Mapping[str, str] | Iterable[tuple[str, str]] = (),
) -> CaseScope:
    pairs = allocated.items() if isinstance(allocated, Mapping) else allocated
    return CaseScope(procedure_id, team or None, area or None, frozenset(pairs))


def scope_of_start(start: CaseStart) -> CaseScope:
    """A case's scope from its start (or its start as reassignments have changed it)."""
    return scope_of(start.procedure_id, start.team, start.area, allocations(start.contacts))


@dataclass(frozen=True)
class Verdict:
    """Allowed, or refused with the plain reason why; true when allowed."""

    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Verdict(True)


def _refused(reason: str) -> Verdict:
    return Verdict(False, reason)


def _words(role: str, titles: Mapping[str, str] | None) -> str:
    return (titles or {}).get(role) or role.replace("_", " ")


def unit_roles(person: Person) -> frozenset[str]:
    """The person's roles that give sight of their teams' and areas' cases (and of every case
    when service-wide): every case role except the caseholder roles; no product role."""
    return frozenset(person.roles - CASEHOLDER_ROLES - PRODUCT_ROLES.keys())


def in_units(person: Person, scope: CaseScope) -> bool:
    """The case is in one of the person's teams or areas, or they are service-wide."""
    return (
        person.service_wide
        or (scope.team is not None and scope.team in person.teams)
        or (scope.area is not None and scope.area in person.areas)
    )


def may_see(person: Person, scope: CaseScope) -> Verdict:
    """Whether ``person`` may see the case (lists, pages, reports)."""
    if not person.active:
        return _refused("Your account is disabled.")
    if scope.roles_of(person.id):
        return ALLOWED
    if unit_roles(person) and in_units(person, scope):
        return ALLOWED
    if person.roles and person.roles <= CASEHOLDER_ROLES:
        return _refused("This case is not allocated to you.")
    if not unit_roles(person):
        return _refused("Your roles give no access to cases.")
    if scope.team is None and scope.area is None:
        return _refused(
            "This case has no team or area: only the people allocated to it and"
            " service-wide staff may see it."
        )
    return _refused("This case is not in your team or area, and is not allocated to you.")


def may_decide(
    person: Person,
    role: str,
    decision_roles: Collection[str],
    scope: CaseScope,
    *,
    titles: Mapping[str, str] | None = None,
) -> Verdict:
    """Whether ``person`` may take a decision on the case acting in ``role``.

    ``decision_roles`` are the roles the case's procedure names for the decision; ``titles``
    (role id to its title mid-sentence) words the reasons, role ids otherwise.
    """
    if not person.active:
        return _refused("Your account is disabled.")
    if role not in decision_roles:
        allowed = " or ".join(_words(r, titles) for r in decision_roles) or "nobody"
        return _refused(
            f"The procedure does not give this decision to the {_words(role, titles)} role;"
            f" it is for the {allowed}."
            if decision_roles
            else "The procedure gives this decision to nobody."
        )
    if not person.holds(role):
        return _refused(f"You do not hold the {_words(role, titles)} role.")
    if role in scope.roles_of(person.id):
        return ALLOWED
    if role in CASEHOLDER_ROLES:
        return _refused(
            f"This case is not allocated to you as its {_words(role, titles)}; only the"
            f" allocated {_words(role, titles)} may act in that role."
        )
    if role in PRODUCT_ROLES:
        return _refused(f"The {_words(role, titles)} role takes no decision on a case.")
    if in_units(person, scope):
        return ALLOWED
    if scope.team is None and scope.area is None:
        return _refused(
            "This case has no team or area: only the people allocated to it and"
            " service-wide staff may decide on it."
        )
    return _refused("This case is not in your team or area, and is not allocated to you.")


def may_allocate(
    person: Person, role: str, scope: CaseScope, *, titles: Mapping[str, str] | None = None
) -> Verdict:
    """Whether ``person`` may be allocated to the case in ``role`` (at start, or reassigning):
    an active person holding the role; for a social worker or team manager of a case with a
    team, a member of that team; for any other role of a case with an area, a member of that
    area (or of the case's team, or service-wide)."""
    name = person.display_name
    if not person.active:
        return _refused(f"{name}'s account is disabled.")
    if not person.holds(role):
        return _refused(f"{name} does not hold the {_words(role, titles)} role.")
    if role in TEAM_ALLOCATED_ROLES:
        if scope.team is not None and scope.team not in person.teams:
            return _refused(f"{name} is not in this case's team ({scope.team}).")
    elif scope.area is not None and not in_units(person, scope):
        return _refused(f"{name} is not in this case's area ({scope.area}).")
    return ALLOWED


def _no_person(person_id: str) -> Verdict:
    return _refused(f"There is no person '{person_id}'.")


def may_be_allocated(
    scope: CaseScope,
    people: Mapping[str, Person | None],
    *,
    titles: Mapping[str, str] | None = None,
) -> Verdict:
    """Whether the case may be allocated to the people its scope names (a start's contacts
    with a sign-in id): each a person on record (``people``: their records by id, None or
    missing when there is none) whom :func:`may_allocate` allows in their role."""
    for role, person_id in sorted(scope.allocated):
        person = people.get(person_id)
        if person is None:
            return _no_person(person_id)
        verdict = may_allocate(person, role, scope, titles=titles)
        if not verdict:
            return verdict
    return ALLOWED


def may_start(
    person: Person,
    procedure_roles: Collection[str],
    scope: CaseScope,
    *,
    people: Mapping[str, Person | None],
    titles: Mapping[str, str] | None = None,
) -> Verdict:
    """Whether ``person`` may start (register) the case: an active person holding a role the
    case's procedure names, who will be able to see the case once started, allocating it only
    to people it may be allocated to (:func:`may_be_allocated`; ``people``: the records of the
    ids the start allocates the case to)."""
    if not person.active:
        return _refused("Your account is disabled.")
    if not person.roles & set(procedure_roles):
        return _refused("You hold no role in this case's procedure, so you may not start it.")
    seen = may_see(person, scope)
    if not seen:
        return _refused(f"You could not see this case once started: {seen.reason}")
    return may_be_allocated(scope, people, titles=titles)


class Access(StrEnum):
    IN_SCOPE = "in_scope"
    BREAK_GLASS = "break_glass"
    REFUSED = "refused"


@dataclass(frozen=True)
class ReadAccess:
    """How a read of a case is allowed: in scope, by breaking glass (with the senior role and
    the reason to record), or refused (with the reason)."""

    access: Access
    reason: str = ""  # the typed reason for a break-glass read; why, for a refusal
    role: str | None = None  # the senior role a break-glass read is made in

    @property
    def allowed(self) -> bool:
        return self.access is not Access.REFUSED

    def __bool__(self) -> bool:
        return self.allowed


def break_glass(
    person: Person,
    scope: CaseScope,
    reason: str = "",
    senior_roles: Collection[str] = BREAK_GLASS_ROLES,
    *,
    titles: Mapping[str, str] | None = None,
) -> ReadAccess:
    """May ``person`` read the case: in scope; or out of scope by breaking glass, for a person
    holding a senior role who gives a reason (the face must audit it); or refused."""
    if may_see(person, scope):
        return ReadAccess(Access.IN_SCOPE)
    if not person.active:
        return ReadAccess(Access.REFUSED, "Your account is disabled.")
    held = sorted(person.roles & set(senior_roles))
    if not held:
        return ReadAccess(
            Access.REFUSED,
            "This case is outside your scope, and your roles may not break glass to read it.",
        )
    text = stated_reason(reason)
    if text is None:
        return ReadAccess(
            Access.REFUSED,
            "This case is outside your scope: to read it, give the reason why (at least"
            f" {BREAK_GLASS_MIN_REASON} characters). The reading and the reason are recorded.",
        )
    return ReadAccess(Access.BREAK_GLASS, text, held[0])


def stated_reason(reason: str) -> str | None:
    """A reason for reading what one's scope does not give (break glass, decoding case data),
    on one line; None when it is shorter than :data:`BREAK_GLASS_MIN_REASON` characters, not
    counting spaces."""
    text = " ".join(reason.split())
    return text if visible_length(text) >= BREAK_GLASS_MIN_REASON else None


def senior_roles_from(setting: str | None) -> frozenset[str]:
    """The break-glass roles from a setting (comma- or space-separated role ids); the default
    when unset or blank. ``none`` turns break glass off."""
    if setting is None or not setting.strip():
        return BREAK_GLASS_ROLES
    roles = frozenset(part for part in setting.replace(",", " ").split() if part)
    return frozenset() if roles == {"none"} else roles


# --- what every face asks of these rules: the role to decide in, the person a case goes to -------


def role_titles(procedure: Procedure) -> dict[str, str]:
    """Each of the procedure's roles by its title mid-sentence: the ``titles`` that word the
    reasons above."""
    return {r.id: in_sentence(r.title) for r in procedure.roles}


@dataclass(frozen=True)
class DecidingRoles:
    """The roles a person may take a decision in on a case, in the order the procedure names
    them. When there is none, the role the refusal is about and why: the first role of theirs
    the procedure names for the decision, else the first it names."""

    roles: tuple[str, ...]
    refused_role: str = ""
    refusal: Verdict = ALLOWED


def deciding_roles(
    person: Person,
    decision_roles: Sequence[str],
    scope: CaseScope,
    *,
    titles: Mapping[str, str] | None = None,
) -> DecidingRoles:
    """Which of ``person``'s roles they may take the decision in on the case (:func:`may_decide`
    for each role the procedure names for it); a face offers only these, and lets the person
    choose when there is more than one."""
    usable = tuple(
        r
        for r in decision_roles
        if person.holds(r) and may_decide(person, r, decision_roles, scope)
    )
    if usable:
        return DecidingRoles(usable)
    held = [r for r in decision_roles if person.holds(r)]
    role = held[0] if held else decision_roles[0] if decision_roles else "none"
    return DecidingRoles((), role, may_decide(person, role, decision_roles, scope, titles=titles))


# Requests another role answers: the decision that asks, what it asks for, and the decisions
# that give or refuse it.
APPROVALS: dict[DecisionKind, tuple[str, tuple[DecisionKind, ...]]] = {
    DecisionKind.REQUEST_DELAY: ("delays", (DecisionKind.APPROVE_DELAY, DecisionKind.REJECT_DELAY)),
    DecisionKind.REQUEST_REVIEW_MOVE: ("moves of a review", (DecisionKind.APPROVE_REVIEW_MOVE,)),
}


def may_reassign(by: Person, role: str, procedure: Procedure) -> Verdict:
    """Whether ``by`` may choose who holds ``role`` on a case: not when ``role`` answers a
    request one of ``by``'s other roles may make (a team manager who asks for a delay does not
    pick the head of service who approves it). Checked at every face, before the person."""
    titles = role_titles(procedure)
    for request, (what, answers) in APPROVALS.items():
        if not any(procedure.may_decide(role, answer) for answer in answers):
            continue
        asking = [r for r in procedure.roles_for(request) if r != role and by.holds(r)]
        if asking:
            asker = _words(asking[0], titles)
            return _refused(
                f"The {_words(role, titles)} approves the {what} a {asker} asks for: a"
                f" {asker} may not choose who holds that role."
            )
    return ALLOWED


def may_take_over(
    person: Person | None,
    role: str,
    scope: CaseScope,
    *,
    by: Person,
    procedure: Procedure,
    person_id: str = "",
    titles: Mapping[str, str] | None = None,
) -> Verdict:
    """Whether ``by`` may give a case to ``person`` (looked up by ``person_id``) in ``role`` on
    reassignment: a role ``by`` may choose the holder of (:func:`may_reassign`), a known person
    who may be allocated to it (:func:`may_allocate`), with an email address on record for the
    case's notices (never one typed in a form)."""
    chooses = may_reassign(by, role, procedure)
    if not chooses:
        return chooses
    if person is None:
        return _no_person(person_id)
    verdict = may_allocate(person, role, scope, titles=titles)
    if not verdict:
        return verdict
    if not person.email:
        return _refused(
            f"{person.display_name} has no email address on record; an administrator must add"
            " one before a case is given to them."
        )
    return ALLOWED


def contact_for(person: Person, role: str) -> Contact:
    """The case's contact for ``person`` in ``role``: their name and email from their record and
    their id, which allocates the case to them (:func:`may_take_over` first). Raises pydantic's
    ValidationError if the record's email is not one a contact may hold."""
    return Contact(role=role, name=person.display_name, email=person.email or "", user=person.id)
