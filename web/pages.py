"""Where each path of a child's case lives in the form, and how its pages differ.

One row per path (:data:`contracts.paths.PATHS`): its address under the case, its page
template, how lists and links name it. Everything else about a path (its decisions and their
titles, what is available, its workflow) the pages ask the path itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from temporalio.common import SearchAttributeKey

from contracts import search_attributes as sa
from contracts.paths import PATHS, PathContract
from domain.case_record import Stream

# A case id as contracts.case.case_workflow_id makes it: "icpc-<procedure>-<reference>-<day>".
# Ending in the strategy discussion's date, it is never another path's workflow id.
CASE_ID = re.compile(r"^icpc-[A-Za-z0-9_-]{1,160}-[0-9]{8}$")


@dataclass(frozen=True)
class PathPage:
    contract: PathContract
    suffix: str  # the path's address after /cases/<case id>
    template: str
    label: str  # what the waiting list calls it
    back_text: str  # the link from one of its decision pages back to it
    not_found: str  # when the case has no such path
    # Where visibility keeps the path's stage, for a path that does not answer its query.
    stage_attribute: SearchAttributeKey[str]

    @property
    def stream(self) -> Stream:
        return self.contract.stream

    @property
    def noun(self) -> str:
        return self.contract.noun

    def url(self, case_id: str) -> str:
        return f"/cases/{case_id}{self.suffix}"

    def decision_url(self, case_id: str, kind: str) -> str:
        return f"{self.url(case_id)}/decisions/{kind}"

    def break_glass_url(self, case_id: str) -> str:
        """Where a senior role posts the reason to read a case outside their scope."""
        return f"{self.url(case_id)}/break-glass"


PAGES: dict[Stream, PathPage] = {
    Stream.CASE: PathPage(
        PATHS[Stream.CASE],
        suffix="",
        template="case.html",
        label="ICPC",
        back_text="Back to case {reference}",
        not_found="There is no case at this address.",
        stage_attribute=sa.STAGE,
    ),
    Stream.PLAN: PathPage(
        PATHS[Stream.PLAN],
        suffix="/plan",
        template="plan.html",
        label="Child protection plan",
        back_text="Back to the plan for case {reference}",
        not_found="This case has no child protection plan.",
        stage_attribute=sa.PLAN_STAGE,
    ),
}


def case_id_of(contract: PathContract, workflow_id: str) -> str:
    """The case whose path ``contract`` runs as the workflow ``workflow_id``.

    A path's workflow id is the case id with the path's own ending (none for the case)."""
    ending = contract.workflow_id("")
    case_id = workflow_id[: len(workflow_id) - len(ending)] if ending else workflow_id
    if contract.workflow_id(case_id) != workflow_id:
        raise LookupError(f"{workflow_id} is not the workflow id of a {contract.noun}")
    return case_id
