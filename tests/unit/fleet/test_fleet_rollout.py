"""Rollout by digest against fake regions on loopback (real HTTP): order, gates, bake, stop."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fleet_fakes import FakeRegion

from hanvoice.cli import main
from hanvoice.errors import InvalidParameter
from hanvoice.fleet.inventory import Region, load_inventory
from hanvoice.fleet.rollout import run_rollout, select_waves

NEW = "sha256:" + "b" * 64
OLD = "sha256:" + "a" * 64
ORDER = {"canary": "ap-singapore", "waves": [["eu-frankfurt"], ["cn-beijing"]]}


def _fleet(
    fake_regions: dict[str, FakeRegion], write_inventory: Callable[..., Path]
) -> tuple[Path, list[str]]:
    for fake in fake_regions.values():
        fake.version["image_digest"] = OLD
    path = write_inventory({n: f.url for n, f in fake_regions.items()}, **ORDER)
    return path, []


def _deployer(
    fake_regions: dict[str, FakeRegion], log: list[str], *, broken: str = "", slow: float = 0.0
) -> Callable[[Region, str], Region]:
    def deploy(region: Region, image: str) -> Region:
        log.append(f"{region.name} {image.rsplit('@', 1)[1][:10]}")
        fake = fake_regions[region.name]
        if region.name == broken:  # comes up on the new digest but never ready
            fake.ready_status = 503
        if slow:
            threading.Timer(slow, fake.version.__setitem__, ("image_digest", NEW)).start()
        else:
            fake.version["image_digest"] = image.rsplit("@", 1)[1]
        return region

    return deploy


def test_waves_in_inventory_order_each_gated(
    fake_regions: dict[str, FakeRegion], write_inventory: Callable[..., Path]
) -> None:
    path, log = _fleet(fake_regions, write_inventory)
    inv = load_inventory(path)
    result = run_rollout(inv, NEW, _deployer(fake_regions, log, slow=0.3), gate_timeout=10)
    assert result.ok, result
    assert [line.split()[0] for line in log] == ["ap-singapore", "eu-frankfurt", "cn-beijing"]
    assert [r.wave for r in result.regions] == [1, 2, 3]
    # the gate waited for the digest to show up (the deployer returned before it did)
    assert all(r.seconds >= 0.3 for r in result.regions), result
    assert all(f.version["image_digest"] == NEW for f in fake_regions.values())


def test_a_region_that_never_gets_ready_stops_the_rollout_after_its_wave(
    fake_regions: dict[str, FakeRegion], write_inventory: Callable[..., Path]
) -> None:
    path, log = _fleet(fake_regions, write_inventory)
    inv = load_inventory(path)
    deploy = _deployer(fake_regions, log, broken="eu-frankfurt")
    result = run_rollout(inv, NEW, deploy, gate_timeout=1.0)
    assert not result.ok and result.failed_wave == 2
    assert result.moved == ["ap-singapore"]
    assert "not ready (/ready answered 503)" in result.regions[-1].detail
    assert fake_regions["cn-beijing"].version["image_digest"] == OLD, "wave 3 never started"


def test_a_region_that_falls_over_during_the_bake_fails_its_wave(
    fake_regions: dict[str, FakeRegion], write_inventory: Callable[..., Path]
) -> None:
    path, log = _fleet(fake_regions, write_inventory)
    inv = load_inventory(path)
    base = _deployer(fake_regions, log)

    def deploy(region: Region, image: str) -> Region:
        out = base(region, image)
        if region.name == "ap-singapore":  # ready at first, then down 0.5 s later
            threading.Timer(0.5, setattr, (fake_regions[region.name], "ready_status", 503)).start()
        return out

    t0 = time.monotonic()
    result = run_rollout(inv, NEW, deploy, waves="1", gate_timeout=5, bake=3.0, interval=0.1)
    assert not result.ok and result.failed_wave == 1
    assert "during bake" in result.regions[0].detail and not result.regions[0].ok
    assert time.monotonic() - t0 < 3.0, "the bake stops at the first failed probe"


def test_a_failing_deployer_is_a_failed_region_not_a_crash(
    fake_regions: dict[str, FakeRegion], write_inventory: Callable[..., Path]
) -> None:
    path, _ = _fleet(fake_regions, write_inventory)

    def deploy(region: Region, image: str) -> Region:
        raise RuntimeError("ap-singapore refused the image: A signature was required")

    result = run_rollout(load_inventory(path), NEW, deploy, gate_timeout=1)
    assert result.failed_wave == 1 and "signature was required" in result.regions[0].detail


def test_wave_selection(
    fake_regions: dict[str, FakeRegion], write_inventory: Callable[..., Path]
) -> None:
    path, _ = _fleet(fake_regions, write_inventory)
    inv = load_inventory(path)

    def names(spec: str) -> list[list[str]]:
        return [[r.name for r in regions] for _, regions in select_waves(inv, spec)]

    assert names("all") == [["ap-singapore"], ["eu-frankfurt"], ["cn-beijing"]]
    assert names("1") == [["ap-singapore"]]
    assert names("2-") == [["eu-frankfurt"], ["cn-beijing"]]
    assert names("2-3") == [["eu-frankfurt"], ["cn-beijing"]]
    assert names("all-at-once") == [["ap-singapore", "eu-frankfurt", "cn-beijing"]]
    for bad in ("0", "4", "3-2", "x", "1,2"):
        with pytest.raises(InvalidParameter, match="--waves"):
            select_waves(inv, bad)


def test_cli_rollout_runs_the_deploy_command_per_region(
    fake_regions: dict[str, FakeRegion],
    write_inventory: Callable[..., Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``--deploy`` gets each region's values shell-quoted; here it only records them, and
    the regions (already on the digest) pass their gates."""
    path, _ = _fleet(fake_regions, write_inventory)
    for fake in fake_regions.values():
        fake.version["image_digest"] = NEW
    out = tmp_path / "deployed.txt"
    cmd = f"echo {{region}} {{image}} {{kube_context}} >> {out}"
    code = main(["fleet", "rollout", "--inventory", str(path), "--digest", NEW,
                 "--deploy", cmd, "--bake", "0", "--gate-timeout", "5"])  # fmt: skip
    assert code == 0, capsys.readouterr()
    lines = out.read_text().splitlines()
    assert [ln.split()[0] for ln in lines] == ["ap-singapore", "eu-frankfurt", "cn-beijing"]
    assert lines[0].split()[1] == f"registry.example.com/hanvoice/hanvoice@{NEW}"
    assert "done: 3 region(s)" in capsys.readouterr().out

    code = main(["fleet", "rollout", "--inventory", str(path), "--digest", NEW,
                 "--deploy", "exit 3", "--bake", "0"])  # fmt: skip
    assert code == 1
    assert "deploy failed: exit 3" in capsys.readouterr().out
