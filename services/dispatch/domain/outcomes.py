"""How a delivery attempt ends, and what comes after it.

Three kinds of failure, told apart by whose fault they are:

- **Permanent** (the document's: no address, an address the server refuses with a
  5xx, a Finvoice file that fails validation): failed at once with the reason; a clerk
  fixes the cause and re-sends.
- **Transient, this document only** (a 4xx for one recipient, an endpoint's 500 for
  one file): retried from the scheduled-retry table with exponential backoff, up to a
  limit, without holding up the partition; then failed with the last reason.
- **Channel unavailable** (the SMTP server or the operator's endpoint cannot be
  reached, refuses us as a sender, times out; the drop folder cannot be written):
  nothing is wrong with the document, and every other one would fail alike. The
  documents go back to ``queued`` and the worker raises, so the shared consumer
  retries the batch and then stops the partition with growing pauses; when the
  channel is back the partition resumes where it stopped. No attempt limit: an
  outage is not the document's fault.

Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Delivered:
    receipt: str
    """Where it went: the Message-ID, the file name, the print batch file."""


@dataclass(frozen=True)
class Staged:
    """Print: the document's PDF is in its send's batch, which is not closed yet."""

    receipt: str
    batch_id: str


@dataclass(frozen=True)
class Failed:
    code: str
    reason: str
    """In English, one line (the delivery-failed event's). No personal data: field
    names and server reply codes, never addresses."""
    permanent: bool
    detail: str | None = None
    """The technical part, the same in every language (``SMTP 550``): the clerk reads
    the code's text in their language with this after it."""


Outcome = Delivered | Staged | Failed


class ChannelUnavailable(ConnectionError):
    """The channel itself cannot take documents now (see the module docstring).

    A ``ConnectionError`` (hence ``OSError``) on purpose: the shared consumer treats it
    as an outage and stops every partition of the batch at once, instead of trying each
    partition against a server that is down."""

    def __init__(self, code: str, reason: str, detail: str | None = None) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff for transient failures of one document."""

    max_attempts: int = 5
    """Attempts in all (the first included) before the document fails for good."""
    base_s: float = 30.0
    factor: float = 2.0
    max_delay_s: float = 3600.0

    def delay(self, attempt: int) -> timedelta:
        """Wait after failed attempt ``attempt`` (1 = the first): base, base*f, base*f^2 ..."""
        seconds = self.base_s * self.factor ** max(attempt - 1, 0)
        return timedelta(seconds=min(seconds, self.max_delay_s))

    def after_transient(self, attempt: int, now: datetime) -> datetime | None:
        """When to try again after transient failure of attempt ``attempt``; None when
        that was the last attempt (the document fails)."""
        if attempt >= self.max_attempts:
            return None
        return now + self.delay(attempt)
