"""What a face and a case need to know about payload keys they may not share (issue 15).

Payloads are sealed with a key whose id travels with them (:mod:`runtime.encryption`). Two
things go wrong when a client's key is one the workers do not hold:

- the workers' codec cannot open a decision: it hands the workflow an :class:`Unreadable`
  placeholder instead of failing the workflow task for good, and the case records it and
  carries on;
- a client can tell before sending: it refuses with :class:`WorkersCannotRead` when the
  workers polling the task queue do not list its key id (``runtime.payload_readers``).

Key ids are a hash prefix of the key, not secret: they may go in worker identities and
messages.

A payload that reaches the workers not sealed at all (plain JSON sent with the Temporal CLI or
UI by someone who has Temporal access but not the payload key), or that claims to be sealed but
does not open, becomes the same placeholder with ``not_sealed`` set: only the service holds the
key, so a decision it did not seal did not come from it, and is refused, never applied.
"""

from __future__ import annotations

from pydantic import BaseModel
from temporalio.api.common.v1 import Payload

KEY_FILE_SETTING = "ICPC_PAYLOAD_KEY_FILE"
# Why a payload the service did not seal is refused: in the timeline, refusals and failures.
NOT_SEALED = "not sealed by the service (plaintext payload refused)"
# The not-sealed placeholder's mark, for the workers' converter (runtime.encryption).
NOT_SEALED_MARK = "icpc-not-sealed"


class Unreadable(BaseModel):
    """In place of a payload sealed with a key this process does not hold, or (``not_sealed``)
    of one that was not sealed by the service at all."""

    unreadable_key_id: str  # "" when not sealed: there is no key id to name
    not_sealed: bool = False

    @classmethod
    def plaintext(cls) -> Unreadable:
        return cls(unreadable_key_id="", not_sealed=True)

    def payload(self) -> Payload:
        """The placeholder as a plain JSON payload: the data converter turns it into this
        model wherever a handler accepts ``... | Unreadable``."""
        metadata = {"encoding": b"json/plain"}
        if self.not_sealed:  # to be trusted: the workers' codec replaces every payload in clear
            metadata[NOT_SEALED_MARK] = b"1"
        return Payload(metadata=metadata, data=self.model_dump_json().encode("utf-8"))

    @property
    def timeline_event(self) -> str:
        """The timeline entry's kind: a payload not sealed is a refusal, not a key to fix."""
        return "refused" if self.not_sealed else "unreadable"

    @property
    def timeline_text(self) -> str:
        """What a case records for a signal it could not read."""
        if self.not_sealed:
            return f"Refused a decision {NOT_SEALED}: decisions are taken only through the service"
        return (
            f"A decision arrived that this service cannot read (key id {self.unreadable_key_id});"
            " ask the sender to send it again"
        )

    @property
    def refusal_text(self) -> str:
        """Why an update that could not be read is rejected (the sender sees it)."""
        if self.not_sealed:
            return (
                f"Refused: this decision was {NOT_SEALED}. Decisions are sent through the web"
                " form or the icpc command, which seal them."
            )
        return (
            f"This service cannot read the decision: it was sealed with payload key id"
            f" {self.unreadable_key_id}, which the workers do not hold. Set {KEY_FILE_SETTING}"
            " to the key the workers use and send it again."
        )


class WorkersCannotRead(RuntimeError):
    """A client's payload key is not among those the workers polling the task queue hold;
    the message (one line) names the setting and the key ids."""

    def __init__(self, key_id: str, task_queue: str, readable: frozenset[str]) -> None:
        held = ", ".join(sorted(readable)) or "none"
        super().__init__(
            f"not sent: the workers on task queue {task_queue} cannot read payloads sealed with"
            f" key id {key_id} (they hold key ids: {held}); set {KEY_FILE_SETTING} to the key"
            " the workers use, or give the workers this key first"
        )
        self.key_id = key_id
