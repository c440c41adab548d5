"""Roll one image digest out, wave by wave, gated on ``/ready``: ``hanvoice fleet rollout``.

The order is the rollout plan's (:mod:`hanvoice.fleet.plan`): the canary region alone, then
each wave of ``rollout.waves``; the regions of one wave move in parallel. How a region moves
is not decided here: a *deployer* does it (for Kubernetes the plan's pin / apply / rollout
status; in the drill, podman pulling from the region's registry through its signature
policy). What is decided here is when the next region may move:

* **gate**: after its deployer returns, a region must answer ``/ready`` with 200 and report
  the new digest in ``/version`` (``image_digest``) within ``gate_timeout``;
* **bake**: then the whole wave is probed for ``bake`` seconds, and every probe must still
  pass (a region that falls over after it first looked fine stops the rollout);
* **stop**: a region whose deployer fails or whose gate does not pass stops the rollout
  after its wave; the regions already moved stay on the new digest and the result says which.
  Going back is a rollout of the old digest (``--waves all-at-once``): the old image is
  still signed in every region's registry, so the nodes still accept it.
"""

from __future__ import annotations

import logging
import re
import shlex
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx

from hanvoice.errors import InvalidParameter
from hanvoice.fleet.inventory import Inventory, Region
from hanvoice.fleet.plan import DIGEST
from hanvoice.fleet.status import RegionStatus, probe

log = logging.getLogger(__name__)

Deployer = Callable[[Region, str], Region]
"""``deploy(region, image_ref)`` moves one region to ``image_ref`` (``repository@sha256:…``)
and returns the region as it answers now (its endpoint may have changed)."""

DEFAULT_DEPLOY = (
    "hanvoice fleet pin {overlay} {digest}"
    " && kubectl --context {kube_context} apply -k {overlay}"
    " && kubectl --context {kube_context} -n hanvoice rollout status deployment/hanvoice"
    " --timeout 15m"
)
"""The Kubernetes deployer of ``hanvoice fleet rollout`` (the plan's pin, apply, watch)."""
_WAVES = re.compile(r"^(all|all-at-once|\d+|\d+-|\d+-\d+)$")


@dataclass(frozen=True, slots=True)
class RegionResult:
    region: str
    wave: int
    ok: bool
    seconds: float
    """From the start of its deployer to its gate passing (or failing)."""
    detail: str = ""


@dataclass(frozen=True, slots=True)
class RolloutResult:
    digest: str
    regions: tuple[RegionResult, ...]
    seconds: float
    failed_wave: int | None = None

    @property
    def ok(self) -> bool:
        return self.failed_wave is None

    @property
    def moved(self) -> list[str]:
        return [r.region for r in self.regions if r.ok]


def region_image(inv: Inventory, region: Region, digest: str) -> str:
    """What a region's nodes pull: its own registry (else the central one) by digest."""
    return f"{region.registry or inv.image}@{digest}"


def select_waves(inv: Inventory, spec: str = "all") -> list[tuple[int, tuple[Region, ...]]]:
    """``(wave number, regions)`` in order. ``spec``: ``all``, ``all-at-once`` (one wave of
    every region: a rollback), ``N``, ``N-`` or ``N-M`` (1 is the canary)."""
    if not _WAVES.match(spec):
        raise InvalidParameter(f"--waves {spec!r}: use all, all-at-once, N, N- or N-M")
    order = [(inv.rollout.canary,), *inv.rollout.waves]
    waves = [(n, tuple(inv.region(r) for r in names)) for n, names in enumerate(order, 1)]
    if spec == "all":
        return waves
    if spec == "all-at-once":
        return [(1, tuple(r for _, regions in waves for r in regions))]
    first, dash, last = spec.partition("-")
    lo, hi = int(first), int(last) if last else (len(waves) if dash else int(first))
    if not 1 <= lo <= hi <= len(waves):
        raise InvalidParameter(f"--waves {spec!r}: the inventory has waves 1-{len(waves)}")
    return waves[lo - 1 : hi]


def passes(status: RegionStatus, digest: str) -> tuple[bool, str]:
    """The gate for one probe: ready, and running ``digest``."""
    if not status.reachable:
        return False, f"unreachable ({status.error})"
    if not status.ready:
        return False, f"not ready (/ready answered {status.ready_status})"
    running = status.info.get("image_digest") or "-"
    if running != digest:
        return False, f"runs {running}, not {digest}"
    return True, "ready on the new digest"


def wait_for_gate(
    region: Region, digest: str, client: httpx.Client, timeout: float, interval: float = 0.5
) -> tuple[bool, str]:
    """Probe until the gate passes or ``timeout`` seconds have gone by."""
    deadline = time.monotonic() + timeout
    while True:
        ok, why = passes(probe(region, client), digest)
        if ok or time.monotonic() >= deadline:
            return ok, why
        time.sleep(interval)


def run_rollout(
    inv: Inventory,
    digest: str,
    deploy: Deployer,
    *,
    waves: str = "all",
    gate_timeout: float = 600.0,
    bake: float = 0.0,
    interval: float = 1.0,
    timeout: float = 5.0,
) -> RolloutResult:
    """Move the selected waves to ``digest`` in order; stop after the first wave that fails."""
    if not DIGEST.match(digest):
        raise InvalidParameter(f"digest must look like sha256:<64 hex digits>, not {digest!r}")
    start = time.monotonic()
    results: list[RegionResult] = []
    with httpx.Client(timeout=timeout) as client:
        for number, regions in select_waves(inv, waves):
            log.info("wave %d: %s -> %s", number, ", ".join(r.name for r in regions), digest)

            def move(region: Region, number: int = number) -> tuple[RegionResult, Region]:
                t0 = time.monotonic()
                try:
                    now = deploy(region, region_image(inv, region, digest))
                except Exception as exc:  # any deployer failure stops the rollout
                    return RegionResult(region.name, number, False, time.monotonic() - t0,
                                        f"deploy failed: {exc}"), region  # fmt: skip
                ok, why = wait_for_gate(now, digest, client, gate_timeout)
                return RegionResult(region.name, number, ok, time.monotonic() - t0, why), now

            with ThreadPoolExecutor(max_workers=len(regions)) as pool:
                moved = list(pool.map(move, regions))
            results += [r for r, _ in moved]
            failed = [r for r, _ in moved if not r.ok]
            if not failed and bake > 0:
                failed = _bake([now for _, now in moved], digest, client, number, bake, interval)
                bad = {r.region: r for r in failed}
                results = [bad.get(r.region, r) if r.wave == number else r for r in results]
            if failed:
                for r in failed:
                    log.error("wave %d: %s failed: %s", number, r.region, r.detail)
                return RolloutResult(digest, tuple(results), time.monotonic() - start, number)
    return RolloutResult(digest, tuple(results), time.monotonic() - start)


def _bake(
    regions: list[Region],
    digest: str,
    client: httpx.Client,
    number: int,
    bake: float,
    interval: float,
) -> list[RegionResult]:
    """Probe the wave until ``bake`` seconds have passed; the first failing probe ends it."""
    end = time.monotonic() + bake
    while time.monotonic() < end:
        for region in regions:
            ok, why = passes(probe(region, client), digest)
            if not ok:
                return [RegionResult(region.name, number, False, bake, f"during bake: {why}")]
        time.sleep(min(interval, max(0.0, end - time.monotonic())))
    return []


def command_deployer(template: str, inv: Inventory, timeout: float = 1800.0) -> Deployer:
    """A deployer that runs ``template`` in bash with ``{region}``, ``{image}``,
    ``{digest}``, ``{kube_context}`` and ``{overlay}`` filled in (each shell-quoted)."""
    overlays = (inv.path.parent if inv.path else Path("deploy")) / "k8s" / "overlays"

    def deploy(region: Region, image: str) -> Region:
        values = {
            "region": region.name,
            "image": image,
            "digest": image.rpartition("@")[2],
            "kube_context": region.kube_context or "default",
            "overlay": str(overlays / region.name),
        }
        try:
            command = template.format(**{k: shlex.quote(v) for k, v in values.items()})
        except (KeyError, IndexError, ValueError) as exc:
            raise InvalidParameter(f"--deploy {template!r}: unknown placeholder {exc}") from exc
        done = subprocess.run(
            ["bash", "-c", command], capture_output=True, text=True, timeout=timeout
        )
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise RuntimeError(f"exit {done.returncode}: {' | '.join(tail)}")
        return region

    return deploy


def format_result(result: RolloutResult) -> str:
    lines = [f"rollout of {result.digest}"]
    for r in result.regions:
        mark = "ok  " if r.ok else "FAIL"
        lines.append(f"  wave {r.wave}  {mark}  {r.region:<14} {r.seconds:6.1f} s  {r.detail}")
    if result.ok:
        lines.append(f"done: {len(result.regions)} region(s) in {result.seconds:.1f} s")
    else:
        lines.append(
            f"stopped at wave {result.failed_wave}; on the new digest: "
            f"{', '.join(result.moved) or 'none'} (roll back with the old digest and "
            "--waves all-at-once)"
        )
    return "\n".join(lines)
