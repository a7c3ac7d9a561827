"""Decisions both paths take, written once: reassigning a member of staff on the case.

Reassigning picks a person, not a free-text address: the face that sends ``reassign_worker``
looks the person up in the people records (active, holding the role, in the case's team when
the case has one: :func:`domain.scoping.may_allocate`) and fills the contact's name and email
from that record, with ``user`` set to the person's id. The case is then allocated to that
person in the role (the record's ``case_allocations``). A decision already in a history whose
contact names no person (the shape before people were records) is still taken as it was: the
role is left unallocated.
"""

from __future__ import annotations

from datetime import datetime

from domain.decisions import ReassignWorker
from domain.path import DecisionRule, Effects, PathState, Refusal


def _check_reassign(state: PathState, d: ReassignWorker, now: datetime) -> None:
    declared = {r.id for r in state.procedure.roles}
    if d.contact.role not in declared:
        raise Refusal(f"'{d.contact.role}' is not a role in this procedure.")


# The timeline entry's data key for who the case was given to: the case record tells a fresh
# allocation of an id from one its removed person ended (records.store).
REASSIGNED = "reassigned"


def _reassign(state: PathState, d: ReassignWorker, now: datetime, fx: Effects) -> str:
    """The new contact replaces whoever held the role; chasing emails go to them from now on."""
    case = state.case
    others = [c for c in case.start.contacts if c.role != d.contact.role]
    case.start = case.start.model_copy(update={"contacts": [*others, d.contact]})
    if d.contact.user:
        fx.data[REASSIGNED] = {"role": d.contact.role, "user": d.contact.user}
    return f"{state.procedure.role(d.contact.role).title} reassigned"


REASSIGN_WORKER: DecisionRule[PathState, ReassignWorker] = DecisionRule(
    ReassignWorker, "reassign a worker", _reassign, check=_check_reassign
)
