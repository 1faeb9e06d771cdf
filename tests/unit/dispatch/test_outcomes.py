"""What an attempt's outcome leaves the document in: delivered, a retry later with
exponential backoff up to the limit, failed for good, or back in the queue when the
channel itself is down; and how SMTP replies are read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiosmtplib
import pytest

from services.dispatch.channels.mail import classify
from services.dispatch.domain.documents import State
from services.dispatch.domain.outcomes import ChannelUnavailable, Delivered, Failed, RetryPolicy, Staged
from services.dispatch.repositories import Claim
from services.dispatch.results import result_of

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
POLICY = RetryPolicy(max_attempts=4, base_s=30, factor=2, max_delay_s=100)


def claim(attempt: int = 1) -> Claim:
    return Claim("doc-1", "invoice", "inv-1", "email", "invoice", "C-1", attempt, None, None, "{}", False)


def test_backoff_doubles_from_the_base_and_stops_at_the_cap() -> None:
    # 30 s, 60 s, 120 s capped at 100 s
    assert [POLICY.delay(n).total_seconds() for n in (1, 2, 3)] == [30.0, 60.0, 100.0]


def test_a_transient_failure_is_retried_until_the_last_attempt_then_fails_for_good() -> None:
    transient = Failed("recipient-deferred", "the mail server deferred the recipient (SMTP 450)", permanent=False)
    first = result_of(claim(1), transient, POLICY, NOW)
    assert (first.state, first.outcome, first.next_attempt_at) == (State.RETRY, "retry", NOW + timedelta(seconds=30))
    third = result_of(claim(3), transient, POLICY, NOW)
    assert third.next_attempt_at == NOW + timedelta(seconds=100)
    last = result_of(claim(4), transient, POLICY, NOW)
    assert (last.state, last.final, last.code, last.next_attempt_at) == (State.FAILED, True, "recipient-deferred", None)


def test_a_permanent_failure_fails_at_once_and_delivered_is_final() -> None:
    refused = result_of(claim(1), Failed("address-refused", "SMTP 550", permanent=True), POLICY, NOW)
    assert (refused.state, refused.final) == (State.FAILED, True)
    delivered = result_of(claim(1), Delivered("<x@y>"), POLICY, NOW)
    assert (delivered.state, delivered.receipt, delivered.final) == (State.DELIVERED, "<x@y>", True)
    staged = result_of(claim(1), Staged("send-1", "send-1"), POLICY, NOW)
    assert (staged.state, staged.batch_id, staged.final) == (State.STAGED, "send-1", False)


def test_a_channel_that_is_down_puts_the_document_back_in_the_queue_without_counting_an_attempt_limit() -> None:
    down = result_of(claim(9), ChannelUnavailable("smtp-unreachable", "cannot reach"), POLICY, NOW)
    assert (down.state, down.outcome, down.final) == (State.QUEUED, "unavailable", False)


def test_a_reason_with_control_characters_is_one_clean_line() -> None:
    result = result_of(claim(1), Failed("x", "line one\r\nline two\x00", permanent=True), POLICY, NOW)
    assert result.reason == "line one line two"


@pytest.mark.parametrize(
    ("error", "code", "permanent"),
    [
        (
            aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(550, "no such user", "a@b")]),
            "address-refused",
            True,
        ),
        (
            aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(450, "mailbox busy", "a@b")]),
            "recipient-deferred",
            False,
        ),
        (aiosmtplib.SMTPDataError(552, "too big"), "message-refused", True),
        (aiosmtplib.SMTPDataError(451, "try later"), "message-deferred", False),
    ],
)
def test_smtp_replies_about_the_recipient_or_message_are_the_documents(
    error: Exception, code: str, permanent: bool
) -> None:
    verdict = classify(error)
    assert isinstance(verdict, Failed)
    assert (verdict.code, verdict.permanent) == (code, permanent)
    assert "a@b" not in verdict.reason and "no such user" not in verdict.reason  # no address, no server text


@pytest.mark.parametrize(
    "error",
    [
        aiosmtplib.SMTPConnectError("refused"),
        aiosmtplib.SMTPServerDisconnected("gone"),
        aiosmtplib.SMTPSenderRefused(550, "not you", "laskutus@x"),
        aiosmtplib.SMTPAuthenticationError(535, "bad credentials"),
        aiosmtplib.SMTPResponseException(421, "closing"),
        ConnectionRefusedError(111, "refused"),
    ],
)
def test_a_server_that_cannot_be_reached_or_refuses_us_makes_the_channel_unavailable(error: Exception) -> None:
    assert isinstance(classify(error), ChannelUnavailable)


def test_channel_unavailable_is_an_outage_to_the_shared_consumer() -> None:
    # an OSError: the consumer stops every partition of the batch at once instead of
    # trying each partition against a server that is down
    from shared.messaging.poison import is_outage, is_poison

    down = ChannelUnavailable("smtp-unreachable", "cannot reach")
    assert is_outage(down) and not is_poison(down)
