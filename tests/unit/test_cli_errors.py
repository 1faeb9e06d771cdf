"""What the CLI prints for an error answer: the clerk's language, the field paths."""

import httpx

from billing_cli.http import describe_error


def test_a_422_prints_each_field_path_with_its_message_in_the_chosen_language() -> None:
    body = {
        "detail": [
            {
                "loc": ["body", "quantity"],
                "msg": "Input should be greater than 0",
                "msg_fi": "Arvo on liian pieni.",
                "type": "x",
            },
            {"loc": ["query", "kind"], "msg": "String should match pattern", "type": "y"},
        ]
    }
    response = httpx.Response(422, json=body)
    assert describe_error(response, "fi") == (
        "HTTP 422: body.quantity: Arvo on liian pieni.; query.kind: String should match pattern"
    )
    assert describe_error(response, "en") == (
        "HTTP 422: body.quantity: Input should be greater than 0; query.kind: String should match pattern"
    )


def test_a_coded_refusal_prints_its_message() -> None:
    response = httpx.Response(409, json={"detail": {"code": "c", "message_fi": "Ei käy.", "message_en": "No."}})
    assert describe_error(response, "en") == "HTTP 409: No."
