"""``billing customers update --set``: what the clerk types becomes the patch meant."""

from billing_cli.customers import _parse_sets


def test_text_that_looks_like_a_flag_stays_text_and_flags_are_booleans() -> None:
    assert _parse_sets(["name=True", "no_reminders=true", "consumer=false"]) == {
        "name": "True",
        "no_reminders": True,
        "consumer": False,
    }


def test_empty_value_clears_and_address_fields_nest() -> None:
    assert _parse_sets(["email=", "address.city=Espoo", "address.street_lines=Katu 1|B 2"]) == {
        "email": None,
        "address": {"city": "Espoo", "street_lines": ["Katu 1", "B 2"]},
    }
