"""Turning start input (the API's JSON, a CSV batch, the command line's flags) into validated case
starts: parsing only, no Temporal.

A bad row is named with its line number and the plain reason; good rows are unaffected.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError

from domain.calendar import london_instant
from domain.case_start import StartRefused, check_start
from domain.decisions import CaseStart, Contact, Likelihood
from domain.procedure import Procedure, ProcedureError

CONTACT_SUFFIXES = ("_name", "_email", "_user")
BASE_COLUMNS = {
    "procedure",
    "case_reference",
    "family_reference",
    "strategy_date",
    "strategy_time",
    "section_47",
    "likelihood",
    "previous_plan_ended",
    "team",
    "area",
}


class InputError(ValueError):
    """Input a person can correct; the message says what and where."""


@dataclass(frozen=True)
class BadRow:
    line: int
    reason: str


def pydantic_reason(error: ValidationError) -> str:
    parts = []
    for e in error.errors():
        where = ".".join(str(p) for p in e["loc"])
        parts.append(f"{where}: {e['msg']}" if where else e["msg"])
    return "; ".join(parts)


def parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in {"yes", "y", "true", "1"}:
        return True
    if value in {"no", "n", "false", "0"}:
        return False
    raise InputError(f"'{text}' is not yes or no")


def clock() -> datetime:
    """Now, for the start checks (tests against a time-skipping server replace it)."""
    return datetime.now(UTC)


def build_case_start(
    fields: Mapping[str, str], procedures: Mapping[str, Procedure], now: datetime | None = None
) -> tuple[CaseStart, Procedure]:
    """One case start from flat fields (a CSV row, or the CLI's flags), checked against the
    domain's start rules (:func:`domain.case_start.check_start`) at ``now`` (default: now)."""
    procedure_id = (fields.get("procedure") or "").strip()
    if procedure_id not in procedures:
        raise InputError(
            f"procedure '{procedure_id}' is not installed (installed: {', '.join(sorted(procedures))})"
        )
    procedure = procedures[procedure_id]
    try:
        day = date.fromisoformat((fields.get("strategy_date") or "").strip())
    except ValueError:
        raise InputError("strategy_date must be a date like 2026-12-17") from None
    at = london_time(fields.get("strategy_time") or "09:00", "strategy_time")
    contacts = []
    declared = {r.id for r in procedure.roles}
    for role in sorted(declared):
        name, email = fields.get(f"{role}_name"), fields.get(f"{role}_email")
        if name or email:
            contacts.append(
                {
                    "role": role,
                    "name": name or "",
                    "email": email or "",
                    "user": fields.get(f"{role}_user") or None,
                }
            )
    unknown = [
        k
        for k in fields
        if k not in BASE_COLUMNS
        and not (k.endswith(CONTACT_SUFFIXES) and k.rsplit("_", 1)[0] in declared)
        and fields[k]
    ]
    if unknown:
        raise InputError(f"unknown column(s) for this procedure: {', '.join(unknown)}")
    ended = (fields.get("previous_plan_ended") or "").strip()
    try:
        start = CaseStart(
            procedure_id=procedure.id,
            case_reference=(fields.get("case_reference") or "").strip(),
            family_reference=(fields.get("family_reference") or "").strip(),
            strategy_discussion=london_instant(day, at),
            section_47_initiated=parse_bool(fields.get("section_47") or "yes"),
            icpc_likelihood=Likelihood((fields.get("likelihood") or "likely").strip().lower()),
            contacts=[Contact.model_validate(c) for c in contacts],
            previous_plan_ended=date.fromisoformat(ended) if ended else None,
            team=(fields.get("team") or "").strip() or None,
            area=(fields.get("area") or "").strip() or None,
        )
    except ValidationError as error:
        raise InputError(pydantic_reason(error)) from None
    except OverflowError:
        raise InputError(f"strategy_date {day.isoformat()} is out of range") from None
    except ValueError as error:
        raise InputError(str(error)) from None
    try:
        check_start(start, procedure, now or clock())
    except StartRefused as error:
        raise InputError(str(error)) from None
    return start, procedure


def decode_batch(data: bytes) -> str:
    """A CSV batch's bytes as text (UTF-8, with or without Excel's byte-order mark); an
    :class:`InputError` naming the first line that is not."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise InputError(f"line {line}: {_unreadable(error)}") from None


def read_batch(
    source: str | Path, procedures: Mapping[str, Procedure], now: datetime | None = None
) -> Iterator[tuple[int, CaseStart, Procedure] | BadRow]:
    """Each row of a CSV batch (its text, or a file) as a case start, or a :class:`BadRow`
    naming its line. What makes the whole batch unreadable is an :class:`InputError` naming
    the line ("line 3: ...", or "FILE:3: ..." for a file)."""
    if isinstance(source, Path):
        try:
            handle: TextIO = source.open(newline="", encoding="utf-8-sig")
        except OSError as error:
            raise InputError(f"{source}: {error.strerror}") from None
        name, where = f"{source}: ", f"{source}:"
    else:
        handle, name, where = io.StringIO(source, newline=""), "", "line "
    with handle:
        lines = _Lines(handle)  # the reader's own count stands still on a line it refuses
        reader = csv.DictReader(lines)
        try:
            columns = reader.fieldnames
        except (csv.Error, UnicodeDecodeError) as error:
            raise InputError(f"{where}1: {_unreadable(error)}") from None
        if columns is None or "case_reference" not in columns:
            raise InputError(f"{name}the first line must name the columns (case_reference, ...)")
        rows = iter(reader)
        while True:
            first = lines.count + 1  # the line the next record starts on
            try:
                row = next(rows)
            except StopIteration:
                return
            except csv.Error as error:  # that record only: the reader goes on at the next line
                yield BadRow(first, _unreadable(error))
                continue
            except UnicodeDecodeError as error:
                raise InputError(f"{where}{first}: {_unreadable(error)}") from None
            line = reader.line_num
            if not any((v or "").strip() for v in row.values()):
                continue
            if None in row:
                yield BadRow(line, "more values than columns")
                continue
            try:
                start, procedure = build_case_start(
                    {k: (v or "") for k, v in row.items()}, procedures, now
                )
            except (InputError, ProcedureError) as error:
                yield BadRow(line, str(error))
                continue
            yield line, start, procedure


class _Lines:
    """The file's lines, counted as the CSV reader takes them."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self.count = 0

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.count += 1
        return line


def _unreadable(error: csv.Error | UnicodeDecodeError) -> str:
    """What is wrong with a line the CSV reader cannot read, in plain words."""
    if isinstance(error, UnicodeDecodeError):
        return 'the file is not UTF-8 text: save it as "CSV UTF-8" and import it again'
    text = str(error)
    if "field larger than field limit" in text:
        return f"a value is longer than {csv.field_size_limit():,} characters, the most a field may hold"
    return f"cannot be read as CSV ({text})"


def london_time(text: str, name: str) -> time:
    """A wall-clock time in London ("10:30"). A time with a UTC offset ("10:30+05:00") is
    refused: it is read as London's, so the offset would be silently dropped."""
    try:
        at = time.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{name} must be a time like 10:30") from None
    if at.tzinfo is not None:
        raise InputError(
            f"{name} {text.strip()} carries a UTC offset: it is read as London time, so give"
            " the time as the clocks in London showed it, like 10:30, without an offset"
        )
    return at


def london_datetime(text: str) -> datetime:
    """'2026-12-03 10:00' (Europe/London) or a full ISO 8601 instant with its offset."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace(" ", "T"))
    except ValueError:
        raise InputError(f"'{text}' is not a date and time like 2026-12-03 10:00") from None
    return parsed if parsed.tzinfo else london_instant(parsed.date(), parsed.time())
