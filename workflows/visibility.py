"""What a path shows support staff in the Temporal UI's search attributes, written once for both
workflows: its stage, its statutory limit, what is next, whose turn, how late."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio.common import SearchAttributeKey, SearchAttributeUpdate

from contracts import search_attributes as sa
from domain.case_record import progress


def path_attributes(
    stage_key: SearchAttributeKey[str],
    state: Any,
    deadline: datetime | None,
    now: datetime,
    delivery_failing: bool,
) -> list[SearchAttributeUpdate[Any]]:
    """``state`` is the case's or the plan's; ``deadline`` the limit it works towards now."""
    shown = progress(state, now)
    due, milestone, role = shown["next_due"], shown["next_milestone"], shown["awaiting_role"]
    return [
        stage_key.value_set(state.stage.value),
        sa.DEADLINE.value_set(deadline) if deadline else sa.DEADLINE.value_unset(),
        sa.NEXT_DUE.value_set(due) if due else sa.NEXT_DUE.value_unset(),
        sa.NEXT_MILESTONE.value_set(milestone) if milestone else sa.NEXT_MILESTONE.value_unset(),
        sa.AWAITING_ROLE.value_set(role) if role else sa.AWAITING_ROLE.value_unset(),
        sa.OUT_OF_TIMESCALE.value_set(shown["out_of_timescale"]),
        sa.ESCALATED.value_set(shown["escalated"]),
        sa.DELIVERY_FAILING.value_set(delivery_failing),
    ]
