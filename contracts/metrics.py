"""The product's own metric names, shared by the workflows, the activities and the worker.

They are exported on the worker's ``/metrics`` next to Temporal's SDK metrics (``temporal_*``),
through the SDK's metric meter: workflow code emits nothing while it replays. Labels are
bounded (procedure id, decision kind, email purpose, result); never a case reference, a name
or an address.
"""

from __future__ import annotations

import re

from temporalio.common import MetricMeter

CASES_STARTED = "icpc_cases_started"  # procedure
DECISIONS = "icpc_decisions"  # procedure, kind, result = accepted | refused
ESCALATIONS_SENT = "icpc_escalations_sent"  # procedure
# Counted once per case, the first time the case is seen past its statutory limit (booked,
# held or still waiting after working day 15): increase() gives cases newly out of timescale.
CASES_OUT_OF_TIMESCALE = "icpc_cases_out_of_timescale"  # procedure
EMAILS = "icpc_emails"  # purpose, result = sent | skipped | failed (per attempt)
RECORD_WRITE_SECONDS = "icpc_record_write_seconds"  # outcome = ok | error

# Buckets for the case record's write latency, in seconds.
RECORD_WRITE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]

# How long a management report took to build, wherever it is built (the worker's monthly
# emails, the web form's Reports page, the command line).
REPORT_SECONDS = "icpc_report_seconds"  # histogram: report
REPORT_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0]
_REPORT_NAME = re.compile(r"[a-z][a-z0-9_-]{0,39}")


def report_label(report: str) -> str:
    """A report's label is its name (``timeliness``, ``out-of-timescale``...); anything else is
    counted as "other", so no case reference can become a label."""
    return report if _REPORT_NAME.fullmatch(report) else "other"


def record_report_seconds(meter: MetricMeter, report: str, seconds: float) -> None:
    """``icpc_report_seconds{report}`` through an SDK meter (an activity's, or the worker's)."""
    histogram = meter.create_histogram_float(
        REPORT_SECONDS, "Time to build a management report", "s"
    )
    histogram.record(seconds, {"report": report_label(report)})
