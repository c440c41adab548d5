"""Drills on a fleet of real containers (see fleetkit), each under load from the host.

1. A rolling update from image A to image B, wave by wave as deploy/regions.yaml orders the
   regions, zone by zone inside a region: the new container must be ready before the edge
   sends it traffic and before the old one is told to drain. No request fails, and
   ``hanvoice fleet status`` shows the build moving and flags the mixed fleet mid-rollout.
2. One region's container SIGKILLed under load: the edge fails over (no request fails,
   cached or new phrase); the container restarts and takes traffic again.
3. A change in etcd (read-only degrade, an emotion whitelist) reaches every container within
   2 s; with etcd stopped, every container keeps its last good config and keeps serving.

Each drill prints a JSON summary and writes it to artifacts/fleet_<drill>.json.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from deploykit import launch_edge
from fleetkit import (
    PREFIX,
    Fleet,
    Load,
    drill_regions,
    eventually,
    fleet_cli,
    inventory_doc,
    warm_edge,
)
from podmankit import BuiltImage, Container, derive_image, podman, report

from support.servers import EtcdServer, RedisServer

B_VERSION = "0.1.0-drill.b"
PROPAGATION_BUDGET_S = 2.0


@pytest.fixture(scope="module")
def fleet(built_image: BuiltImage, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    redis, etcd = RedisServer(), EtcdServer()
    f = Fleet(built_image.ref, tmp_path_factory.mktemp("fleet"), redis, etcd)
    try:
        redis.start()
        etcd.start()
        doc = {r["name"]: r for r in inventory_doc()["regions"]}
        names = drill_regions()
        for i, name in enumerate(names):
            zones = doc[name]["zones"][: 2 if i == 0 else 1]
            f.regions[name] = {z: f.new_container(name, z, built_image.ref) for z in zones}
        t0 = time.perf_counter()
        with ThreadPoolExecutor(4) as pool:
            ready = list(pool.map(lambda c: c.wait_ready(120), f.containers()))
        print(f"\nfleet of {len(ready)} containers ready in {time.perf_counter() - t0:.1f} s")
        f.edge = launch_edge(f.ports())
        warm_edge(f.edge)
        yield f
    finally:
        f.stop()
        redis.close()
        etcd.close()


def status_json(inventory: Path, *args: str) -> tuple[int, dict[str, Any]]:
    r = fleet_cli("status", "--inventory", str(inventory), "--json", *args)
    return r.returncode, json.loads(r.stdout)


def builds(doc: dict[str, Any]) -> dict[str, str]:
    return {r["region"]: r["version"]["build"] for r in doc["regions"]}


def test_rolling_update_wave_by_wave(fleet: Fleet, built_image: BuiltImage) -> None:
    a_build = built_image.record["version"]
    t0 = time.perf_counter()
    image_b = derive_image(built_image.ref, B_VERSION)
    derive_s = time.perf_counter() - t0
    digest = podman("image", "inspect", "--format", "{{.Digest}}", image_b).stdout.strip()
    inventory = fleet.write_inventory()
    code, before = status_json(inventory)
    assert code == 0 and set(builds(before).values()) == {a_build}, before
    plan = fleet_cli("rollout-plan", "--inventory", str(inventory), "--digest", digest,
                     "--build", B_VERSION, "--json")  # fmt: skip
    assert plan.returncode == 0, plan.stderr
    waves = [[r["region"] for r in w["regions"]] for w in json.loads(plan.stdout)["waves"]]
    assert [r for w in waves for r in w] == drill_regions()
    assert fleet.edge is not None
    steps: list[dict[str, Any]] = []
    with Load(fleet.edge) as load:
        for n, wave in enumerate(waves):
            for region in wave:
                for zone, old in list(fleet.regions[region].items()):
                    t_step = time.perf_counter()
                    new = fleet.new_container(region, zone, image_b)
                    ready_s = new.wait_ready(120)  # the gate: no traffic before /ready
                    fleet.regions[region][zone] = new
                    fleet.edge.reload(fleet.ports())
                    old.stop(grace=60)  # SIGTERM: drains what the old workers still hold
                    assert old.state()["ExitCode"] in (0, 143)
                    old.remove()
                    steps.append({"wave": n, "region": region, "zone": zone,
                                  "ready_s": round(ready_s, 2),
                                  "step_s": round(time.perf_counter() - t_step, 2)})  # fmt: skip
                inventory = fleet.write_inventory()
                gate = fleet_cli("status", "--inventory", str(inventory), "--region", region,
                                 "--expect", f"build={B_VERSION}")  # fmt: skip
                assert gate.returncode == 0, gate.stdout
                for c in fleet.regions[region].values():
                    assert httpx.get(f"{c.url}/version", timeout=5).json()["build"] == B_VERSION
            code, doc = status_json(inventory)
            rolled = {r for w in waves[: n + 1] for r in w}
            assert builds(doc) == {
                r: B_VERSION if r in rolled else a_build for r in drill_regions()
            }, doc
            steps[-1]["fleet_status"] = {"exit": code, "builds": builds(doc), "mixed": doc["mixed"]}
            if n < len(waves) - 1:  # mid-rollout: flagged, and the table says it is mixed
                assert code == 1 and set(doc["mixed"]["build"]) == {a_build, B_VERSION}, doc
                table = fleet_cli("status", "--inventory", str(inventory)).stdout
                assert "mixed builds (a rollout in progress?)" in table, table
            else:
                assert code == 0 and doc["mixed"] == {}, doc
        time.sleep(1)  # some load on the finished fleet too
    summary = {
        "image_a": built_image.ref,
        "image_b": image_b,
        "image_b_build_s": round(derive_s, 1),
        "waves": waves,
        "steps": steps,
        "load": load.summary(),
    }
    report("fleet_rolling_update", summary)
    assert not load.failed(), summary["load"]
    assert summary["load"]["uncached"]["requests"] > 0


def _upstreams_after(fleet: Fleet, since: str) -> list[str]:
    assert fleet.edge is not None
    out = []
    for line in fleet.edge.access_log.read_text(encoding="utf-8").splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry["time"] >= since:
                out.append(entry["upstream"])
    return out


def test_a_killed_container_fails_over_and_rejoins(fleet: Fleet) -> None:
    region = drill_regions()[1]  # a one-container region: its region fails over entirely
    victim = next(iter(fleet.regions[region].values()))
    assert fleet.edge is not None
    fleet.edge.reload(fleet.ports())  # fresh upstream state (no server marked failed)
    with Load(fleet.edge) as load:
        eventually(lambda: len(load.answers) >= 6, timeout=120)
        t_kill = time.perf_counter()
        before = len(load.answers)
        victim.crash()
        eventually(lambda: victim.restarts() >= 1, timeout=60, interval=0.2)
        restarted_s = time.perf_counter() - t_kill
        victim.wait_ready(120)
        ready_s = time.perf_counter() - t_kill
        since = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime())
        # nginx takes a failed origin back after fail_timeout (10 s): it must get traffic
        port = f"127.0.0.1:{victim.port}"
        rejoin_s = eventually(lambda: any(port in u for u in _upstreams_after(fleet, since)),
                              timeout=90, interval=0.5)  # fmt: skip
        during = load.answers[before:]
    summary = {
        "killed": victim.name,
        "region": region,
        "restart_count": victim.restarts(),
        "restarted_after_s": round(restarted_s, 2),
        "ready_again_after_s": round(ready_s, 2),
        "edge_sent_traffic_again_after_ready_s": round(rejoin_s, 2),
        "requests_after_kill": len(during),
        "load": load.summary(),
    }
    report("fleet_kill", summary)
    assert not load.failed(), summary["load"]
    assert {a.kind for a in during} == {"cached", "uncached"}


def _setting(c: Container, name: str) -> Any:
    doc = httpx.get(f"{c.url}/admin/config", timeout=5).json()
    return doc["settings"][name]


def _propagation(fleet: Fleet, name: str, want: Any) -> dict[str, float]:
    """Seconds until every container reports ``name == want`` (polled in parallel)."""
    t0 = time.monotonic()

    def one(c: Container) -> float:
        eventually(lambda: _setting(c, name) == want, timeout=15, interval=0.02)
        return time.monotonic() - t0

    with ThreadPoolExecutor(len(fleet.containers())) as pool:
        took = list(pool.map(one, fleet.containers()))
    return {c.name: round(s, 3) for c, s in zip(fleet.containers(), took, strict=True)}


def _get(c: Container, text: str, **params: str) -> httpx.Response:
    return httpx.get(f"{c.url}/tts", params={"text": text, "format": "wav", **params}, timeout=60)


def test_etcd_changes_reach_every_container_and_an_etcd_outage_changes_nothing(
    fleet: Fleet,
) -> None:
    etcd = fleet.etcd
    cached = "降级演练的已缓存句子"
    for c in fleet.containers():  # in every region's cache before the switch
        assert _get(c, cached).status_code == 200
    summary: dict[str, Any] = {}
    try:
        etcd.put(PREFIX + "degrade", "true")
        summary["degrade_s"] = took = _propagation(fleet, "degrade", True)
        assert max(took.values()) <= PROPAGATION_BUDGET_S, took
        for c in fleet.containers():
            miss = _get(c, f"降级时未缓存的句子{c.port}")
            assert miss.status_code == 503 and miss.json()["error"]["code"] == "degraded"
            assert "retry-after" in miss.headers
            assert _get(c, cached).status_code == 200
        etcd.delete(PREFIX + "degrade")
        _propagation(fleet, "degrade", False)

        etcd.put(PREFIX + "allowed_emotions", "[neutral, sad]")
        summary["whitelist_s"] = took = _propagation(fleet, "allowed_emotions", ["neutral", "sad"])
        assert max(took.values()) <= PROPAGATION_BUDGET_S, took

        # etcd goes away: every container keeps the whitelist and keeps serving
        etcd.kill()
        time.sleep(3)  # more than two poll intervals: each container has noticed
        assert fleet.edge is not None
        with Load(fleet.edge) as load:
            for c in fleet.containers():
                assert httpx.get(f"{c.url}/ready", timeout=5).status_code == 200
                doc = httpx.get(f"{c.url}/admin/config", timeout=5).json()
                assert doc["sources"]["etcd"]["healthy"] is False, doc["sources"]
                assert doc["settings"]["allowed_emotions"] == ["neutral", "sad"]
                assert _get(c, "情绪白名单", emotion="happy").status_code == 400
                assert _get(c, f"情绪白名单{c.port}", emotion="sad").status_code == 200
            eventually(lambda: len(load.answers) >= 8, timeout=120)
        summary["etcd_down_load"] = load.summary()
        assert not load.failed(), summary["etcd_down_load"]
    finally:
        etcd.start()
        etcd.ctl("del", "--prefix", PREFIX)
    summary["after_etcd_back_s"] = _propagation(fleet, "allowed_emotions", [])
    report("fleet_etcd", summary)


def test_no_container_left_on_the_bridge(fleet: Fleet) -> None:
    """Every container of the fleet is on the host network (loopback only)."""
    for c in fleet.containers():
        mode = c.inspect()["HostConfig"]["NetworkMode"]
        assert mode == "host", mode
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", c.url)
