"""A reason must hold text a reader can see (domain.reasons): spaces, zero-width and other
invisible characters alone are refused, for decisions at every face (the web form beside the
box, contracts.client.send_decision for the command line and anything else) and for breaking
glass. Every name here is invented."""

from __future__ import annotations

from datetime import date
from typing import cast

import pytest
from temporalio.client import Client

from contracts.client import send_decision
from domain.case_rules import CASE_PATH
from domain.decisions import Decider, RequestDelay
from domain.people import Person
from domain.reasons import blank_reason_message, has_visible_text, visible_length
from domain.scoping import Access, break_glass, scope_of
from domain.vocabulary import DecisionKind
from tests.case_helpers import procedure
from web.forms import form_for
from web.parsing import parse

INVISIBLE = [
    "   ",
    "\u200b\u200c\u200d\u2060\ufeff",
    "\u00a0\u2003\u3000",  # no-break, em and ideographic spaces (Zs)
    "\u202e\u2066\u00ad",  # bidirectional controls and a soft hyphen (Cf)
    "\x07\x1b",  # control characters (Cc)
    "\u3164\u115f\u2800",  # letters that draw nothing
]
TM = Decider(user="tia", role="team_manager")


@pytest.mark.parametrize("text", INVISIBLE)
def test_invisible_text_is_no_reason(text: str) -> None:
    assert not has_visible_text(text * 5)
    assert visible_length(text * 5) == 0
    assert has_visible_text(text + "Key agency away" + text)
    assert visible_length(f"{text}é{text}1.") == 3


@pytest.mark.parametrize("text", INVISIBLE)
def test_a_decision_with_an_invisible_reason_is_refused_unsent(text: str) -> None:
    delay = RequestDelay(
        decided_by=TM, reason=text + "\u200b", proposed_date=date(2031, 3, 3), safety_plan="Visits"
    )
    assert blank_reason_message(delay) == (
        "The reason must say something: spaces and invisible characters alone are not enough."
    )
    assert blank_reason_message(delay.model_copy(update={"reason": "Key agency away"})) == ""


async def test_send_decision_refuses_an_invisible_reason_before_any_call() -> None:
    delay = RequestDelay(
        decided_by=TM,
        reason="Key agency away",
        proposed_date=date(2031, 3, 3),
        safety_plan="\u200b",
    )
    client = cast(Client, object())  # never used: nothing is sent
    outcome = await send_decision(client, "icpc-bct-management-note-X-20260101", delay)
    assert not outcome.accepted
    assert outcome.message.startswith("The safety plan must say something")


@pytest.mark.parametrize("text", INVISIBLE)
def test_the_web_form_says_a_reason_is_missing(text: str) -> None:
    form = form_for(CASE_PATH, DecisionKind.WITHDRAW_ICPC, procedure("bct-management-note"))
    parsed = parse(form, {"reason": text + "\u200b"}, Decider(user="sam", role="social_worker"))
    assert parsed.decision is None and list(parsed.errors) == ["reason"]


@pytest.mark.parametrize("text", INVISIBLE)
def test_breaking_glass_needs_ten_visible_characters(text: str) -> None:
    senior = Person(id="sen", roles=frozenset({"head_of_service_safeguarding"}))
    case = scope_of("bct-management-note", "north-1", "north")
    padded = (text + "\u200b") * 10 + "short"
    assert break_glass(senior, case, padded).access is Access.REFUSED
    assert break_glass(senior, case, "Police called out of hours").access is Access.BREAK_GLASS
