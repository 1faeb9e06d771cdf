"""The Sending tab's view rules: channel cards, the send body, the confirmation's counts."""

from __future__ import annotations

import pytest

from console.routes.sending_view import (
    SendError,
    channel_cards,
    checked,
    parse_channel,
    plural,
    sample_kind,
    send_body,
    send_outcome,
)

DOC = "0b0c7a52-3f3e-4d7e-9a41-2b8a7d3e9f10"


def test_cards_in_the_seeds_order_with_zeros_for_a_missing_channel() -> None:
    summary = [
        {"channel": "print", "waiting": 2, "queued": 1, "sending": 0, "staged": 3, "retry": 0, "delivered": 5,
         "failed": 1, "auto_send": False},
        {"channel": "email", "waiting": 7, "queued": 0, "sending": 2, "staged": 0, "retry": 1, "delivered": 0,
         "failed": 0, "auto_send": True},
    ]  # fmt: skip
    cards = channel_cards(summary)
    assert [c.channel for c in cards] == ["email", "einvoice", "print"]
    assert (cards[0].waiting, cards[0].on_the_way, cards[0].auto_send) == (7, 3, True)  # 0 + 2 + 0 + 1
    assert (cards[1].waiting, cards[1].on_the_way, cards[1].failed) == (0, 0, 0)
    assert (cards[2].on_the_way, cards[2].delivered, cards[2].failed) == (4, 5, 1)  # 1 + 0 + 3 + 0


def test_select_all_on_a_longer_list_than_shown_sends_all() -> None:
    assert send_body(True, [DOC], preview=True, beyond_shown=True) == {
        "preview": True,
        "resend_failed": False,
        "all": True,
    }
    assert send_body(True, [DOC], preview=True) == {"preview": True, "resend_failed": False, "document_ids": [DOC]}


def test_ticked_documents_each_once() -> None:
    body = send_body(False, [DOC, DOC, ""], preview=False, resend_failed=True)
    assert body == {"preview": False, "resend_failed": True, "document_ids": [DOC]}


@pytest.mark.parametrize(
    ("ids", "key"),
    [
        ([], "sending.error.nothing_selected"),
        (["not-a-uuid"], "sending.error.bad_id"),
        ([DOC.upper()], "sending.error.bad_id"),
    ],
)
def test_a_send_the_api_would_refuse_is_named(ids: list[str], key: str) -> None:
    with pytest.raises(SendError) as caught:
        send_body(False, ids, preview=False)
    assert caught.value.key == key


def test_unknown_channel() -> None:
    with pytest.raises(SendError):
        parse_channel("fax")
    assert parse_channel("einvoice") == "einvoice"


@pytest.mark.parametrize(
    ("value", "on"), [(None, False), ("", False), ("0", False), ("off", False), ("on", True), ("1", True)]
)
def test_checkbox(value: str | None, on: bool) -> None:
    assert checked(value) is on


def test_outcome_of_a_send() -> None:
    job = {
        "state": "done",
        "params": {"selection": {"channel": "email"}, "preview": False},
        "result": {"queued": 5, "delivered": 4, "failed": 1},
    }
    out = send_outcome(job)
    assert (out.channel, out.preview, out.finished) == ("email", False, True)
    assert (out.queued, out.delivered, out.failed, out.rendered) == (5, 4, 1, 0)


def test_outcome_of_a_preview_still_running() -> None:
    out = send_outcome({"state": "running", "params": {"selection": {"channel": "einvoice"}, "preview": True},
                        "result": {"rendered": 3, "problems": 1}})  # fmt: skip
    assert (out.preview, out.finished, out.rendered, out.problems) == (True, False, 3, 1)


def test_plural_keys() -> None:
    assert [plural("sending.sent", n) for n in (0, 1, 2)] == [
        "sending.sent.many",
        "sending.sent.one",
        "sending.sent.many",
    ]


@pytest.mark.parametrize(
    ("content_type", "kind"),
    [
        ("application/pdf", "pdf"),
        ("application/xml", "xml"),
        ("message/rfc822", "eml"),
        (None, "file"),
        ("text/plain", "file"),
    ],
)
def test_sample_kind(content_type: str | None, kind: str) -> None:
    assert sample_kind(content_type) == kind
