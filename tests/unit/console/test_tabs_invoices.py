"""The Invoices tab's view rules: which selection a button sends, what the
confirmation counts, which search filters reach the API, "sent by which channel and when"."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from console.routes.invoices_view import (
    SelectionError,
    deliveries,
    page_offset,
    parse_level,
    reminder_outcome,
    search_params,
    selection_body,
    split_listing,
)


def test_select_all_on_a_longer_list_than_shown_sends_all() -> None:
    assert selection_body(True, ["7", "8"], beyond_shown=True) == {"all": True}


def test_select_all_on_a_complete_list_sends_exactly_the_rows() -> None:
    # not "all": the job would also count the near ones left out as skipped
    assert selection_body(True, ["7", "8"]) == {"invoice_ids": ["7", "8"]}


def test_ticked_ids_each_once_in_order() -> None:
    assert selection_body(False, ["12", " 7 ", "12", ""]) == {"invoice_ids": ["12", "7"]}


@pytest.mark.parametrize(
    ("ids", "key"),
    [
        ([], "invoices.error.nothing_selected"),
        (["", "  "], "invoices.error.nothing_selected"),
        (["a b"], "invoices.error.bad_id"),
        (["x" * 41], "invoices.error.bad_id"),
        ([str(i) for i in range(10_001)], "invoices.error.too_many"),
    ],
)
def test_a_selection_the_api_would_refuse_is_named(ids: list[str], key: str) -> None:
    with pytest.raises(SelectionError) as caught:
        selection_body(False, ids)
    assert caught.value.key == key


@pytest.mark.parametrize("value", [None, "", "0", "3", "x", "1.0"])
def test_only_levels_one_and_two(value: str | None) -> None:
    with pytest.raises(SelectionError):
        parse_level(value)
    assert parse_level("2") == 2


def test_listing_split_into_candidates_and_left_out() -> None:
    listing = {
        "items": [
            {"invoice_id": "1", "candidate": True},
            {"invoice_id": "2", "candidate": False, "reason": "disputed"},
            {"invoice_id": "3", "candidate": True},
        ],
        "totals": {"candidates": 2, "excluded": 1},
        "next_after": None,
    }
    view = split_listing(listing)
    assert [r["invoice_id"] for r in view.candidates] == ["1", "3"]
    assert [r["reason"] for r in view.excluded] == ["disputed"]
    assert view.more is False
    assert split_listing({**listing, "next_after": "3"}).more is True


def test_outcome_of_the_level_asked() -> None:
    summary = {
        "levels": [
            {"level": 1, "created": 9, "skipped": []},
            {
                "level": 2,
                "created": 3,
                "skipped": [
                    {"reason": "paid", "count": 2, "message_fi": "Maksettu.", "message_en": "Paid."},
                    {"reason": "disputed", "count": 1, "message_fi": "Riitautettu.", "message_en": "Disputed."},
                ],
            },
        ]
    }
    out = reminder_outcome(summary, 2)
    assert (out.level, out.created, out.skipped_count) == (2, 3, 3)  # 2 paid + 1 disputed
    assert [s.message_en for s in out.skipped] == ["Paid.", "Disputed."]


def test_outcome_of_a_job_with_nothing_to_do() -> None:
    out = reminder_outcome({"levels": []}, 1)
    assert (out.created, out.skipped_count) == (0, 0)


def test_search_sends_only_valid_filters_and_names_the_wrong_ones() -> None:
    params, wrong = search_params(
        {
            "number": " 1 000 012 ",
            "customer_number": "C-1",
            "status": "confirmed",
            "payment_status": "lost",
            "document_type": "",
        }
    )
    assert params == {"number": "1000012", "customer_number": "C-1", "status": "confirmed"}
    assert wrong == ["payment_status"]
    _, wrong = search_params({"number": "12a", "customer_number": "C 1"})
    assert wrong == ["number", "customer_number"]
    assert search_params({"number": "0"})[1] == ["number"]  # invoice numbers start at 1


def test_page_offset() -> None:
    assert [page_offset(v, 50) for v in (None, "1", "3", "-2", "x")] == [0, 0, 100, 0, 0]


def test_sent_by_which_channel_and_when() -> None:
    docs = [
        {
            "id": "b",
            "channel": "print",
            "kind": "reminder",
            "reminder_level": 1,
            "state": "waiting",
            "delivered_at": None,
            "attempts_made": [],
        },
        {
            "id": "a",
            "channel": "email",
            "kind": "invoice",
            "reminder_level": None,
            "state": "delivered",
            "delivered_at": "2026-11-23T10:15:00+00:00",
            "receipt": "<m1@billing>",
            "attempts_made": [
                {"attempt": 2, "started_at": "2026-11-23T10:14:59+00:00", "finished_at": "2026-11-23T10:15:00+00:00"},
                {"attempt": 1, "started_at": "2026-11-23T10:00:00+00:00", "finished_at": "2026-11-23T10:00:01+00:00"},
            ],
        },
    ]
    rows = deliveries(docs)
    assert [(r.document_id, r.channel, r.state) for r in rows] == [
        ("a", "email", "delivered"),
        ("b", "print", "waiting"),
    ]
    assert rows[0].delivered_at == datetime(2026, 11, 23, 10, 15, tzinfo=UTC)
    assert [a["attempt"] for a in rows[0].attempts] == [1, 2]
    assert rows[0].last_attempt_at == datetime(2026, 11, 23, 10, 15, tzinfo=UTC)
    assert rows[1].last_attempt_at is None  # never tried: still waiting
