"""W3C Trace Context carried with the events (the CloudEvents distributed-tracing
extension): ``traceparent`` and ``tracestate`` travel as the Kafka headers
``ce_traceparent`` and ``ce_tracestate`` (binary content mode).

We only *propagate*: no spans are recorded here. Every event written to the outbox
carries a ``traceparent`` whose trace id is that of what caused it (an inbound event,
a stored billing request, a document) and whose parent id is a new span id (the
emitting unit of work). Nothing known: a new trace starts.

Parsing and formatting use the ``opentelemetry-api`` package's W3C propagator
(``TraceContextTextMapPropagator``, already in our dependency tree through FastStream):
it validates per the specification (version ``ff`` refused, version ``00`` exactly 55
characters, a later version's extra fields ignored, lower-case hex, all-zero trace or
parent id refused, ``tracestate`` list members checked), so we do not keep a parser of
our own, and a deployment that later adds the OpenTelemetry SDK reads the same headers
the same way. What we write is always version ``00``. An invalid
``traceparent`` is ignored (a new trace starts): it is never a reason to refuse an
event. An invalid ``tracestate`` is dropped on its own.

The trace of the unit of work at hand is in a context variable (:func:`current`,
:func:`use`): the consumer sets it around a handler, and log records carry its trace id.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass

from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from shared import random_ids

TRACEPARENT_HEADER = "ce_traceparent"
TRACESTATE_HEADER = "ce_tracestate"

_PROPAGATOR = TraceContextTextMapPropagator()
KNOWN_FLAGS = 0x03
"""``sampled`` and (Trace Context Level 2) ``random``: the flags a child keeps."""


@dataclass(frozen=True)
class TraceContext:
    """One position in a trace: its trace id, the parent (span) id, flags, and the
    vendors' ``tracestate`` (kept as given, None when there is none)."""

    trace_id: str
    """32 lower-case hex digits."""
    span_id: str
    """16 lower-case hex digits: the ``parent-id`` field of a ``traceparent``."""
    flags: int = 0
    tracestate: str | None = None

    @property
    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{self.flags:02x}"

    def child(self) -> TraceContext:
        """The same trace, a new span id (what an emitted event carries). Flags this
        version does not define are set to zero, as the specification asks; ``sampled``
        (01) and Level 2's ``random`` (02) are kept."""
        return TraceContext(self.trace_id, _new_span_id(), self.flags & KNOWN_FLAGS, self.tracestate)

    def headers(self) -> list[tuple[str, str]]:
        """The CloudEvents Kafka headers of this context, validated by the propagator."""
        if self.tracestate is None and _valid_ids(self.trace_id, self.span_id) and 0 <= self.flags <= 0xFF:
            # what the propagator writes for such a context, without building one (hot path)
            return [(TRACEPARENT_HEADER, self.traceparent)]
        carrier: dict[str, str] = {}
        _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(NonRecordingSpan(self._span_context())))
        out = [(TRACEPARENT_HEADER, carrier["traceparent"])]
        if carrier.get("tracestate"):
            out.append((TRACESTATE_HEADER, carrier["tracestate"]))
        return out

    def _span_context(self) -> SpanContext:
        state = TraceState.from_header([self.tracestate]) if self.tracestate else TraceState()
        return SpanContext(
            trace_id=int(self.trace_id, 16),
            span_id=int(self.span_id, 16),
            is_remote=False,
            trace_flags=TraceFlags(self.flags),
            trace_state=state,
        )


_TRACE_ID = re.compile(r"[0-9a-f]{32}")
_SPAN_ID = re.compile(r"[0-9a-f]{16}")


def _valid_ids(trace_id: str, span_id: str) -> bool:
    """Lower-case hex of the right length, neither all zeros (a valid span context)."""
    return (
        _TRACE_ID.fullmatch(trace_id) is not None
        and _SPAN_ID.fullmatch(span_id) is not None
        and trace_id != "0" * 32
        and span_id != "0" * 16
    )


# Ids from a Mersenne Twister, as the OpenTelemetry SDK makes them
# (``RandomIdGenerator``): random per the specification, not secrets, and one
# ``os.urandom`` system call per id (``secrets``) cost a consumer ~10 % of its time.
# The private generator of :mod:`shared.random_ids`: seeding the global ``random``
# module does not repeat them, and a forked child reseeds it.


def _new_span_id() -> str:
    while True:
        span = random_ids.getrandbits(64)
        if span:
            return f"{span:016x}"


def new_trace() -> TraceContext:
    """A new trace (random ids, not sampled: we record nothing ourselves)."""
    while True:
        trace_id = random_ids.getrandbits(128)
        if trace_id:
            return TraceContext(f"{trace_id:032x}", _new_span_id())


def parse(traceparent: str | None, tracestate: str | None = None) -> TraceContext | None:
    """The context a ``traceparent`` (and ``tracestate``) names; None when it is
    missing or invalid (the caller starts a new trace)."""
    if not traceparent:
        return None
    carrier = {"traceparent": traceparent}
    if tracestate:
        carrier["tracestate"] = tracestate
    span = trace.get_current_span(_PROPAGATOR.extract(carrier)).get_span_context()
    if not span.is_valid:
        return None
    state = span.trace_state.to_header() if span.trace_state else ""
    return TraceContext(
        trace_id=format(span.trace_id, "032x"),
        span_id=format(span.span_id, "016x"),
        flags=int(span.trace_flags),
        tracestate=state or None,
    )


def from_headers(headers: Mapping[str, str]) -> TraceContext | None:
    """The context of a record's decoded headers (see :func:`parse`)."""
    return parse(headers.get(TRACEPARENT_HEADER), headers.get(TRACESTATE_HEADER))


_current: ContextVar[TraceContext | None] = ContextVar("billing_trace", default=None)


def current() -> TraceContext | None:
    """The trace of the unit of work at hand, if any."""
    return _current.get()


@contextlib.contextmanager
def use(context: TraceContext | None) -> Iterator[TraceContext]:
    """Make ``context`` (a new trace when None) the current one inside the block."""
    chosen = context or new_trace()
    token = _current.set(chosen)
    try:
        yield chosen
    finally:
        _current.reset(token)


def emitted(parent: TraceContext | None = None) -> TraceContext:
    """The context an event written now carries: a child of ``parent``, else of the
    current trace, else of a new trace."""
    base = parent or current() or new_trace()
    return base.child()
