"""Custom search attributes: how support staff find cases in the Temporal UI.

None of them holds personal data: only the authority's references, stages, roles and dates.
"""

from __future__ import annotations

from typing import Any

from temporalio.common import SearchAttributeKey

PROCEDURE = SearchAttributeKey.for_keyword("IcpcProcedure")
CASE_REFERENCE = SearchAttributeKey.for_keyword("IcpcCaseReference")
FAMILY_REFERENCE = SearchAttributeKey.for_keyword("IcpcFamilyReference")
STAGE = SearchAttributeKey.for_keyword("IcpcStage")
DEADLINE = SearchAttributeKey.for_datetime("IcpcDeadline")
NEXT_DUE = SearchAttributeKey.for_datetime("IcpcNextDue")
NEXT_MILESTONE = SearchAttributeKey.for_keyword("IcpcNextMilestone")
AWAITING_ROLE = SearchAttributeKey.for_keyword("IcpcAwaitingRole")
OUT_OF_TIMESCALE = SearchAttributeKey.for_bool("IcpcOutOfTimescale")
ESCALATED = SearchAttributeKey.for_bool("IcpcEscalated")
PLAN_STAGE = SearchAttributeKey.for_keyword("IcpcPlanStage")
# True while the case's emails keep failing (mail server down, bad settings).
DELIVERY_FAILING = SearchAttributeKey.for_bool("IcpcDeliveryFailing")

ALL: list[SearchAttributeKey[Any]] = [
    PROCEDURE,
    CASE_REFERENCE,
    FAMILY_REFERENCE,
    STAGE,
    DEADLINE,
    NEXT_DUE,
    NEXT_MILESTONE,
    AWAITING_ROLE,
    OUT_OF_TIMESCALE,
    ESCALATED,
    PLAN_STAGE,
    DELIVERY_FAILING,
]

_CLI_TYPES = {"KEYWORD": "Keyword", "DATETIME": "Datetime", "BOOL": "Bool"}

# (name, type) as the dev server's --search-attribute flag takes them.
SEARCH_ATTRIBUTES: list[tuple[str, str]] = [
    (key.name, _CLI_TYPES[key.indexed_value_type.name.removeprefix("INDEXED_VALUE_TYPE_")])
    for key in ALL
]
