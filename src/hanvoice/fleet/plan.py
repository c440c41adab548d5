"""A region-by-region rollout plan: ``hanvoice fleet rollout-plan``.

One image, pinned by digest, moves through the regions wave by wave: the canary region
first, then the waves of ``rollout.waves`` in ``deploy/regions.yaml``. Every wave has the
same gates before the next may start: the region's pods are ready and report the new build
(``hanvoice fleet status --expect build=…``), and for the bake time the 5xx ratio and the
p95 latency stay under the inventory's limits (PromQL given, so a dashboard or an automated
analysis can evaluate them). A wave that fails a gate is rolled back, and the rollout stops.

The plan is data (:class:`RolloutPlan`) first and text second, so a pipeline can read the
JSON form and an operator the text form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hanvoice.errors import InvalidParameter
from hanvoice.fleet.inventory import Inventory, Region

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_BUILD = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}$")

ERROR_RATIO_QUERY = (
    'sum(rate(hanvoice_requests_total{{region=~"{regions}",status=~"5.."}}[5m]))'
    ' / clamp_min(sum(rate(hanvoice_requests_total{{region=~"{regions}"}}[5m])), 1e-9)'
)
P95_QUERY = (
    "histogram_quantile(0.95, sum by (le) "
    '(rate(hanvoice_request_duration_seconds_bucket{{region=~"{regions}"}}[5m])))'
)
"""PromQL of the error and latency gates; the same series the alert rules use."""


@dataclass(frozen=True, slots=True)
class Gate:
    name: str
    description: str
    command: str = ""
    query: str = ""
    threshold: float | None = None


@dataclass(frozen=True, slots=True)
class RegionSteps:
    region: str
    overlay: str
    steps: tuple[tuple[str, str], ...]
    """(name, command or instruction) in order: pin, apply, watch."""
    rollback: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Wave:
    number: int
    canary: bool
    regions: tuple[RegionSteps, ...]
    traffic_share: float
    """Fraction of global traffic (by inventory weight) this wave exposes to the build."""
    gates: tuple[Gate, ...]
    bake_minutes: int


@dataclass(frozen=True, slots=True)
class RolloutPlan:
    image: str
    digest: str
    build: str
    waves: tuple[Wave, ...]
    final_check: str

    @property
    def image_ref(self) -> str:
        return f"{self.image}@{self.digest}"


def rollout_plan(
    inv: Inventory, *, digest: str, build: str, overlays: Path | None = None
) -> RolloutPlan:
    """The ordered waves and gates for moving every region to ``image@digest``."""
    if not DIGEST.match(digest):
        raise InvalidParameter(f"--digest must look like sha256:<64 hex digits>, not {digest!r}")
    if not _BUILD.match(build):
        raise InvalidParameter(f"--build {build!r} is not a valid image tag")
    inventory_arg = str(inv.path) if inv.path else "deploy/regions.yaml"
    if overlays is None:
        base = inv.path.parent if inv.path else Path("deploy")
        overlays = base / "k8s" / "overlays"
    total = sum(r.weight for r in inv.regions) or 1
    order = [(inv.rollout.canary,), *inv.rollout.waves]
    waves = []
    for number, names in enumerate(order, start=1):
        regions = [inv.region(n) for n in names]
        waves.append(
            Wave(
                number=number,
                canary=number == 1,
                regions=tuple(_steps(r, overlays, digest) for r in regions),
                traffic_share=sum(r.weight for r in regions) / total,
                gates=_gates(inv, regions, build, inventory_arg),
                bake_minutes=inv.rollout.bake_minutes,
            )
        )
    final = f"hanvoice fleet status --inventory {inventory_arg} --expect build={build}"
    return RolloutPlan(
        image=inv.image, digest=digest, build=build, waves=tuple(waves), final_check=final
    )


def _kubectl(region: Region) -> str:
    return f"kubectl --context {region.kube_context}" if region.kube_context else "kubectl"


def _steps(region: Region, overlays: Path, digest: str) -> RegionSteps:
    overlay = str(overlays / region.name)
    k = _kubectl(region)
    return RegionSteps(
        region=region.name,
        overlay=overlay,
        steps=(
            ("pin", f"hanvoice fleet pin {overlay} {digest}  # then commit the overlay"),
            ("apply", f"{k} apply -k {overlay}"),
            ("watch", f"{k} -n hanvoice rollout status deployment/hanvoice --timeout=10m"),
        ),
        rollback=(
            f"{k} -n hanvoice rollout undo deployment/hanvoice",
            f"git revert the pin of {overlay}/kustomization.yaml",
        ),
    )


def _gates(
    inv: Inventory, regions: list[Region], build: str, inventory_arg: str
) -> tuple[Gate, ...]:
    names = " ".join(f"--region {r.name}" for r in regions)
    selector = "|".join(r.name for r in regions)
    ro = inv.rollout
    error_q = ERROR_RATIO_QUERY.format(regions=selector)
    p95_q = P95_QUERY.format(regions=selector)
    return (
        Gate(
            name="ready",
            description="every pod ready, reporting the new build and the same model",
            command=(
                f"hanvoice fleet status --inventory {inventory_arg} {names} --expect build={build}"
            ),
        ),
        Gate(
            name="errors",
            description=f"5xx ratio below {ro.max_error_ratio:g} for {ro.bake_minutes} min",
            query=f"{error_q} < {ro.max_error_ratio:g}",
            threshold=ro.max_error_ratio,
        ),
        Gate(
            name="latency",
            description=f"p95 latency below {ro.max_p95_seconds:g} s for {ro.bake_minutes} min",
            query=f"{p95_q} < {ro.max_p95_seconds:g}",
            threshold=ro.max_p95_seconds,
        ),
    )


def format_plan(plan: RolloutPlan) -> str:
    lines = [
        f"Rollout of {plan.image_ref} (build {plan.build})",
        f"{sum(len(w.regions) for w in plan.waves)} regions in {len(plan.waves)} waves; "
        "each wave must pass every gate before the next starts.",
        "",
    ]
    exposed = 0.0
    for wave in plan.waves:
        exposed += wave.traffic_share
        kind = " (canary)" if wave.canary else ""
        names = ", ".join(r.region for r in wave.regions)
        lines.append(
            f"Wave {wave.number}{kind}: {names}  "
            f"[{wave.traffic_share:.0%} of traffic, {exposed:.0%} on the new build after it]"
        )
        for r in wave.regions:
            lines.append(f"  {r.region}:")
            lines += [f"    {i}. {name:<6} {cmd}" for i, (name, cmd) in enumerate(r.steps, 1)]
        lines.append(f"  gates (hold for {wave.bake_minutes} min):")
        for g in wave.gates:
            lines.append(f"    {g.name:<8} {g.description}")
            lines.append(f"             {g.command or g.query}")
        lines.append("  on failure: stop the rollout and roll this wave back:")
        for r in wave.regions:
            lines += [f"    {cmd}" for cmd in r.rollback]
        lines.append("")
    lines.append(f"Done when the whole fleet agrees: {plan.final_check}")
    return "\n".join(lines)


def plan_json(plan: RolloutPlan) -> dict[str, Any]:
    return {
        "image": plan.image_ref,
        "build": plan.build,
        "waves": [
            {
                "wave": w.number,
                "canary": w.canary,
                "traffic_share": round(w.traffic_share, 4),
                "bake_minutes": w.bake_minutes,
                "regions": [
                    {
                        "region": r.region,
                        "overlay": r.overlay,
                        "steps": [{"name": n, "command": c} for n, c in r.steps],
                        "rollback": list(r.rollback),
                    }
                    for r in w.regions
                ],
                "gates": [
                    {
                        "name": g.name,
                        "description": g.description,
                        "command": g.command or None,
                        "query": g.query or None,
                        "threshold": g.threshold,
                    }
                    for g in w.gates
                ],
            }
            for w in plan.waves
        ],
        "final_check": plan.final_check,
    }
