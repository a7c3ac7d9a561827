"""From what was typed into a decision form to a decision, or to errors named by field.

Required fields first, then the form's readers (a date that is not one), then the path's
payload model; each error is put against the field it is about, in the order the fields appear.
The decider is added here, from the session, never from the form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from domain.decisions import Decider, DecisionBase
from web.fields import Invalid, invitee_location
from web.forms import DecisionForm

_MESSAGES = {
    "string_pattern_mismatch": "is not in the expected form",
    "string_too_long": "is too long",
    "string_too_short": "must not be empty",
    "missing": "is missing",
}


@dataclass
class Parsed:
    decision: DecisionBase | None
    errors: dict[str, str]  # field name -> message, in the order the fields appear
    values: dict[str, str]


def parse(form: DecisionForm, raw: Mapping[str, str], decider: Decider) -> Parsed:
    values = {f.name: str(raw.get(f.name, "")) for f in form.fields}
    errors: dict[str, str] = {}
    for f in form.fields:
        if f.required and not values[f.name].strip():
            verb = "Choose" if f.kind in ("radios", "select") else "Enter"
            errors[f.name] = f"{verb} {f.label[0].lower()}{f.label[1:].rstrip('?')}"
    if errors:
        return Parsed(None, _ordered(form, errors), values)
    try:
        payload = form.build(values)
    except Invalid as invalid:
        return Parsed(None, {invalid.field_name: str(invalid)}, values)
    payload = {"kind": form.kind.value, "decided_by": decider, **payload}
    try:
        decision: DecisionBase = form.adapter.validate_python(payload)
    except ValidationError as error:
        for e in error.errors():
            loc = tuple(e["loc"])
            if loc and loc[0] == form.kind.value:
                loc = loc[1:]
            name = invitee_location(loc, values) or next(
                (n for prefix, n in form.locations.items() if loc[: len(prefix)] == prefix), None
            )
            if name is None:  # not the user's doing (the decider, say): say so plainly
                errors.setdefault("", "This decision could not be sent; please tell support.")
            else:
                errors.setdefault(name, _message(form, name, e))
        return Parsed(None, _ordered(form, errors), values)
    return Parsed(decision, {}, values)


def _message(form: DecisionForm, name: str, error: Mapping[str, Any]) -> str:
    f = form.field(name)
    label = f.label if f else name.replace("_", " ")
    if name.endswith("_email") or name == "email":
        return f"Enter {label.lower()} in the right form, like name@example.org"
    if error.get("type") in ("less_than_equal", "greater_than"):
        return f"{label}: {error.get('msg', 'out of range')}"
    return f"{label} {_MESSAGES.get(str(error.get('type')), 'is not valid')}"


def _ordered(form: DecisionForm, errors: dict[str, str]) -> dict[str, str]:
    order = {f.name: n for n, f in enumerate(form.fields)}
    return dict(sorted(errors.items(), key=lambda item: order.get(item[0], -1)))
