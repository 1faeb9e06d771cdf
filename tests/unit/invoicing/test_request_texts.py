"""What the clerk reads about a refused request and in the notice (issue 16)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from services.invoicing.domain import texts
from services.invoicing.domain.vat import load_vat_table


def test_a_vat_refusal_reads_in_each_language_with_the_line_and_says_to_replay_after_the_fix() -> None:
    problem = load_vat_table(None).check(Decimal(24), date(2026, 11, 1), None)
    assert problem is not None and problem.code == "vat-rate-invalid"
    detail = f"lines[0]: {problem.message_en} / {problem.message_fi}"  # as intake words it
    why, action = texts.refused(problem.code, detail)
    assert why.fi == f"ALV-kanta ei ole voimassa palvelupäivänä: lines[0]: {problem.message_fi}"
    assert why.en == f"VAT rate not in force on the service date: lines[0]: {problem.message_en}"
    assert "uudelleen" in action.fi and "replay" in action.en


def test_a_refusal_of_another_kind_names_its_code_and_a_reused_id_needs_a_new_one() -> None:
    why, _ = texts.refused("key-mismatch", "the record's key is not the body's customer_number")
    assert why.fi.startswith("Pyyntö hylättiin vastaanotossa (key-mismatch): the record's key")
    _, action = texts.refused("request-id-reused", "request_id already used for a request with other content")
    assert "uudella tunnuksella" in action.fi and "new id" in action.en


def test_the_notice_counts_refused_requests_and_those_of_no_readable_kind() -> None:
    assert texts.notice(0, 0, 0, 0) is None
    only_unknown = texts.notice(0, 0, 0, 0, refused=0, refused_unknown_kind=2)
    assert only_unknown is not None and "2 refused records whose kind cannot be read" in only_unknown.en
    n = texts.notice(1, 0, 0, 0, refused=3)
    assert n is not None
    assert n.fi.startswith("Virhe: 3 laskutuspyyntöä hylättiin vastaanotossa")
    assert "1 billing requests have erroneous billing data" in n.en


def test_the_refusals_intake_makes_for_the_limits_and_the_key_read_in_each_language_and_say_to_resend() -> None:
    for made in (texts.KEY_NOT_CUSTOMER, texts.REQUEST_OVER_LIMIT):
        why, action = texts.refused(made.code, f"{made.en} / {made.fi}")  # as intake words it
        assert f"({made.code})" not in why.fi  # a known refusal, with its own title
        assert why.fi.endswith(made.fi) and made.en not in why.fi
        assert why.en.endswith(made.en) and made.fi not in why.en
        # replayed as it is, the same record is refused again: the sender must send it anew
        assert "lähetettävä se uudelleen" in action.fi and "refused again" in action.en
