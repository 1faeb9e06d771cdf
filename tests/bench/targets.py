"""Issue 20's targets, printed the same way by every benchmark: the figure measured in
this run beside its target, and met / not met.

A rate target (``at_least``) is met when the measured figure is at or above it; a time
target (``at_most``, e.g. the pipeline's seconds to the last document) when it is at or
below. Ratios to a floor are given as fractions (0.5 = 50 %) and printed as percentages.
A benchmark prints its targets and exits 0 either way: a benchmark measures, it does not
gate (ARCHITECTURE: speed is never asserted as a test)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    what: str
    """What is measured, e.g. ``ingest, requests/s``."""
    measured: float
    goal: float
    unit: str = ""
    """``/s``, ``s``, ``x`` or ``%`` (measured and goal are fractions then)."""
    at_most: bool = False

    @property
    def met(self) -> bool:
        return self.measured <= self.goal if self.at_most else self.measured >= self.goal

    def _fmt(self, value: float) -> str:
        if self.unit == "%":
            return f"{value:.0%}"
        if self.unit == "x":
            return f"{value:.2f}x"
        if self.unit == "s":
            return f"{value:,.1f} s"
        return f"{value:,.0f}{self.unit}"

    def line(self) -> str:
        sign = "<=" if self.at_most else ">="
        verdict = "met" if self.met else "NOT MET"
        return f"  {self.what:<52}{self._fmt(self.measured):>12}   target {sign} {self._fmt(self.goal):<10} {verdict}"


def report(targets: list[Target], title: str = "targets (issue 20)") -> bool:
    """Print the targets, one line each, and a last line counting them; True when all are met."""
    print()
    print(f"{title}:")
    for t in targets:
        print(t.line())
    met = sum(t.met for t in targets)
    print(f"  {met} of {len(targets)} met")
    return met == len(targets)
