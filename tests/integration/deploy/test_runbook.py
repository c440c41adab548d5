"""docs/deploy.md matches the files: paths exist, the regions table is the inventory, the
alerts are the rules, the commands parse, and the numbers are the manifests'."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploykit import DEPLOY, ROOT

from hanvoice.cli import _plugins, build_parser
from hanvoice.config import Settings
from hanvoice.fleet.inventory import load_inventory

RUNBOOK = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
INVENTORY = load_inventory(DEPLOY / "regions.yaml")
DIGEST = "sha256:" + "0" * 64


def _yaml(*parts: str) -> Any:
    return yaml.safe_load((DEPLOY.joinpath(*parts)).read_text(encoding="utf-8"))


def test_every_path_the_runbook_names_exists() -> None:
    paths = set(
        re.findall(r"`((?:deploy|docs|scripts|tests|src)/[^`\s]*|\.dockerignore)`", RUNBOOK)
    )
    assert len(paths) > 10
    for path in sorted(paths):
        if "<name>" in path:  # a new region's folder, to be created
            assert (ROOT / path.split("<name>")[0]).is_dir(), path
        elif "<region>" in path:
            for region in INVENTORY.names:
                assert (ROOT / path.replace("<region>", region)).exists(), path
        else:
            assert (ROOT / path.rstrip("/")).exists(), f"docs/deploy.md names {path}: missing"


def test_regions_table_is_the_inventory() -> None:
    row = r"^\| ([a-z]+-[a-z]+) \| (https://\S+) \| (\d+) \| ([^|]+) \| ([^|]+) \| (\d+)-(\d+) \|$"
    rows = re.findall(row, RUNBOOK, flags=re.MULTILINE)
    assert [r[0] for r in rows] == list(INVENTORY.names)
    for name, endpoint, weight, zones, geo, lo, hi in rows:
        region = INVENTORY.region(name)
        assert endpoint == region.endpoint
        assert int(weight) == region.weight
        assert tuple(z.strip() for z in zones.split(",")) == region.zones
        assert tuple(g.strip() for g in geo.split(",")) == region.geo
        assert (int(lo), int(hi)) == (region.min_replicas, region.max_replicas)


def test_alerts_listed_are_exactly_the_rules() -> None:
    rules = _yaml("prometheus", "rules.yaml")
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    mentioned = set(re.findall(r"\bHanvoice[A-Z]\w+", RUNBOOK))
    assert mentioned - alerts == set(), (
        f"runbook names alerts that do not exist: {mentioned - alerts}"
    )
    section = RUNBOOK.split("## Observability", 1)[1].split("\n## ", 1)[0]
    assert alerts <= set(re.findall(r"\bHanvoice[A-Z]\w+", section))


def _commands() -> list[str]:
    found = []
    for block in re.findall(r"```bash\n(.*?)```", RUNBOOK, flags=re.DOTALL):
        joined = block.replace("\\\n", " ")
        found += [
            line.strip() for line in joined.splitlines() if line.strip().startswith("hanvoice ")
        ]
    found += [c for c in re.findall(r"`(hanvoice fleet [^`]+)`", RUNBOOK) if " --" in c]
    return found


def test_every_hanvoice_command_in_the_runbook_parses() -> None:
    commands = _commands()
    assert any(c.startswith("hanvoice fleet rollout-plan") for c in commands)
    assert any(c.startswith("hanvoice fleet status") for c in commands)
    parser = build_parser(_plugins())
    for command in commands:
        command = command.split("#")[0].replace("sha256:<digest>", DIGEST).replace("…", "")
        args = shlex.split(command)[1:]
        try:
            parser.parse_args(args)
        except SystemExit as exc:  # argparse refused it
            pytest.fail(f"runbook command does not parse: {command} ({exc})")


def test_numbers_in_the_runbook_are_the_manifests() -> None:
    dep = _yaml("k8s", "base", "deployment.yaml")
    pod = dep["spec"]["template"]["spec"]
    c = pod["containers"][0]
    hpa = _yaml("k8s", "base", "hpa.yaml")
    pdb = _yaml("k8s", "base", "pdb.yaml")
    expected = [
        f"preStop sleep {c['lifecycle']['preStop']['sleep']['seconds']} s",
        f"grace period {pod['terminationGracePeriodSeconds']} s",
        "requests {cpu} CPU / {memory}".format(**c["resources"]["requests"]),
        "limits {cpu} CPU / {memory}".format(**c["resources"]["limits"]),
        f"CPU {hpa['spec']['metrics'][0]['resource']['target']['averageUtilization']} %",
        f"`minAvailable: {pdb['spec']['minAvailable']}`",
        f"`maxUnavailable: {dep['spec']['strategy']['rollingUpdate']['maxUnavailable']}`",
        f"`revisionHistoryLimit: {dep['spec']['revisionHistoryLimit']}`",
        f"Canary** (`rollout.canary`, {INVENTORY.rollout.canary})",
        f"`rollout.bake_minutes` ({INVENTORY.rollout.bake_minutes})",
        f"`max_error_ratio` ({INVENTORY.rollout.max_error_ratio:.0%})".replace("%", " %"),
        f"`max_p95_seconds` ({INVENTORY.rollout.max_p95_seconds:g} s)",
        "(" + ", ".join(n for w in INVENTORY.rollout.waves for n in w) + ")",
    ]
    for text in expected:
        assert text in RUNBOOK, f"docs/deploy.md should say {text!r}"
    scale_up = hpa["spec"]["behavior"]["scaleUp"]["policies"]
    assert f"steps of {scale_up[0]['value']} pods or {scale_up[1]['value']} %" in RUNBOOK


def test_settings_the_runbook_relies_on_exist() -> None:
    for name in ("degrade", "allowed_emotions", "rate_limit", "cache_enabled", "trusted_proxies",
                 "http_max_age", "drain_timeout", "queue_size"):  # fmt: skip
        assert name in Settings.model_fields
        assert f"`{name}`" in RUNBOOK
    prefix = Settings.model_fields["etcd_prefix"].default
    assert f"put {prefix}degrade true" in RUNBOOK


def test_edge_defaults_named_in_the_runbook_are_the_configs() -> None:
    conf = (DEPLOY / "edge" / "nginx.conf").read_text(encoding="utf-8")
    for name, value in re.findall(
        r"map \$arg_(\w+) \$\w+ \{\s*default[^;]*;\s*\"\"\s+(\w+);", conf
    ):
        assert f"`{name}={value}`" in RUNBOOK
    version = re.search(r'proxy_cache_key "(tts-v\d+)\|', conf)
    assert version and f"bump `{version.group(1)}`" in RUNBOOK


def test_runbook_image_facts_are_the_dockerfiles() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert "python:3.11-slim-bookworm" in dockerfile
    assert "USER 10001" in dockerfile and "runs as uid 10001" in RUNBOOK.lower()
    assert "HANVOICE_CACHE_DIR=/app/models" in dockerfile
    assert "`HANVOICE_CACHE_DIR=/app/models`" in RUNBOOK
    assert Path(ROOT / "scripts" / "setup.sh").exists()
