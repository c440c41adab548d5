"""Alert rules, their unit tests, the scrape config and the Grafana dashboard: checked by
promtool, and every ``hanvoice_*`` series they name exists on a real service's /metrics."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from deploykit import DEPLOY, Origins, metric_names

from hanvoice.fleet.plan import ERROR_RATIO_QUERY, P95_QUERY

PROMTOOL = shutil.which("promtool")
PROM = DEPLOY / "prometheus"
DASHBOARD = DEPLOY / "grafana" / "hanvoice.json"
SERIES = re.compile(r"\bhanvoice_[a-z0-9_]+\b")
GRAFANA_VARS = {"$__rate_interval": "1m", "$__range": "1h", "$__interval": "1m", "$region": ".*"}


def promtool(*args: str, cwd: Path = PROM) -> subprocess.CompletedProcess[str]:
    if PROMTOOL is None:  # scripts/system-deps.sh installs it; never skip these checks
        pytest.fail("promtool is missing: apt-get install prometheus (scripts/system-deps.sh)")
    return subprocess.run(
        [str(PROMTOOL), *args], capture_output=True, text=True, cwd=cwd, timeout=60
    )


def test_promtool_accepts_the_rules() -> None:
    result = promtool("check", "rules", "rules.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_rejects_a_broken_rule(tmp_path: Path) -> None:
    bad = {"groups": [{"name": "x", "rules": [{"alert": "X", "expr": "sum(rate(hanvoice_x[5m]"}]}]}
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad), encoding="utf-8")
    assert promtool("check", "rules", "bad.yaml", cwd=tmp_path).returncode != 0


def test_alerts_fire_as_their_unit_tests_say() -> None:
    result = promtool("test", "rules", "rules.test.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_unit_test_and_a_runbook_link() -> None:
    rules = yaml.safe_load((PROM / "rules.yaml").read_text(encoding="utf-8"))
    alerts = [r for g in rules["groups"] for r in g["rules"] if "alert" in r]
    tests = yaml.safe_load((PROM / "rules.test.yaml").read_text(encoding="utf-8"))
    tested = {case["alertname"] for t in tests["tests"] for case in t.get("alert_rule_test", [])}
    runbook = (DEPLOY.parent / "docs" / "deploy.md").read_text(encoding="utf-8")
    anchors = {_anchor(h) for h in re.findall(r"^#+ (.+)$", runbook, flags=re.MULTILINE)}
    for alert in alerts:
        assert alert["alert"] in tested, f"{alert['alert']} has no promtool unit test"
        link = alert["annotations"]["runbook"]
        assert link.split("#")[0] == "docs/deploy.md"
        assert link.split("#")[1] in anchors, f"{link}: no such section in docs/deploy.md"
    names = {a["alert"] for a in alerts}
    for required in ("HanvoiceHighErrorRate", "HanvoiceHighLatencyP95", "HanvoiceRegionNotReady",
                     "HanvoiceConfigSourceDown", "HanvoiceModelDrift"):  # fmt: skip
        assert required in names


def _anchor(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_scrape_config_is_valid(tmp_path: Path) -> None:
    """Debian's promtool is built without Kubernetes discovery: the check swaps it for a
    static target and checks everything else (relabelling, rule files) for real."""
    config = yaml.safe_load((PROM / "prometheus.yaml").read_text(encoding="utf-8"))
    job = config["scrape_configs"][0]
    assert job["kubernetes_sd_configs"][0]["role"] == "pod"
    relabel = {r.get("target_label"): r for r in job["relabel_configs"]}
    assert relabel["region"]["source_labels"] == ["__meta_kubernetes_pod_label_hanvoice_io_region"]
    job.pop("kubernetes_sd_configs")
    job["static_configs"] = [{"targets": ["127.0.0.1:5000"]}]
    shutil.copy(PROM / "rules.yaml", tmp_path / "rules.yaml")
    (tmp_path / "prometheus.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    result = promtool("check", "config", "prometheus.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def _dashboard() -> dict[str, Any]:
    dash: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return dash


def _panel_exprs(dash: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for p in dash["panels"]:
        for t in p.get("targets", []):
            out.append((p["title"], t["expr"]))
    return out


def test_dashboard_has_the_panels_the_issue_asks_for() -> None:
    dash = _dashboard()
    panels = [p for p in dash["panels"] if p["type"] != "row"]
    titles = " | ".join(p["title"].lower() for p in panels)
    for wanted in ("requests per second by region", "latency heatmap", "error responses by code",
                   "emotion ranking", "cache hit ratio", "queue depth"):  # fmt: skip
        assert wanted in titles
    assert any(p["type"] == "heatmap" for p in panels)
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    for p in panels:
        g = p["gridPos"]
        assert g["x"] + g["w"] <= 24 and p["targets"], p["title"]
        assert p["datasource"]["uid"] == "${datasource}"
    variables = {v["name"] for v in dash["templating"]["list"]}
    assert {"datasource", "region"} <= variables


def test_dashboard_promql_parses(tmp_path: Path) -> None:
    """Every panel query, with Grafana's variables filled in, is valid PromQL to promtool."""
    rules = []
    for i, (title, expr) in enumerate(_panel_exprs(_dashboard())):
        for var, value in GRAFANA_VARS.items():
            expr = expr.replace(var, value)
        assert "$" not in expr, f"{title}: unknown Grafana variable in {expr}"
        rules.append({"record": f"dashboard:panel_{i}", "expr": expr})
    doc = {"groups": [{"name": "dashboard", "rules": rules}]}
    (tmp_path / "dash.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    result = promtool("check", "rules", "dash.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def live_metrics(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real service's /metrics text after a synthesis."""
    origins = Origins(tmp_path_factory.mktemp("metrics"))
    try:
        o = origins.start("metrics", region="cn-beijing", build="0.1.0").wait_ready()
        r = httpx.get(f"{o.url}/tts", params={"text": "你好", "format": "wav"}, timeout=60)
        assert r.status_code == 200
        yield httpx.get(f"{o.url}/metrics", timeout=10).text
    finally:
        origins.stop_all()


@pytest.fixture(scope="module")
def live_series(live_metrics: str) -> set[str]:
    return metric_names(live_metrics)


def _named(texts: list[str]) -> set[str]:
    return {m for t in texts for m in SERIES.findall(t)}


def test_dashboard_series_exist(live_series: set[str]) -> None:
    used = _named([expr for _, expr in _panel_exprs(_dashboard())])
    used |= _named([a["expr"] for a in _dashboard()["annotations"]["list"]])
    used |= _named([v["definition"] for v in _dashboard()["templating"]["list"]
                    if "definition" in v])  # fmt: skip
    assert used, "the dashboard names no hanvoice series?"
    missing = sorted(used - live_series)
    assert not missing, f"dashboard queries series the service does not export: {missing}"


def test_alert_and_gate_series_exist(live_series: set[str]) -> None:
    rules = yaml.safe_load((PROM / "rules.yaml").read_text(encoding="utf-8"))
    exprs = [r["expr"] for g in rules["groups"] for r in g["rules"]]
    recorded = {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}
    used = _named(exprs) - {n.split(":")[-1] for n in recorded}
    used |= _named([ERROR_RATIO_QUERY, P95_QUERY])
    missing = sorted(n for n in used - live_series if not any(n in r for r in recorded))
    assert not missing, f"rules query series the service does not export: {missing}"
    assert {"hanvoice_requests_total", "hanvoice_build_info"} <= used


def test_build_info_carries_what_the_drift_alerts_group_by(live_metrics: str) -> None:
    line = next(x for x in live_metrics.splitlines() if x.startswith("hanvoice_build_info{"))
    labels = dict(re.findall(r'(\w+)="([^"]*)"', line))
    assert labels["region"] == "cn-beijing" and labels["build"] == "0.1.0"
    assert re.fullmatch(r"[0-9a-f]{64}", labels["model_sha256"])
    rules = (PROM / "rules.yaml").read_text(encoding="utf-8")
    for grouping in ("by (model_sha256)", "by (region, model_sha256)", "by (build)"):
        assert grouping in rules
