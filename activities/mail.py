"""The mail activity: each ``OutgoingEmail`` becomes one SMTP message, sent at most once.

Idempotency. Temporal retries activities, and a workflow may ask for the same emails again
after a pause, so every email carries an idempotency key. Before sending, the activity looks
the key up in the outbox ledger (``activities.outbox_ledger``, SQLite at ``ICPC_OUTBOX_DB``);
right after the SMTP server accepts a message, it records the key there. A retry therefore
skips what already went out and sends only the rest. The Message-ID is derived from the key,
so even a duplicate (see the window below) is recognisable as the same message.

The one window that cannot be closed: if the worker dies after the server has accepted a
message but before the key is written to the ledger (a few milliseconds), the retry sends that
message again. SMTP offers no transaction spanning both, so delivery is at-least-once for that
single message and exactly-once otherwise: a worker killed mid-send repeats at most the one
message it had in flight (per batch in flight), with the same Message-ID. Sending and
recording run as one step on the same thread, so cancelling the activity never opens the
window wider.

Connections: each call borrows an SMTP connection from the worker's pool
(``activities.smtp_pool``: checked with NOOP, made anew when the server dropped it) and gives
it back when done, and uses the worker's one ledger engine (``shared_ledger``), so a case
start's single notice no longer pays for an SMTP connection and a database engine of its own.

Heartbeats: before each message, and every ``HEARTBEAT_EVERY`` seconds while a step is still
with the server, so the workflow's heartbeat timeout (``workflows.mail_delivery``) notices a
dead worker in seconds and never a live one that is merely waiting on a slow server.

Nothing personal is logged or put in failure messages: case id, idempotency key, SMTP reply
codes and counts only; never addresses, names, subjects or bodies.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import smtplib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, TypeVar

import structlog
from pydantic import BaseModel, ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.ics import build_calendar
from activities.outbox_ledger import OutboxLedger, shared_ledger
from activities.settings import MailSettings
from activities.smtp_pool import POOL, SmtpPool, close_quietly
from contracts.metrics import EMAILS
from domain.outbox import OutgoingEmail

CALENDAR_FILENAME = "invite.ics"
HEARTBEAT_EVERY = 2.0  # seconds, while one step (a message with the server) is still running
SMTP_POLICY = email_policy.SMTP  # CRLF line endings, RFC 2047 headers
T = TypeVar("T")

log = structlog.get_logger("icpc")


class SendEmailsResult(BaseModel):
    sent: list[str] = []  # keys sent by this call
    skipped: list[str] = []  # keys already sent earlier (by a previous attempt or call)
    partially_refused: list[str] = []  # sent, but the server refused some of the recipients


def message_id_for(idempotency_key: str, domain: str) -> str:
    """The same key always gives the same Message-ID (a hash: keys may hold any character)."""
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:40]
    return f"<{digest}.icpc@{domain}>"


def build_message(
    email: OutgoingEmail, settings: MailSettings, *, now: datetime | None = None
) -> EmailMessage:
    """One MIME message: the text, and the conference as ``invite.ics`` when there is one."""
    now = now or datetime.now(UTC)
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = settings.mail_from
    message["To"] = ", ".join(email.to)
    if email.cc:
        message["Cc"] = ", ".join(email.cc)
    message["Subject"] = email.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id_for(email.idempotency_key, settings.mail_domain)
    message["Auto-Submitted"] = "auto-generated"
    message["X-ICPC-Idempotency-Key"] = email.idempotency_key
    message.set_content(email.body, cte="quoted-printable")
    event = email.calendar_event
    if event is not None:
        calendar = build_calendar(
            event, sender=settings.mail_from, attendees=[*email.to, *email.cc], dtstamp=now
        )
        message.add_attachment(
            calendar.encode("utf-8"),  # bytes, base64: the CRLFs and folding arrive intact
            maintype="text",
            subtype="calendar",
            filename=CALENDAR_FILENAME,
            params={"method": event.method.value, "charset": "UTF-8"},
        )
    return message


def deliver(
    smtp: smtplib.SMTP, message: EmailMessage, sender: str, recipients: list[str]
) -> dict[str, Any]:
    """Hand one message to the server; returns the recipients it refused (if not all)."""
    return dict(smtp.send_message(message, from_addr=sender, to_addrs=recipients))


@dataclass
class _Outbox:
    """The blocking half: the ledger and an SMTP connection, used from one dedicated thread.

    The connection is borrowed from the worker's pool (``activities.smtp_pool``) on the first
    message and given back at the end, unless it failed on the way (then it is discarded)."""

    settings: MailSettings
    ledger: OutboxLedger | None = None
    smtp: smtplib.SMTP | None = None
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    pool: SmtpPool = field(default_factory=lambda: POOL)

    def open_ledger(self) -> None:
        self.ledger = shared_ledger(self.settings.outbox_db)

    def is_sent(self, key: str) -> bool:
        assert self.ledger is not None
        return self.ledger.is_sent(key)

    def send_and_record(self, email: OutgoingEmail) -> tuple[str, int]:
        """Send one email and record its key at once; returns (Message-ID, refused count)."""
        assert self.ledger is not None
        message = build_message(email, self.settings, now=self.now())
        if self.smtp is None:
            self.smtp = self.pool.take(self.settings)
        try:
            refused = deliver(self.smtp, message, self.settings.mail_from, [*email.to, *email.cc])
        except smtplib.SMTPException as error:
            # A refusal leaves the connection reset and usable, unless the server closed it
            # (421); any other failure is the connection's own: never lend it again.
            if _refusal(error) is None or self.smtp.sock is None:
                self._discard()
            raise
        except BaseException:
            self._discard()
            raise
        # Accepted by the server. A crash before the next line is the one window in which a
        # retry would send this message again (see the module docstring).
        message_id = str(message["Message-ID"])
        self.ledger.record_sent(email.idempotency_key, email.case_id, message_id)
        return message_id, len(refused)

    def _discard(self) -> None:
        if self.smtp is not None:
            close_quietly(self.smtp)
            self.smtp = None

    def close(self) -> None:
        """Give the connection back to the pool; the shared ledger stays open."""
        if self.smtp is not None:
            self.pool.give_back(self.settings, self.smtp)
            self.smtp = None
        self.ledger = None


class _Refused(Exception):
    """The server refused one message for good or for now; the other emails still go out."""

    def __init__(self, codes: list[int]) -> None:
        super().__init__(codes)
        self.codes = codes

    @property
    def permanent(self) -> bool:
        return all(500 <= code < 600 for code in self.codes)


def _refusal(error: smtplib.SMTPException) -> _Refused | None:
    """Per-message refusals (the connection is still good); None for anything else."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return _Refused(sorted({int(code) for code, _ in error.recipients.values()}))
    if isinstance(error, smtplib.SMTPSenderRefused | smtplib.SMTPDataError):
        return _Refused([int(error.smtp_code)])
    return None


def _settings() -> MailSettings:
    try:
        return MailSettings.from_environment()
    except ValidationError as error:
        fields = sorted({".".join(str(p) for p in e["loc"]) for e in error.errors()})
        raise ApplicationError(
            f"Mail settings are invalid: {', '.join(fields)}",
            type="MailSettingsInvalid",
            non_retryable=True,
        ) from None


def _count_emails(emails: list[OutgoingEmail], keys: list[str], result: str) -> None:
    """``icpc_emails`` by purpose and result (sent, skipped, failed): never a key or address."""
    if not keys or not activity.in_activity():
        return
    counter = activity.metric_meter().create_counter(EMAILS, "Emails by purpose and result")
    purposes = {e.idempotency_key: e.purpose.value for e in emails}
    for key in keys:
        counter.add(1, {"purpose": purposes.get(key, "unknown"), "result": result})


@activity.defn(name="send_emails")
async def send_emails(emails: list[OutgoingEmail]) -> SendEmailsResult:
    """Send each email once; skip keys already sent; raise after trying all if any failed."""
    settings = _settings()
    case_ids = sorted({e.case_id for e in emails})
    bound = log.bind(
        activity="send_emails",
        case_id=case_ids[0] if len(case_ids) == 1 else case_ids,
        attempt=activity.info().attempt,
    )
    result = SendEmailsResult()
    refused: dict[str, _Refused] = {}
    outbox = _Outbox(settings)
    loop = asyncio.get_running_loop()
    # One thread for all blocking work, so the SQLite connection and the SMTP session each stay
    # on the thread that made them.
    thread = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="mail")

    progress = 0  # emails done: the heartbeat's details
    cancelled = False

    async def blocking(fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` on the mail thread, heartbeating while it runs (a slow server): the
        heartbeat says this worker is alive, so only a dead one misses the heartbeat timeout."""
        future = loop.run_in_executor(thread, fn, *args)
        while not (await asyncio.wait({future}, timeout=HEARTBEAT_EVERY))[0]:
            activity.heartbeat(progress)
        return future.result()

    def count_outcomes(failed_all_unsent: bool) -> None:
        _count_emails(emails, result.sent, "sent")
        _count_emails(emails, result.skipped, "skipped")
        done = {*result.sent, *result.skipped}
        failed = (
            list(dict.fromkeys(e.idempotency_key for e in emails if e.idempotency_key not in done))
            if failed_all_unsent
            else list(refused)
        )
        _count_emails(emails, failed, "failed")

    try:
        await blocking(outbox.open_ledger)
        seen: set[str] = set()
        for index, email in enumerate(emails):
            key = email.idempotency_key
            progress = index
            activity.heartbeat(index)  # per message: the workflow's heartbeat timeout is 10 s
            if key in seen or await blocking(outbox.is_sent, key):
                if key not in seen:
                    result.skipped.append(key)
                    bound.info("email_already_sent", key=key)
                seen.add(key)
                continue
            seen.add(key)
            try:
                _, refused_count = await blocking(outbox.send_and_record, email)
            except smtplib.SMTPException as error:
                refusal = _refusal(error)
                if refusal is None:
                    raise
                refused[key] = refusal
                bound.warning("email_refused", key=key, smtp_codes=refusal.codes)
                continue
            except ValueError:
                # The message itself cannot be built (e.g. a header with a line break).
                refused[key] = _Refused([554])
                bound.error("email_unbuildable", key=key)
                continue
            result.sent.append(key)
            if refused_count:
                result.partially_refused.append(key)
                bound.warning("email_sent_some_recipients_refused", key=key, refused=refused_count)
            else:
                bound.info("email_sent", key=key, purpose=email.purpose.value)
        activity.heartbeat(len(emails))
    except smtplib.SMTPException as error:
        count_outcomes(failed_all_unsent=True)
        code = getattr(error, "smtp_code", None)
        bound.warning(
            "smtp_failed", error=type(error).__name__, smtp_code=code, sent=len(result.sent)
        )
        # Rebuilt without the original message, which may quote addresses back.
        raise ApplicationError(
            f"SMTP failed ({type(error).__name__}, code {code}) after sending {len(result.sent)}",
            type="SmtpFailed",
        ) from None
    except OSError as error:
        count_outcomes(failed_all_unsent=True)
        bound.warning("smtp_unreachable", error=type(error).__name__, sent=len(result.sent))
        raise ApplicationError(
            f"Mail server {settings.smtp_host}:{settings.smtp_port} unreachable "
            f"({type(error).__name__}) after sending {len(result.sent)}",
            type="SmtpUnreachable",
        ) from None
    except asyncio.CancelledError:
        cancelled = True
        raise
    finally:
        # Queued after any step still in flight, so the connection goes back to the pool only
        # once nothing uses it. Awaited, so the next call finds it there; but not on
        # cancellation, which must not wait for a slow server.
        closing = loop.run_in_executor(thread, outbox.close)
        thread.shutdown(wait=False)
        if not cancelled:
            await closing

    count_outcomes(failed_all_unsent=False)
    bound.info(
        "emails_done",
        sent=len(result.sent),
        skipped=len(result.skipped),
        refused=len(refused),
        partially_refused=len(result.partially_refused),
    )
    if refused:
        permanent = all(r.permanent for r in refused.values())
        raise ApplicationError(
            f"{len(refused)} of {len(emails)} email(s) refused by the mail server: "
            + ", ".join(f"{key} ({'/'.join(map(str, r.codes))})" for key, r in refused.items()),
            type="SmtpRefused",
            non_retryable=permanent,
        )
    return result
