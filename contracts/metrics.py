"""The product's own metric names, shared by the workflows, the activities and the worker.

They are exported on the worker's ``/metrics`` next to Temporal's SDK metrics (``temporal_*``),
through the SDK's metric meter: workflow code emits nothing while it replays. Labels are
bounded (procedure id, decision kind, email purpose, result); never a case reference, a name
or an address.
"""

from __future__ import annotations

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
