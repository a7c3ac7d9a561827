"""Which trace a decision's effects belong to: the trace of the update (or signal) that queued them.

A decision's handler only queues its effects; the workflow's main loop carries them out (the
emails, a re-plan). Left alone, those activities would be started in the main loop's tracing
context, the trace of the case's start. The decision loop keeps the context current when the
effects were queued (:func:`capture`) and makes it current again while carrying them out
(:func:`restored`), so the email a decision sends from the web form is in that POST's trace
(see ``runtime.tracing``).

Nothing here reaches history or changes a command: with tracing off no span is current, nothing
is kept and nothing is attached; with it on, only the headers Temporal's tracing puts on the
activities differ.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from opentelemetry import context as otel_context
    from opentelemetry import trace

Captured = otel_context.Context | None


def capture() -> Captured:
    """The tracing context now, if a span is current (tracing on); None otherwise."""
    current = otel_context.get_current()
    if not trace.get_current_span(current).get_span_context().is_valid:
        return None
    return current


@contextmanager
def restored(captured: Captured) -> Iterator[None]:
    """Make ``captured`` the current tracing context for the block (None: leave it as it is)."""
    if captured is None:
        yield
        return
    token = otel_context.attach(captured)
    try:
        yield
    finally:
        # A workflow evicted mid-block is finalized elsewhere; its context is not current there.
        if otel_context.get_current() is captured:
            otel_context.detach(token)
