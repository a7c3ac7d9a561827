"""Invented case record data for the tests: references and labels only, no people."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.case_record import CaseSummary, RecordBatch, RecordedEvent, Stream

# --- invented test data ----------------------------------------------------------------------

T0 = datetime(2026, 12, 17, 10, 30, tzinfo=UTC)


def events(positions: range | list[int], *, label: str = "step") -> list[RecordedEvent]:
    return [
        RecordedEvent(
            position=p,
            at=T0 + timedelta(hours=p),
            event=f"{label}_{p}",
            summary=f"{label} {p}",
            data={"n": p},
        )
        for p in positions
    ]


def summary(case_id: str = "case-1", **changes: object) -> CaseSummary:
    values: dict[str, object] = {
        "case_id": case_id,
        "case_reference": f"REF-{case_id}",
        "family_reference": "FAM-1",
        "procedure_id": "bct-management-note",
        "stream": Stream.CASE,
        "stage": "awaiting_confirmation",
        "is_open": True,
        "strategy_discussion": T0,
        "icpc_deadline": T0 + timedelta(days=21),
        "deadline": T0 + timedelta(days=21),
    }
    values.update(changes)
    return CaseSummary.model_validate(values)


def batch(
    case_id: str = "case-1",
    stream: Stream = Stream.CASE,
    positions: range | list[int] = range(3),
    **summary_changes: object,
) -> RecordBatch:
    return RecordBatch(
        case_id=case_id,
        stream=stream,
        events=events(positions, label=stream.value),
        summary=summary(case_id, stream=stream, **summary_changes),
    )
