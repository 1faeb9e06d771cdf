"""`docker compose ps --format json` in both shapes Compose has printed."""

from tests.support.compose_ps import parse_ps


def test_an_array_and_one_object_a_line_read_the_same() -> None:
    array = '[{"Service": "kafka", "State": "running"}, {"Service": "migrate", "State": "exited"}]'
    lines = '{"Service": "kafka", "State": "running"}\n\n{"Service": "migrate", "State": "exited"}\n'
    assert (
        parse_ps(array)
        == parse_ps(lines)
        == [
            {"Service": "kafka", "State": "running"},
            {"Service": "migrate", "State": "exited"},
        ]
    )
    assert parse_ps("  \n") == []
