"""The dashboard, the Prometheus configuration and the alert rules parse and name real metrics.

Every query names only metrics the worker and the web form expose (Temporal's own `temporal_*`
SDK metrics and the product's `icpc_*`), so a renamed metric fails here, not on a dashboard
nobody looks at. The rules are also checked with `promtool` (Debian's `prometheus` package):
without it the check is skipped on a developer's machine and fails in CI (`CI` or
`ICPC_REQUIRE_POSTGRES=1` set, as `.ci/run` does).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from contracts import metrics
from workers.metrics import OPEN_CASES, REPORT_SECONDS

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "deploy" / "grafana" / "icpc-dashboard.json"
PROMETHEUS = ROOT / "deploy" / "prometheus" / "prometheus.yml"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
RUNBOOK = ROOT / "docs" / "operations.md"

# Exported by the worker through Temporal's Prometheus exporter (counters without _total).
WORKER_METRICS = {
    metrics.CASES_STARTED,
    metrics.DECISIONS,
    metrics.ESCALATIONS_SENT,
    metrics.CASES_OUT_OF_TIMESCALE,
    metrics.EMAILS,
    metrics.RECORD_WRITE_SECONDS,
    OPEN_CASES,
    REPORT_SECONDS,
    # The name this SDK exports (labels workflow_type, failure_reason), once a task has failed:
    # tests/test_worker_metrics.py makes one fail and reads it.
    "temporal_workflow_task_execution_failed",
    "temporal_workflow_task_schedule_to_start_latency",
    "temporal_activity_execution_failed",
    "temporal_num_pollers",
}
# Exported by the web form through prometheus-client (web.metrics).
WEB_METRICS = {"icpc_web_requests_total", "icpc_web_request_duration_seconds", REPORT_SECONDS}
PROMETHEUS_METRICS = {"up"}
KNOWN = WORKER_METRICS | WEB_METRICS | PROMETHEUS_METRICS
SERIES_SUFFIX = re.compile(r"_(bucket|sum|count)$")

# PromQL words that look like metric names but are not.
PROMQL_WORDS = {
    "sum", "by", "without", "rate", "increase", "histogram_quantile", "absent", "and", "or",
    "unless", "on", "ignoring", "group_left", "group_right", "count", "avg", "max", "min",
    "bool", "offset",
}  # fmt: skip


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects (label matchers, strings and ranges removed)."""
    bare = re.sub(r"\{[^}]*\}", "", expr)
    bare = re.sub(r"\[[^\]]*\]", "", bare)
    bare = re.sub(r'"[^"]*"', "", bare)
    words = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", bare))
    grouped = set()
    for labels in re.findall(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)", bare):
        grouped |= {label.strip() for label in labels.split(",")}
    return {w for w in words - PROMQL_WORDS - grouped if not re.fullmatch(r"\d.*", w)}


def known(name: str) -> bool:
    return name in KNOWN or SERIES_SUFFIX.sub("", name) in KNOWN


def rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(ALERTS.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_metric_names_are_found_in_expressions() -> None:
    names = metric_names(
        'histogram_quantile(0.95, sum by (le, route) (rate(icpc_web_request_duration_seconds_bucket{route="/"}[5m])))'
    )
    assert names == {"icpc_web_request_duration_seconds_bucket"}
    assert not known("icpc_emails_failed")


def test_dashboard_panels_query_known_metrics() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["title"]
    panels = dashboard["panels"]
    titles = " | ".join(p["title"].lower() for p in panels)
    for wanted in (
        "open cases by stage",
        "by procedure",
        "out of timescale",
        "decisions per hour",
        "email failures",
        "workflow task",
        "schedule-to-start",
        "web form latency",
    ):
        assert wanted in titles, wanted
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    for panel in panels:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            names = metric_names(target["expr"])
            assert names, (panel["title"], target["expr"])
            unknown = [n for n in names if not known(n)]
            assert not unknown, f"{panel['title']}: unknown metrics {unknown}"
    # Open cases by stage: the worker's gauge, which every worker exports alike (max, not sum).
    (open_cases,) = [p for p in panels if "open cases by stage" in p["title"].lower()]
    assert [t["expr"] for t in open_cases["targets"]] == [
        f"max by (procedure, stage) ({OPEN_CASES})"
    ]


def test_prometheus_scrapes_the_worker_and_the_web_form() -> None:
    config = yaml.safe_load(PROMETHEUS.read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) >= {"icpc-worker", "icpc-web"}
    assert config["rule_files"]
    assert (PROMETHEUS.parent / config["rule_files"][0].split()[0]).resolve() == ALERTS


def test_every_alert_rule_is_complete_and_names_known_metrics() -> None:
    found = rules()
    names = {rule["alert"] for rule in found}
    assert {"IcpcEmailsFailing", "IcpcWorkflowTaskFailures", "IcpcWorkerNotPolling"} <= names
    runbook = RUNBOOK.read_text()
    for rule in found:
        assert rule.get("for"), rule["alert"]
        assert rule.get("labels", {}).get("severity"), rule["alert"]
        annotations = rule.get("annotations", {})
        assert annotations.get("summary") and annotations.get("description"), rule["alert"]
        anchor = annotations.get("runbook", "").partition("#")[2]
        assert anchor == rule["alert"].lower(), rule["alert"]
        assert f"## {rule['alert']}" in runbook, f"the runbook has no section for {rule['alert']}"
        unknown = [n for n in metric_names(rule["expr"]) if not known(n)]
        assert not unknown, f"{rule['alert']}: unknown metrics {unknown}"
    emails = next(rule for rule in found if rule["alert"] == "IcpcEmailsFailing")
    assert emails["for"] == "15m"


def test_promtool_accepts_the_rules_and_the_configuration() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        message = "promtool (Debian's prometheus package) is needed to check the alert rules"
        if os.environ.get("CI") or os.environ.get("ICPC_REQUIRE_POSTGRES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    for args in (["check", "rules", str(ALERTS)], ["check", "config", str(PROMETHEUS)]):
        result = subprocess.run([promtool, *args], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_fires_the_workflow_task_alert_on_the_series_the_sdk_exports(
    tmp_path: Path,
) -> None:
    """The rule's expression against the series as the worker exports it (labels included):
    pending while young, firing after its ``for``, silent while nothing fails."""
    promtool = shutil.which("promtool")
    if promtool is None:
        message = "promtool (Debian's prometheus package) is needed to test the alert rules"
        if os.environ.get("CI") or os.environ.get("ICPC_REQUIRE_POSTGRES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    rule = next(r for r in rules() if r["alert"] == "IcpcWorkflowTaskFailures")
    series = (
        'temporal_workflow_task_execution_failed{failure_reason="WorkflowError",'
        'namespace="default",service_name="temporal-core-sdk",task_queue="icpc-cases",'
        'workflow_type="IcpcCaseWorkflow"}'
    )
    firing = {"exp_labels": rule["labels"], "exp_annotations": rule["annotations"]}
    test = {
        "rule_files": [str(ALERTS)],
        "evaluation_interval": "1m",
        "tests": [
            {  # a task failing (and retried) every minute from minute 0
                "interval": "1m",
                "input_series": [{"series": series, "values": "1+1x30"}],
                "alert_rule_test": [
                    {"eval_time": "3m", "alertname": rule["alert"], "exp_alerts": []},
                    {"eval_time": "15m", "alertname": rule["alert"], "exp_alerts": [firing]},
                ],
            },
            {  # nothing failed: the series is not there at all
                "interval": "1m",
                "input_series": [],
                "alert_rule_test": [
                    {"eval_time": "15m", "alertname": rule["alert"], "exp_alerts": []},
                ],
            },
        ],
    }
    path = tmp_path / "alerts_test.yml"
    path.write_text(yaml.safe_dump(test, sort_keys=False))
    result = subprocess.run(
        [promtool, "test", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
