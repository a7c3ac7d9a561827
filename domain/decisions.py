"""What a case starts with and the decisions that move it on: plain, validated data.

The case reference is the authority's own id. Children's names, dates of birth and addresses
are never part of a case: invitees on a convening sheet are the adults invited, and their
contact details only ever travel to the mail activity, never to ids, logs or search attributes.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from domain.people import UNIT_ID
from domain.vocabulary import DecisionKind

REFERENCE = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$"
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"

Reference = Annotated[str, Field(pattern=REFERENCE)]
# A team or an area, as the people records name them (domain.people: "north-1", "north").
Unit = Annotated[str, Field(pattern=UNIT_ID.pattern)]
Email = Annotated[str, Field(pattern=EMAIL, max_length=254)]
Text = Annotated[str, Field(max_length=4000)]
RequiredText = Annotated[str, Field(min_length=1, max_length=4000)]


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Likelihood(StrEnum):
    LIKELY = "likely"
    POSSIBLE = "possible"
    UNLIKELY = "unlikely"


class Contact(Frozen):
    """A member of staff the procedure needs, by the role they hold on this case."""

    role: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    email: Email
    # Their person id (sign-in id): the case is allocated to them in this role (domain.scoping).
    user: str | None = None


class CaseStart(Frozen):
    procedure_id: str
    case_reference: Reference
    family_reference: Reference
    strategy_discussion: AwareDatetime
    section_47_initiated: bool = True
    icpc_likelihood: Likelihood = Likelihood.LIKELY
    contacts: list[Contact] = Field(default_factory=list)
    # 004: when a previous child protection plan for this child ended, if within memory.
    previous_plan_ended: date | None = None
    # The social work team and the area the case belongs to, for who may see and decide it
    # (domain.scoping); a case with neither is seen by its allocated people and service-wide
    # staff only.
    team: Unit | None = None
    area: Unit | None = None


class Invitee(Frozen):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    role_or_relationship: Annotated[str, Field(min_length=1, max_length=200)]
    agency: Annotated[str, Field(max_length=200)] = ""
    email: Email | None = None
    telephone: Annotated[str, Field(max_length=40)] | None = None
    postal_address: Annotated[str, Field(max_length=500)] | None = None
    safety_notes: Text = ""
    dates_to_avoid: list[date] = Field(default_factory=list)
    is_school: bool = False


class ConferenceFormat(StrEnum):
    IN_PERSON = "in_person"
    HYBRID = "hybrid"
    VIRTUAL = "virtual"


class Booking(Frozen):
    starts_at: AwareDatetime
    duration_minutes: Annotated[int, Field(gt=0, le=480)] = 120
    format: ConferenceFormat
    venue: Annotated[str, Field(max_length=300)] = ""
    chair: Annotated[str, Field(min_length=1, max_length=200)]


class Outcome(StrEnum):
    CHILD_PROTECTION_PLAN = "child_protection_plan"
    NO_PLAN = "no_plan"


class Decider(Frozen):
    """Who decided: a sign-in id (not a display name) and the role they acted in."""

    user: Annotated[str, Field(min_length=1, max_length=200)]
    role: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]


class DecisionBase(Frozen):
    decided_by: Decider
    reason: Text = ""


class ConfirmIcpc(DecisionBase):
    kind: Literal[DecisionKind.CONFIRM_ICPC] = DecisionKind.CONFIRM_ICPC


class WithdrawIcpc(DecisionBase):
    kind: Literal[DecisionKind.WITHDRAW_ICPC] = DecisionKind.WITHDRAW_ICPC
    reason: RequiredText


class ReceiveConveningSheet(DecisionBase):
    kind: Literal[DecisionKind.RECEIVE_CONVENING_SHEET] = DecisionKind.RECEIVE_CONVENING_SHEET
    invitees: list[Invitee] = Field(min_length=1)


class BookConference(DecisionBase):
    kind: Literal[DecisionKind.BOOK_CONFERENCE] = DecisionKind.BOOK_CONFERENCE
    booking: Booking


class ShareReport(DecisionBase):
    kind: Literal[DecisionKind.SHARE_REPORT] = DecisionKind.SHARE_REPORT


class RequestPoliceChecks(DecisionBase):
    kind: Literal[DecisionKind.REQUEST_POLICE_CHECKS] = DecisionKind.REQUEST_POLICE_CHECKS
    reason: RequiredText  # 004: police will not run a check without a brief description why


class RequestDelay(DecisionBase):
    kind: Literal[DecisionKind.REQUEST_DELAY] = DecisionKind.REQUEST_DELAY
    reason: RequiredText
    proposed_date: date
    safety_plan: RequiredText


class ApproveDelay(DecisionBase):
    kind: Literal[DecisionKind.APPROVE_DELAY] = DecisionKind.APPROVE_DELAY
    reason: RequiredText  # the approver's comments, recorded with the approval


class RejectDelay(DecisionBase):
    kind: Literal[DecisionKind.REJECT_DELAY] = DecisionKind.REJECT_DELAY
    reason: RequiredText


class ReportCapacityProblem(DecisionBase):
    kind: Literal[DecisionKind.REPORT_CAPACITY_PROBLEM] = DecisionKind.REPORT_CAPACITY_PROBLEM
    problem: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]


class StandDown(DecisionBase):
    kind: Literal[DecisionKind.STAND_DOWN] = DecisionKind.STAND_DOWN
    stand_down_reason: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    reason: RequiredText  # the rationale, in the decider's words


class RebookConference(DecisionBase):
    kind: Literal[DecisionKind.REBOOK_CONFERENCE] = DecisionKind.REBOOK_CONFERENCE
    booking: Booking


class HoldConference(DecisionBase):
    kind: Literal[DecisionKind.HOLD_CONFERENCE] = DecisionKind.HOLD_CONFERENCE
    outcome: Outcome
    held_at: AwareDatetime | None = None  # defaults to the booked start


class ReassignWorker(DecisionBase):
    """The new member of staff in a role (the social worker, usually): ``contact.user`` is the
    person's id and the name and email come from their person record (the faces fill them; see
    :mod:`domain.shared_rules`). Histories hold older decisions without ``user``."""

    kind: Literal[DecisionKind.REASSIGN_WORKER] = DecisionKind.REASSIGN_WORKER
    contact: Contact


class RecordRepeatPlanOversight(DecisionBase):
    kind: Literal[DecisionKind.RECORD_REPEAT_PLAN_OVERSIGHT] = (
        DecisionKind.RECORD_REPEAT_PLAN_OVERSIGHT
    )
    reason: RequiredText


class ApproveWithoutInvitations(DecisionBase):
    """Approval to hold the booked conference although its invitations did not go out with
    the procedure's notice (the procedure's ``[holding]``), with the reason why."""

    kind: Literal[DecisionKind.APPROVE_WITHOUT_INVITATIONS] = (
        DecisionKind.APPROVE_WITHOUT_INVITATIONS
    )
    reason: RequiredText


class RecordStep(DecisionBase):
    """A step the procedure names as a milestone (satisfied by ``record_step``), recorded as done
    by the role responsible for it: the strategy form, the s47 authorised, a safety screening..."""

    kind: Literal[DecisionKind.RECORD_STEP] = DecisionKind.RECORD_STEP
    step: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
    # One of the step's ``choices`` when it declares some (003: "hybrid" or "virtual").
    choice: Annotated[str, Field(max_length=64)] = ""


class AdviseConferenceSplit(DecisionBase):
    """004: "The social worker at this time should advise if the conference needs to be split
    and any known risks or concerns with the families participation in the meeting." """

    kind: Literal[DecisionKind.ADVISE_CONFERENCE_SPLIT] = DecisionKind.ADVISE_CONFERENCE_SPLIT
    split_needed: bool
    reason: RequiredText  # the known risks or concerns with the family's participation
