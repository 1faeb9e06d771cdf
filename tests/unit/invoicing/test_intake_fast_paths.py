"""Intake's one-serialisation path gives exactly what the two serialisations gave:
the content hash (compared with hashes stored by earlier releases, so a redelivered
request is recognised as the same) and the lines' JSON (stored as jsonb)."""

from __future__ import annotations

import hashlib
import json

import pytest
from pydantic import TypeAdapter

from services.invoicing.handlers.intake import content_hash, hash_and_lines
from shared.events.sales import BillingRequestSubmitted, RequestLine
from tests.support.sales import NOTICE_LINE, SUBSCRIPTION_LINE, request

LINES = TypeAdapter(list[RequestLine])

AWKWARD = (
    # a description that spells the marker the lines are found by, quotes and all
    ("P-1", 'tilaus ,"lines":[ "x"]}', "1", "1.00", "25.5", None),
    ("P-2", "Päivä ÅÄÖ \\ ] } € 😀", "0.125", "-3.50", "10", ("2026-01-01", "2026-12-31")),
    ("P-3", '"lines"', "100000", "0.01", "0", None),
)


@pytest.mark.parametrize(
    "body",
    [
        request("BR-1", "C-1"),
        request("BR-2", "C-2", kind="notice", lines=(NOTICE_LINE, SUBSCRIPTION_LINE)),
        request("lines", "C-3", order_id="lines", lines=AWKWARD),
        request("BR-4", "C-4", lines=AWKWARD * 10),
    ],
)
def test_one_dump_gives_the_hash_and_lines_of_two(body: dict[str, object]) -> None:
    model = BillingRequestSubmitted.model_validate_json(json.dumps(body))
    digest, lines = hash_and_lines(model)
    assert digest == content_hash(model)
    assert digest == hashlib.sha256(model.model_dump_json().encode()).hexdigest()
    assert lines == LINES.dump_json(list(model.lines)).decode()
    # the stored value: what json.dumps of the JSON-mode dump says, and the lines back
    assert json.loads(lines) == [line.model_dump(mode="json") for line in model.lines]
    assert LINES.validate_json(lines) == list(model.lines)


def test_lines_is_the_last_field_the_fast_path_relies_on() -> None:
    assert list(BillingRequestSubmitted.model_fields)[-1] == "lines"
