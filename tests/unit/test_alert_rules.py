"""The alert rules (deploy/prometheus/alerts.yml) against the code: every metric a rule
reads is one a service or worker really exports (read from their registries, built as
they run, not from a list kept by hand), and every rule has what an on-call needs:
severity, summary, description, a runbook anchor that exists in the README.
(promtool checks the syntax and the firing in `make check`.)"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.dispatch.app import WORKER_PORTS, build_worker

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "deploy" / "prometheus" / "alerts.yml"
SERVICES = ("customers", "invoicing", "reminders", "dispatch")
# the servers are never contacted: building a runtime only prepares its clients
SETTINGS = {"database_url": "postgresql+asyncpg://u:p@127.0.0.1:9/x", "kafka_bootstrap_servers": "127.0.0.1:9"}
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset"}


def exported() -> set[str]:
    """Every series name the four services and the channel workers expose on /metrics."""
    registries = []
    for name in SERVICES:
        app = importlib.import_module(f"services.{name}.app")
        config = importlib.import_module(f"services.{name}.config")
        registries.append(app.build(config.Settings(**SETTINGS)).metrics.registry)
    from services.dispatch.config import Settings as DispatchSettings

    for channel in WORKER_PORTS:
        registries.append(build_worker(channel, DispatchSettings(**SETTINGS)).metrics.registry)  # type: ignore[arg-type]
    names: set[str] = set()
    for registry in registries:
        for family in registry.collect():
            names |= {family.name + suffix for suffix in SUFFIXES[family.type]}
            names |= {sample.name for sample in family.samples}
    return names


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (label matchers, ranges, strings,
    grouping clauses and function calls taken out)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    names = set()
    for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", text):
        rest = text[match.end() :].lstrip()
        if rest.startswith("(") or match.group() in KEYWORDS:
            continue
        names.add(match.group())
    return names


def rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(RULES.read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def test_the_expression_parser_finds_metrics_and_nothing_else() -> None:
    expr = 'sum by (service, kind) (increase(billing_jobs_finished_total{state="failed", x=~"a{b}"}[1h])) > 0'
    assert metric_names(expr) == {"billing_jobs_finished_total"}
    assert metric_names("max(a_b) / on (service) group_left c_d unless e") == {"a_b", "c_d", "e"}


def test_every_metric_a_rule_reads_is_one_our_code_exports() -> None:
    names = exported()
    assert "billing_consumer_partition_stalled" in names and "billing_dead_letters_total" in names
    used = {rule["alert"]: metric_names(rule["expr"]) for rule in rules()}
    assert all(used.values())
    unknown = {alert: sorted(m - names) for alert, m in used.items() if m - names}
    assert unknown == {}


def test_the_issues_alerts_are_all_there() -> None:
    used = set().union(*(metric_names(rule["expr"]) for rule in rules()))
    for metric in (
        "billing_consumer_partition_stalled",
        "billing_dead_letters_total",
        "billing_dead_letters_stored",
        "billing_outbox_oldest_age_seconds",
        "billing_consumer_lag",
        "billing_jobs_finished_total",
        "billing_reminders_reference_rates_missing",
    ):
        assert metric in used, metric


@pytest.mark.parametrize("rule", rules(), ids=lambda r: r["alert"])
def test_each_rule_says_how_bad_what_and_where_the_runbook_is(rule: dict[str, Any]) -> None:
    assert rule["labels"]["severity"] in ("critical", "warning", "info")
    notes = rule["annotations"]
    assert notes["summary"].strip() and len(notes["description"]) > 80
    anchor = f"alert-{rule['alert'].lower()}"
    assert notes["runbook_url"] == f"README.md#{anchor}"
    assert f'<a id="{anchor}"></a>' in (REPO / "README.md").read_text()
