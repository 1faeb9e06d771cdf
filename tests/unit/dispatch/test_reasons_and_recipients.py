"""Failure reasons in the clerk's language (fi / en / sv, a stable code, the technical
detail the same in every language), and where a re-send or a move goes: the customer's
current billing data, never older than what the document has."""

from __future__ import annotations

import aiosmtplib
import pytest

from services.dispatch.channels.mail import classify
from services.dispatch.domain.outcomes import ChannelUnavailable, Failed
from services.dispatch.domain.reasons import localize
from services.dispatch.domain.recipients import CardInvalid, Current, Profile, address_of, current_data
from services.dispatch.domain.requirements import channel_problem
from shared.events.customers import PostalAddress
from tests.support import documents as d

SMTP_ERRORS = [
    aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(550, "no such user", "a@b")]),
    aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(450, "mailbox busy", "a@b")]),
    aiosmtplib.SMTPRecipientRefused(553, "bad", "a@b"),
    aiosmtplib.SMTPDataError(552, "too big"),
    aiosmtplib.SMTPDataError(451, "try later"),
    aiosmtplib.SMTPResponseException(421, "closing"),
    aiosmtplib.SMTPSenderRefused(550, "not you", "us@x"),
    aiosmtplib.SMTPConnectError("refused"),
    RuntimeError("a bug"),
]


@pytest.mark.parametrize("error", SMTP_ERRORS, ids=lambda e: type(e).__name__)
def test_every_smtp_outcome_has_its_text_in_finnish_english_and_swedish(error: Exception) -> None:
    verdict = classify(error)
    assert isinstance(verdict, Failed | ChannelUnavailable)
    texts = localize(verdict.code, verdict.detail, verdict.reason)
    assert texts is not None
    assert len({texts.fi, texts.en, texts.sv}) == 3  # three languages, not the English line three times
    assert "a@b" not in texts.fi + texts.en + texts.sv  # never the address


def test_the_server_code_is_kept_in_every_language() -> None:
    verdict = classify(aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(550, "x", "a@b")]))
    assert isinstance(verdict, Failed)
    texts = localize(verdict.code, verdict.detail, verdict.reason)
    assert texts is not None
    assert all("SMTP 550" in t for t in (texts.fi, texts.en, texts.sv))


@pytest.mark.parametrize("channel", ["email", "einvoice", "print"])
def test_what_a_channel_lacks_is_said_in_three_languages(channel: str) -> None:
    bare = d.PERSON.model_copy(update={"email": None, "address": None, "name": None})
    problem = channel_problem(channel, bare)  # type: ignore[arg-type]
    assert problem is not None
    assert len({problem.message_fi, problem.message_en, problem.message_sv}) == 3
    assert problem.reason == problem.message_en  # the event's line is English only


def test_an_unknown_code_shows_its_english_reason_rather_than_nothing() -> None:
    texts = localize("from-a-newer-worker", None, "something new happened")
    assert texts is not None and texts.fi == texts.sv == "something new happened"
    assert localize(None) is None


ISSUED = d.PERSON.model_copy(update={"email": "vanha@example.com"})


def profile(version: int, *, valid: bool = True, email: str = "uusi@example.com") -> Profile:
    errors = [] if valid else [{"code": "invalid", "field": "email", "message_fi": "x", "message_en": "x"}]
    return Profile("C-1", version, valid, errors, ISSUED.model_copy(update={"email": email}))


def test_a_newer_valid_profile_is_the_current_data() -> None:
    got = current_data(ISSUED, 1, None, profile(2))
    assert isinstance(got, Current) and got.from_profile
    assert (got.data.email, got.version) == ("uusi@example.com", 2)


def test_a_profile_no_newer_than_the_documents_data_changes_nothing() -> None:
    same = current_data(ISSUED, 3, None, profile(3))
    assert isinstance(same, Current) and (same.data.email, same.from_profile) == ("vanha@example.com", False)
    earlier = Current(ISSUED.model_copy(update={"email": "toinen@example.com"}), 5, from_profile=True)
    kept = current_data(ISSUED, 1, earlier, profile(4))
    assert kept == earlier
    assert current_data(ISSUED, 1, None, None) == Current(ISSUED, 1, from_profile=False)


def test_a_newer_card_with_errors_is_not_sent_to() -> None:
    got = current_data(ISSUED, 1, None, profile(2, valid=False, email="uusi@"))
    assert isinstance(got, CardInvalid) and got.version == 2 and got.errors[0]["field"] == "email"


def test_the_address_an_attempt_records_per_channel() -> None:
    assert address_of("email", ISSUED) == "vanha@example.com"
    assert address_of("einvoice", d.COMPANY) == "003701120389 (003721291126)"
    assert address_of("print", d.PERSON) == "Maija Meikäläinen, Kotikatu 2 B 5, 33100 Tampere"
    abroad = d.PERSON.model_copy(
        update={
            "address": PostalAddress(street_lines=["Storgatan 1"], postal_code="111 22", city="Stockholm", country="SE")
        }
    )
    assert address_of("print", abroad) == "Maija Meikäläinen, Storgatan 1, 111 22 Stockholm, SE"
    assert address_of("email", d.COMPANY) is None
