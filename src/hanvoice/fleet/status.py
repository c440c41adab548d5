"""Ask every region what it runs, and find the ones that differ: ``hanvoice fleet status``.

"Build once, deploy to many regions" only holds if every region answers ``/version`` with
the same package version, build, engine and model. This module asks all regions at once
(one thread per region, so a slow region costs its own timeout, not the sum), compares the
answers and reports each difference as :class:`Drift`.

The reference a region is compared with is what the operator expects (``--expect
build=0.2.0``) or else the value most regions report: with five regions, the one that
differs is the one flagged.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from hanvoice.fleet.inventory import Region

if TYPE_CHECKING:
    from hanvoice.fleet.signing import SignatureCheck, Verifier

VERSION_FIELDS = (
    "version",
    "build",
    "commit",
    "image_digest",
    "engine",
    "model_id",
    "model_sha256",
    "region",
    "config_version",
)
DEFAULT_COMPARE = tuple(f for f in VERSION_FIELDS if f not in ("region", "config_version"))
"""What must be identical everywhere. ``config_version`` is shown but not compared by
default: a region may legitimately run a newer config while a change propagates. The
image is compared by digest (``image_digest``): each region pulls it from its own
registry, so the full reference differs on purpose."""


@dataclass(frozen=True, slots=True)
class RegionStatus:
    region: str
    endpoint: str
    reachable: bool
    ready: bool
    ready_status: int | None
    """HTTP status of ``/ready`` (503 while starting, draining or overloaded)."""
    latency_ms: float | None
    """Round trip of the ``/version`` request."""
    info: Mapping[str, Any] = field(default_factory=dict)
    """The ``/version`` document."""
    error: str = ""


@dataclass(frozen=True, slots=True)
class Drift:
    region: str
    field: str
    value: object
    expected: object

    def __str__(self) -> str:
        return f"{self.region}: {self.field} is {self.value!r}, expected {self.expected!r}"


@dataclass(frozen=True, slots=True)
class FleetReport:
    statuses: tuple[RegionStatus, ...]
    drift: tuple[Drift, ...]
    reference: Mapping[str, object]
    signatures: Mapping[str, SignatureCheck] = field(default_factory=dict)
    """Region -> is the digest it runs signed for its registry (only when checked)."""

    @property
    def mixed(self) -> dict[str, dict[str, list[str]]]:
        """Builds (and versions) that run side by side: ``{field: {value: [regions]}}``.

        Mid-rollout this is expected (the waves already rolled run the new build, the others
        the old one) but it must be visible, not read off each row: ``{"build": {"0.2.0":
        ["ap-singapore"], "0.1.0": ["cn-beijing", "eu-frankfurt"]}}``. Empty when every
        answering region agrees.
        """
        return mixed_values(self.statuses, ("version", "build", "image_digest"))

    @property
    def problems(self) -> list[str]:
        """Every reason the fleet is not healthy and uniform, one line each."""
        out = [f"{s.region}: unreachable ({s.error})" for s in self.statuses if not s.reachable]
        out += [
            f"{s.region}: not ready (/ready answered {s.ready_status})"
            for s in self.statuses
            if s.reachable and not s.ready
        ]
        out += [str(d) for d in self.drift]
        out += [
            f"{region}: image is not signed by the release key ({check.reason})"
            for region, check in self.signatures.items()
            if not check.ok
        ]
        return out

    @property
    def ok(self) -> bool:
        return not self.problems


def probe(region: Region, client: httpx.Client) -> RegionStatus:
    """``GET /version`` and ``GET /ready`` of one region; never raises for network trouble."""
    base = region.endpoint
    try:
        start = time.perf_counter()
        resp = client.get(f"{base}/version")
        latency = (time.perf_counter() - start) * 1000
        if resp.status_code != 200:
            return _down(region, f"/version answered HTTP {resp.status_code}")
        info = resp.json()
        if not isinstance(info, dict):
            return _down(region, "/version is not a JSON object")
        ready = client.get(f"{base}/ready")
    except httpx.HTTPError as exc:
        return _down(region, _describe(exc))
    except ValueError:
        return _down(region, "/version is not JSON")
    return RegionStatus(
        region=region.name,
        endpoint=base,
        reachable=True,
        ready=ready.status_code == 200,
        ready_status=ready.status_code,
        latency_ms=latency,
        info=info,
    )


def _down(region: Region, error: str) -> RegionStatus:
    return RegionStatus(
        region=region.name,
        endpoint=region.endpoint,
        reachable=False,
        ready=False,
        ready_status=None,
        latency_ms=None,
        error=error,
    )


def _describe(exc: httpx.HTTPError) -> str:
    kinds: dict[type[httpx.HTTPError], str] = {
        httpx.ConnectError: "connection failed",
        httpx.ConnectTimeout: "connect timed out",
        httpx.ReadTimeout: "read timed out",
    }
    kind = kinds.get(type(exc), type(exc).__name__)
    detail = str(exc).strip()
    return f"{kind}: {detail}" if detail and detail != kind else kind


def find_drift(
    statuses: Sequence[RegionStatus],
    compare: Sequence[str] = DEFAULT_COMPARE,
    expect: Mapping[str, str] | None = None,
) -> tuple[tuple[Drift, ...], dict[str, object]]:
    """Differences from the expected or majority value, plus the reference used.

    A region must also report its own name as ``region``: an endpoint answered by another
    region means DNS or a load balancer points the wrong way.

    >>> a = RegionStatus("a", "", True, True, 200, 1.0, {"build": "1"})
    >>> b = RegionStatus("b", "", True, True, 200, 1.0, {"build": "2"})
    >>> c = RegionStatus("c", "", True, True, 200, 1.0, {"build": "1"})
    >>> [str(d) for d in find_drift([a, b, c], ["build"])[0]]
    ["b: build is '2', expected '1'"]
    """
    expect = dict(expect or {})
    answered = [s for s in statuses if s.reachable]
    reference: dict[str, object] = {}
    # `region` differs on purpose; it is checked against the inventory name below.
    for name in dict.fromkeys(n for n in [*compare, *expect] if n != "region"):
        if name in expect:
            reference[name] = expect[name]
            continue
        counts = Counter(_key(s.info.get(name)) for s in answered)
        if counts:
            # Most common value; ties go to the value seen first (inventory order).
            best = max(counts.values())
            reference[name] = next(
                s.info.get(name) for s in answered if counts[_key(s.info.get(name))] == best
            )
    drift: list[Drift] = []
    for s in answered:
        for name, want in reference.items():
            have = s.info.get(name)
            if _key(have) != _key(want):
                drift.append(Drift(s.region, name, have, want))
        reported = s.info.get("region")
        if reported is not None and reported != s.region:
            drift.append(Drift(s.region, "region", reported, s.region))
    return tuple(drift), reference


def mixed_values(
    statuses: Sequence[RegionStatus], fields: Sequence[str]
) -> dict[str, dict[str, list[str]]]:
    """Each field that answering regions disagree on, as value -> regions (first seen first).

    >>> a = RegionStatus("a", "", True, True, 200, 1.0, {"build": "1"})
    >>> b = RegionStatus("b", "", True, True, 200, 1.0, {"build": "2"})
    >>> mixed_values([a, b], ["build"])
    {'build': {'1': ['a'], '2': ['b']}}
    """
    out: dict[str, dict[str, list[str]]] = {}
    for name in fields:
        seen: dict[str, list[str]] = {}
        for s in statuses:
            if s.reachable:
                seen.setdefault(_key(s.info.get(name)) or "-", []).append(s.region)
        if len(seen) > 1:
            out[name] = seen
    return out


def _key(value: object) -> str:
    return "" if value is None else str(value)


def fleet_status(
    regions: Sequence[Region],
    *,
    compare: Sequence[str] = DEFAULT_COMPARE,
    expect: Mapping[str, str] | None = None,
    timeout: float = 5.0,
    token: str | None = None,
    verifier: Verifier | None = None,
) -> FleetReport:
    """Probe every region in parallel and compare what they run; with a ``verifier``, also
    check that the digest each region runs carries a valid signature in its registry's
    lookaside (a region without a digest to show is flagged too)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with (
        httpx.Client(timeout=timeout, headers=headers, follow_redirects=True) as client,
        ThreadPoolExecutor(max_workers=max(1, min(32, len(regions)))) as pool,
    ):
        statuses = tuple(pool.map(lambda r: probe(r, client), regions))
    drift, reference = find_drift(statuses, compare, expect)
    signatures = {}
    if verifier is not None:
        by_name = {r.name: r for r in regions}
        for s in statuses:
            if s.reachable:
                signatures[s.region] = _signature(verifier, by_name[s.region], s)
    return FleetReport(statuses, drift, reference, signatures)


def _signature(verifier: Verifier, region: Region, status: RegionStatus) -> SignatureCheck:
    from hanvoice.fleet.signing import SignatureCheck

    digest = status.info.get("image_digest")
    if not digest:
        return SignatureCheck(False, "the region reports no image digest (HANVOICE_IMAGE)")
    return verifier.check(region, str(digest))


def _row(
    s: RegionStatus, drifted: set[tuple[str, str]], signatures: Mapping[str, SignatureCheck]
) -> tuple[str, ...]:
    def mark(*fields: str) -> str:
        return "*" if any((s.region, f) in drifted for f in fields) else ""

    def cell(name: str) -> str:
        return (_key(s.info.get(name)) or "-") + mark(name)

    ready = "down" if not s.reachable else "yes" if s.ready else f"no ({s.ready_status})"
    image = _key(s.info.get("image_digest")).removeprefix("sha256:")[:12] or "-"
    check = signatures.get(s.region)
    signed = "" if check is None else " signed" if check.ok else " UNSIGNED"
    image += mark("image_digest") + signed
    sha = _key(s.info.get("model_sha256"))[:12]
    model = _key(s.info.get("model_id")) + (f"@{sha}" if sha else "")
    return (
        s.region + mark("region"),
        ready,
        (model or "-") + mark("model_id", "model_sha256", "engine"),
        cell("version"),
        (_key(s.info.get("build")) or "-") + mark("build", "commit"),
        image,
        cell("config_version"),
        f"{s.latency_ms:.0f} ms" if s.latency_ms is not None else "-",
    )


def format_table(report: FleetReport) -> str:
    """A fixed-width table, one row per region; drifted cells are marked with ``*``."""
    drifted = {(d.region, d.field) for d in report.drift}
    header = ("REGION", "READY", "MODEL", "VERSION", "BUILD", "IMAGE", "CONFIG", "LATENCY")
    rows = [header, *(_row(s, drifted, report.signatures) for s in report.statuses)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    problems = report.problems
    lines.append("")
    for name, values in report.mixed.items():
        where = "; ".join(f"{v} in {', '.join(regions)}" for v, regions in values.items())
        lines.append(f"mixed {name}s (a rollout in progress?): {where}")
    if problems:
        lines.append(f"{len(problems)} problem(s):")
        lines += [f"  {p}" for p in problems]
    else:
        lines.append(f"all {len(report.statuses)} region(s) ready and running the same build")
    return "\n".join(lines)


def as_json(report: FleetReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "reference": dict(report.reference),
        "regions": [
            {
                "region": s.region,
                "endpoint": s.endpoint,
                "reachable": s.reachable,
                "ready": s.ready,
                "ready_status": s.ready_status,
                "latency_ms": None if s.latency_ms is None else round(s.latency_ms, 1),
                "version": {k: s.info.get(k) for k in VERSION_FIELDS},
                "error": s.error,
            }
            for s in report.statuses
        ],
        "drift": [
            {"region": d.region, "field": d.field, "value": d.value, "expected": d.expected}
            for d in report.drift
        ],
        "mixed": report.mixed,
        "signatures": {
            region: {"ok": c.ok, "reason": c.reason} for region, c in report.signatures.items()
        },
        "problems": report.problems,
    }
