"""From what was typed into a decision form to a decision, or to errors named by field.

Required fields first, then the form's readers (a date that is not one), then the path's
payload model; each error is put against the field it is about, in the order the fields appear.
The decider is added here, from the session, never from the form; so is anything else the
server fills in (``extra``: the contact of the person a reassignment picks, from their record).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from domain.decisions import Decider, DecisionBase
from domain.reasons import has_visible_text
from web.fields import (
    Invalid,
    date_values,
    invitee_action,
    invitee_location,
    invitee_rows,
    read_date,
)
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
    form: DecisionForm  # as it was posted (the convening sheet: with its number of invitees)
    parts: dict[str, tuple[str, ...]] = field(default_factory=dict)  # a date's boxes in error


def typed_values(form: DecisionForm, raw: Mapping[str, Any]) -> dict[str, str]:
    """What was typed in each field of ``form`` (a date: its three boxes, and the date)."""
    values: dict[str, str] = {}
    for f in form.fields:
        if f.kind == "date":
            values |= date_values(raw, f.name)
        else:
            values[f.name] = str(raw.get(f.name, ""))
    return values


def parse(
    form: DecisionForm,
    raw: Mapping[str, str],
    decider: Decider,
    extra: Mapping[str, Any] | None = None,
) -> Parsed:
    form = form.with_invitees(invitee_rows(raw))
    changed = invitee_action(raw)  # "Add another invitee" or "Remove": the form comes back
    if changed is not None:
        posted, rows = changed
        form = form.with_invitees(rows)
        return Parsed(None, {}, typed_values(form, posted), form)
    values = typed_values(form, raw)
    errors: dict[str, str] = {}
    parts: dict[str, tuple[str, ...]] = {}
    for f in form.fields:
        if f.required and not has_visible_text(values[f.name]):  # spaces alone, say
            errors[f.name] = f.missing or f"Enter {f.label[0].lower()}{f.label[1:].rstrip('?')}"
    for f in form.fields:  # a date half typed in, or not a date: said now, with its boxes
        if f.kind == "date" and f.name not in errors:
            try:
                read_date(values, f.name, f.label.removesuffix(" (optional)"))
            except Invalid as invalid:
                errors[f.name], parts[f.name] = str(invalid), invalid.parts
    if errors:
        return Parsed(None, _ordered(form, errors), values, form, parts)
    try:
        payload = form.build(values)
    except Invalid as invalid:
        parts = {invalid.field_name: invalid.parts} if invalid.parts else {}
        return Parsed(None, {invalid.field_name: str(invalid)}, values, form, parts)
    payload = {"kind": form.kind.value, "decided_by": decider, **payload, **(extra or {})}
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
        return Parsed(None, _ordered(form, errors), values, form)
    return Parsed(decision, {}, values, form)


def _message(form: DecisionForm, name: str, error: Mapping[str, Any]) -> str:
    f = form.field(name)
    if f is not None and f.wrong:
        return f.wrong
    label = f.label if f else name.replace("_", " ")
    if name.endswith("_email") or name == "email":
        return f"Enter {label.lower()} in the right form, like name@example.org"
    if error.get("type") in ("less_than_equal", "greater_than"):
        return f"{label}: {error.get('msg', 'out of range')}"
    return f"{label} {_MESSAGES.get(str(error.get('type')), 'is not valid')}"


def _ordered(form: DecisionForm, errors: dict[str, str]) -> dict[str, str]:
    order = {f.name: n for n, f in enumerate(form.fields)}
    return dict(sorted(errors.items(), key=lambda item: order.get(item[0], -1)))
