"""The benchmarks' met / not-met lines (tests/bench/targets.py)."""

from tests.bench.targets import Target, report


def test_a_rate_is_met_at_or_above_its_goal() -> None:
    assert Target("ingest", 10_000, 10_000, "/s").met
    assert not Target("ingest", 9_999, 10_000, "/s").met


def test_a_time_is_met_at_or_below_its_goal() -> None:
    assert Target("last document", 120.0, 120.0, "s", at_most=True).met
    assert not Target("last document", 120.5, 120.0, "s", at_most=True).met


def test_the_line_shows_measured_goal_and_verdict() -> None:
    line = Target("run / floor", 0.43, 0.5, "%").line()
    assert "43%" in line and ">= 50%" in line and line.endswith("NOT MET")
    assert Target("two workers / one", 1.8, 1.7, "x").line().endswith("met")


def test_report_counts_the_met_targets(capsys) -> None:
    ok = report([Target("a", 2, 1), Target("b", 0, 1)])
    out = capsys.readouterr().out
    assert not ok
    assert "1 of 2 met" in out
