"""What a typed reason must hold: some text a reader can see.

Every reason the product asks for (a decision's reason, a delay's reason and safety plan, a
break-glass reason) is checked by :func:`visible_length` or :func:`blank_reasons`, at every
face: a reason made only of spaces, zero-width characters (U+200B, U+200C, U+200D, U+2060,
U+FEFF), control or format characters, or letters that draw nothing (the Hangul fillers,
the blank Braille pattern) is no reason. Pure.

Checked where a decision is sent (:func:`contracts.client.send_decision`, and the web form
beside the box), never on the decision models themselves: they are read back from every
running case's history, where a rule added later must never stop an old decision from loading.
"""

from __future__ import annotations

import unicodedata

from pydantic import BaseModel

# Letters (category Lo) that render as nothing: used to pass "must not be blank" checks.
BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# Letters, marks, numbers, punctuation and symbols show; separators (Z*) and others (C*:
# control, format such as the zero-width characters, unassigned) do not.
VISIBLE_CATEGORIES = frozenset("LMNPS")


def visible(char: str) -> bool:
    return unicodedata.category(char)[0] in VISIBLE_CATEGORIES and char not in BLANK_LETTERS


def visible_length(text: str) -> int:
    """How many characters of ``text`` a reader can see."""
    return sum(visible(c) for c in text)


def has_visible_text(text: str) -> bool:
    return any(visible(c) for c in text)


NO_VISIBLE_TEXT = "must say something: spaces and invisible characters alone are not enough"


def blank_reasons(decision: BaseModel) -> list[str]:
    """The names of the decision's required text fields (reason, safety plan ...) that hold
    no visible text: a required field is a text field with a minimum length."""
    found = []
    for name, info in type(decision).model_fields.items():
        value = getattr(decision, name)
        required = any(getattr(m, "min_length", 0) for m in info.metadata)
        if isinstance(value, str) and required and not has_visible_text(value):
            found.append(name)
    return found


def blank_reason_message(decision: BaseModel) -> str:
    """Why the decision may not be sent for a blank reason, or "" when none is blank."""
    names = blank_reasons(decision)
    if not names:
        return ""
    what = " and the ".join(n.replace("_", " ") for n in names)
    return f"The {what} {NO_VISIBLE_TEXT}."
