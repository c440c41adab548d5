"""The region inventory (``deploy/regions.yaml``): the one list of regions everything uses.

The fleet commands, the rollout plan and the tests that check each Kubernetes overlay all
read this file, so a region is added in one place. Loading validates it completely and
names the key that is wrong: a typo in an inventory should stop a rollout before it
starts, not in the middle.

>>> inv = load_inventory(Path("deploy/regions.yaml"))
>>> inv.canary.name
'ap-singapore'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from hanvoice.errors import ConfigError

_NAME = re.compile(r"^[a-z][a-z0-9-]{1,40}[a-z0-9]$")
NODE_KEY = "/etc/containers/keys/hanvoice-release.asc"
# host[:port]/path of a registry repository: no scheme, no tag, no digest
_REPOSITORY = re.compile(r"^[a-z0-9][a-z0-9.-]{0,252}(:[0-9]{1,5})?(/[a-z0-9][a-z0-9._-]{0,127})+$")


class InventoryError(ConfigError):
    """The inventory file is missing, unreadable or names something impossible."""

    code = "invalid_inventory"


@dataclass(frozen=True, slots=True)
class Region:
    name: str
    """Region id: the overlay folder, the ``region`` label and ``HANVOICE_REGION``."""
    endpoint: str
    """Public base URL (``https://cn-beijing.tts.example.com``); fleet status asks it."""
    weight: int
    """Relative share of global traffic (weighted/latency DNS records)."""
    zones: tuple[str, ...]
    """Availability zones the pods spread over; at least two."""
    geo: tuple[str, ...] = ()
    min_replicas: int = 1
    max_replicas: int = 4
    redis: str = ""
    etcd: str = ""
    kube_context: str = ""
    registry: str = ""
    """The region's own registry repository (``registry.cn-beijing.example.com/hanvoice/
    hanvoice``): releases are copied there and the region's nodes pull only from it."""
    lookaside: str = ""
    """Where that registry's image signatures are read (``https://…`` or ``file://…``)."""


@dataclass(frozen=True, slots=True)
class Release:
    """How a release travels: signed once into ``Inventory.image``, copied to each region.

    GPG simple signing (docs/deploy.md, "Release"): a signature is a small file kept beside
    a registry in its *lookaside* store; release.sh writes them under ``staging`` (one folder
    per registry, synced to the lookaside URLs) and nodes read them from ``lookaside``.
    """

    public_key: str = ""
    """ASCII-armoured public key every node trusts (a path, relative to the inventory's
    repository root, e.g. ``deploy/release/release-key.asc``)."""
    node_key: str = NODE_KEY
    """Where ``hanvoice fleet node-config`` expects that key on a node."""
    lookaside: str = ""
    """Where the central registry's signatures are read."""
    staging: str = ""
    """Base URL (``file://``) where release.sh writes signatures: ``<staging>/central`` and
    ``<staging>/<region>``."""


@dataclass(frozen=True, slots=True)
class Rollout:
    canary: str
    waves: tuple[tuple[str, ...], ...]
    """Regions after the canary, wave by wave; regions in one wave roll in parallel."""
    bake_minutes: int = 30
    max_error_ratio: float = 0.01
    max_p95_seconds: float = 1.5


@dataclass(frozen=True, slots=True)
class Inventory:
    image: str
    regions: tuple[Region, ...]
    rollout: Rollout
    path: Path | None = None
    release: Release = Release()

    def region(self, name: str) -> Region:
        for r in self.regions:
            if r.name == name:
                return r
        raise InventoryError(f"no region {name!r} in the inventory ({', '.join(self.names)})")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.regions)

    @property
    def canary(self) -> Region:
        return self.region(self.rollout.canary)

    def select(self, names: list[str] | None) -> tuple[Region, ...]:
        """The regions named (in inventory order), or all of them."""
        if not names:
            return self.regions
        wanted = [self.region(n).name for n in names]
        return tuple(r for r in self.regions if r.name in wanted)


def load_inventory(path: Path) -> Inventory:
    """Read and validate an inventory file; :class:`InventoryError` names what is wrong."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InventoryError(f"cannot read inventory {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise InventoryError(f"inventory {path} is not valid YAML: {exc}") from exc
    try:
        inv = parse_inventory(raw)
    except InventoryError as exc:
        raise InventoryError(f"inventory {path}: {exc.message}") from exc
    return Inventory(
        image=inv.image, regions=inv.regions, rollout=inv.rollout, path=path, release=inv.release
    )


def parse_inventory(raw: object) -> Inventory:
    """Validate an already parsed inventory document (see ``deploy/regions.yaml``)."""
    doc = _mapping(raw, "the document")
    _only(doc, {"version", "image", "rollout", "regions", "release"}, "the document")
    if doc.get("version", 1) != 1:
        raise InventoryError(f"version: {doc.get('version')!r} is not supported (expected 1)")
    image = _str(doc, "image", "the document")
    items = doc.get("regions")
    if not isinstance(items, list) or not items:
        raise InventoryError("regions: expected a non-empty list of regions")
    regions = tuple(_region(item, i) for i, item in enumerate(items))
    names = [r.name for r in regions]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InventoryError(f"regions: {', '.join(dupes)} listed more than once")
    rollout = _rollout(doc.get("rollout"), regions)
    release = _release(doc.get("release", {}))
    return Inventory(image=image, regions=regions, rollout=rollout, release=release)


def _release(raw: object) -> Release:
    d = _mapping(raw, "release")
    _only(d, {"public_key", "node_key", "lookaside", "staging"}, "release")
    for key in ("lookaside", "staging"):
        _url(_opt_str(d, key, "release"), f"release.{key}", allow_file=True)
    return Release(
        public_key=_opt_str(d, "public_key", "release"),
        node_key=_opt_str(d, "node_key", "release") or NODE_KEY,
        lookaside=_opt_str(d, "lookaside", "release"),
        staging=_opt_str(d, "staging", "release"),
    )


def _url(value: str, where: str, *, allow_file: bool = False) -> None:
    if not value:
        return
    schemes = ("http", "https", "file") if allow_file else ("http", "https")
    url = urlsplit(value)
    if url.scheme not in schemes or not (url.hostname or (url.scheme == "file" and url.path)):
        raise InventoryError(f"{where}: {value!r} is not a {'/'.join(schemes)} URL")


def _region(item: object, index: int) -> Region:
    where = f"regions[{index}]"
    d = _mapping(item, where)
    _only(
        d,
        {"name", "endpoint", "weight", "zones", "geo", "replicas", "redis", "etcd"}
        | {"kube_context", "registry", "lookaside"},
        where,
    )
    name = _str(d, "name", where)
    if not _NAME.match(name):
        raise InventoryError(f"{where}.name: {name!r} must be lower-case letters, digits and -")
    where = f"region {name}"
    endpoint = _str(d, "endpoint", where)
    url = urlsplit(endpoint)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise InventoryError(f"{where}: endpoint {endpoint!r} is not an http(s) URL")
    registry = _opt_str(d, "registry", where)
    if registry and not _REPOSITORY.match(registry):
        raise InventoryError(
            f"{where}: registry {registry!r} must be host[:port]/path, lower case, no tag"
        )
    lookaside = _opt_str(d, "lookaside", where)
    _url(lookaside, f"{where}: lookaside", allow_file=True)
    weight = d.get("weight")
    if not isinstance(weight, int) or isinstance(weight, bool) or weight < 0:
        raise InventoryError(f"{where}: weight must be a whole number >= 0, not {weight!r}")
    zones = d.get("zones")
    if not isinstance(zones, list) or not all(isinstance(z, str) and z for z in zones):
        raise InventoryError(f"{where}: zones must be a list of zone names")
    if len(set(zones)) < 2:
        raise InventoryError(f"{where}: needs at least two distinct zones, has {len(set(zones))}")
    geo = d.get("geo", [])
    if not isinstance(geo, list) or not all(isinstance(g, str) for g in geo):
        raise InventoryError(f"{where}: geo must be a list of country or continent codes")
    reps = _mapping(d.get("replicas", {"min": 1, "max": 4}), f"{where}.replicas")
    lo, hi = reps.get("min"), reps.get("max")
    if not (isinstance(lo, int) and isinstance(hi, int) and 1 <= lo <= hi):
        raise InventoryError(f"{where}: replicas needs 1 <= min <= max, got {lo!r}..{hi!r}")
    return Region(
        name=name,
        endpoint=endpoint.rstrip("/"),
        weight=weight,
        zones=tuple(zones),
        geo=tuple(geo),
        min_replicas=lo,
        max_replicas=hi,
        redis=_opt_str(d, "redis", where),
        etcd=_opt_str(d, "etcd", where),
        kube_context=_opt_str(d, "kube_context", where),
        registry=registry,
        lookaside=lookaside,
    )


def _rollout(raw: object, regions: tuple[Region, ...]) -> Rollout:
    names = [r.name for r in regions]
    if raw is None:
        # No plan written down: the lightest region first, then one region per wave by
        # ascending weight, so the busiest regions move last.
        ordered = sorted(regions, key=lambda r: (r.weight, r.name))
        return Rollout(canary=ordered[0].name, waves=tuple((r.name,) for r in ordered[1:]))
    d = _mapping(raw, "rollout")
    _only(d, {"canary", "waves", "bake_minutes", "max_error_ratio", "max_p95_seconds"}, "rollout")
    canary = _str(d, "canary", "rollout")
    if canary not in names:
        raise InventoryError(f"rollout.canary: {canary!r} is not a region")
    waves_raw = d.get("waves")
    if waves_raw is None:
        rest = sorted((r for r in regions if r.name != canary), key=lambda r: (r.weight, r.name))
        waves = tuple((r.name,) for r in rest)
    else:
        if not isinstance(waves_raw, list) or not all(
            isinstance(w, list) and w and all(isinstance(n, str) for n in w) for w in waves_raw
        ):
            raise InventoryError("rollout.waves: expected a list of non-empty lists of regions")
        waves = tuple(tuple(w) for w in waves_raw)
        seen = [n for w in waves for n in w]
        for n in seen:
            if n not in names:
                raise InventoryError(f"rollout.waves: {n!r} is not a region")
            if n == canary:
                raise InventoryError(f"rollout.waves: {n!r} is the canary; it goes first anyway")
            if seen.count(n) > 1:
                raise InventoryError(f"rollout.waves: {n!r} is in more than one wave")
        missing = [n for n in names if n != canary and n not in seen]
        if missing:
            raise InventoryError(f"rollout.waves: {', '.join(missing)} in no wave")
    bake = d.get("bake_minutes", 30)
    ratio = d.get("max_error_ratio", 0.01)
    p95 = d.get("max_p95_seconds", 1.5)
    if not isinstance(bake, int) or isinstance(bake, bool) or bake < 0:
        raise InventoryError(f"rollout.bake_minutes must be a whole number >= 0, not {bake!r}")
    if not isinstance(ratio, int | float) or not 0 <= ratio < 1:
        raise InventoryError(f"rollout.max_error_ratio must be in [0, 1), not {ratio!r}")
    if not isinstance(p95, int | float) or p95 <= 0:
        raise InventoryError(f"rollout.max_p95_seconds must be > 0, not {p95!r}")
    return Rollout(
        canary=canary,
        waves=waves,
        bake_minutes=bake,
        max_error_ratio=float(ratio),
        max_p95_seconds=float(p95),
    )


def _mapping(raw: object, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InventoryError(f"{where}: expected a mapping, got {type(raw).__name__}")
    return raw


def _only(d: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(d) - allowed)
    if unknown:
        raise InventoryError(
            f"{where}: unknown key {', '.join(map(str, unknown))} "
            f"(allowed: {', '.join(sorted(allowed))})"
        )


def _str(d: dict[str, Any], key: str, where: str) -> str:
    value = d.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InventoryError(f"{where}: {key} must be a non-empty string")
    return value.strip()


def _opt_str(d: dict[str, Any], key: str, where: str) -> str:
    value = d.get(key, "")
    if not isinstance(value, str):
        raise InventoryError(f"{where}: {key} must be a string")
    return value
