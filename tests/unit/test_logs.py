"""Log format: JSON (one object a line, the fields a collector indexes) or text; the
payload loggers muted in both."""

import io
import json
import logging
from collections.abc import Iterator

import pytest

from shared import tracing
from shared.logs import configure_logging


@pytest.fixture(autouse=True)
def restore_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_timestamp_level_logger_message_service_and_the_trace_id() -> None:
    out = io.StringIO()
    configure_logging("reminders", "json", level="INFO", stream=out)
    logging.getLogger("services.reminders.rates").warning("rate missing for %s", "2026H2")
    context = tracing.parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    with tracing.use(context):
        logging.getLogger("shared.messaging.consumer").info("handled")
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["level"] == "WARNING" and first["logger"] == "services.reminders.rates"
    assert first["message"] == "rate missing for 2026H2" and first["service"] == "reminders"
    assert first["timestamp"].endswith("+00:00")
    assert "trace_id" not in first
    assert second["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"


def test_text_lines_are_as_before() -> None:
    out = io.StringIO()
    configure_logging("customers", "text", level="INFO", stream=out)
    logging.getLogger("a.b").info("plain")
    assert out.getvalue().rstrip().endswith(" INFO a.b: plain")


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_payload_loggers_stay_muted_even_at_debug(fmt: str) -> None:
    out = io.StringIO()
    configure_logging("customers", fmt, level="DEBUG", stream=out)  # type: ignore[arg-type]
    logging.getLogger("aiokafka.producer.producer").debug("value=maija@example.com")
    logging.getLogger("sqlalchemy.engine.Engine").info("[parameters] ('Maija Meikäläinen',)")
    logging.getLogger("a.b").debug("debug shows")
    assert "maija" not in out.getvalue().lower() and "debug shows" in out.getvalue()


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="log_format"):
        configure_logging("customers", "xml")  # type: ignore[arg-type]
