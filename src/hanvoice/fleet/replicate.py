"""Copy a signed release from the central registry to every region's: ``hanvoice fleet
replicate`` (``scripts/release.sh replicate``).

One ``skopeo copy`` per region, all regions at once (each is a separate registry; a slow
one costs its own time). skopeo asks the destination for every blob before it sends it, so
layers a region already holds are not sent again: a code-only release sends the few small
layers that changed. The signatures travel with the image (from the central lookaside
into the region's, per the release host's registries.d), and the copy reads the central
image through the release host's policy: an image that is not signed is not replicated.

The SBOM published beside the image (the tag ``sha256-<hex>.sbom``, the convention cosign
uses for attachments) is copied the same way when it exists.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hanvoice.errors import InvalidParameter
from hanvoice.fleet.inventory import Inventory, Region
from hanvoice.fleet.plan import DIGEST

_CHECK = re.compile(r"Checking /v2/\S+/blobs/(sha256:[0-9a-f]{64})")
_SKIP = re.compile(r"Skipping blob (sha256:[0-9a-f]{64}) \(already present\)")
_EXISTS = "... already exists"


@dataclass(frozen=True, slots=True)
class Copied:
    region: str
    ok: bool
    seconds: float
    bytes_sent: int
    """Manifest, config and every blob the region did not hold yet (compressed sizes)."""
    blobs_sent: int
    blobs_skipped: int
    error: str = ""


def sbom_tag(digest: str) -> str:
    """``sha256:ab…`` -> ``sha256-ab….sbom``."""
    return digest.replace(":", "-") + ".sbom"


def sent_bytes(log: str, manifest: dict[str, Any], manifest_size: int) -> tuple[int, int, int]:
    """(bytes, blobs sent, blobs skipped), from ``skopeo --debug copy``'s log and the manifest.

    skopeo asks the destination for each layer and logs ``Skipping blob <digest> (already
    present)`` for one it has; the layers are checked in parallel, so the bare ``...
    already exists`` replies cannot be matched to them. The config goes last, alone: its
    reply is the ``... already exists`` right after its own ``Checking`` line. What was not
    present was sent, at its size in the manifest (compressed, as it travels). The plain
    progress lines say "Copying blob" either way.

    >>> m = {"config": {"digest": "sha256:" + "c" * 64, "size": 5},
    ...      "layers": [{"digest": "sha256:" + "a" * 64, "size": 100},
    ...                 {"digest": "sha256:" + "b" * 64, "size": 7}]}
    >>> log = chr(10).join(['msg="Skipping blob sha256:' + "a" * 64 + ' (already present):"',
    ...                     'msg="Checking /v2/h/h/blobs/sha256:' + "c" * 64 + '"'])
    >>> sent_bytes(log, m, 300)
    (312, 2, 1)
    """
    present = set(_SKIP.findall(log))
    config = manifest["config"]["digest"]
    lines = log.splitlines()
    for n, line in enumerate(lines):
        checking = _CHECK.search(line)
        if checking and checking[1] == config and _EXISTS in "".join(lines[n + 1 : n + 2]):
            present.add(config)
    blobs = [manifest["config"], *manifest["layers"]]
    sent = [b for b in blobs if b["digest"] not in present]
    return manifest_size + sum(int(b["size"]) for b in sent), len(sent), len(blobs) - len(sent)


def skopeo(config: Path, *args: str, tls_verify: bool = True) -> list[str]:
    """A skopeo command line with the release host's policy and registries.d."""
    debug = [a for a in args if a == "--debug"]
    command, *rest = [a for a in args if a != "--debug"]
    tls = [] if tls_verify else ["--src-tls-verify=false", "--dest-tls-verify=false"]
    if command == "inspect":
        tls = [] if tls_verify else ["--tls-verify=false"]
    return ["skopeo", *debug, "--policy", str(config / "policy.json"),
            "--registries.d", str(config / "registries.d"), command, *tls, *rest]  # fmt: skip


def _run(cmd: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def copy_region(
    inv: Inventory,
    region: Region,
    digest: str,
    tag: str,
    config: Path,
    *,
    tls_verify: bool = True,
    timeout: float = 1800.0,
) -> Copied:
    """Copy ``central@digest`` (and its SBOM, if published) to ``region.registry:tag``."""
    t0 = time.monotonic()
    raw = _run(skopeo(config, "inspect", "--raw", f"docker://{inv.image}@{digest}",
                      tls_verify=tls_verify), 120)  # fmt: skip
    if raw.returncode != 0:
        return Copied(region.name, False, 0.0, 0, 0, 0, raw.stderr.strip()[-300:])
    manifest = json.loads(raw.stdout)
    jobs = [(f"docker://{inv.image}@{digest}", f"docker://{region.registry}:{tag}")]
    sbom = sbom_tag(digest)
    has_sbom = _run(skopeo(config, "inspect", "--raw", f"docker://{inv.image}:{sbom}",
                           tls_verify=tls_verify), 120).returncode == 0  # fmt: skip
    if has_sbom:
        jobs.append((f"docker://{inv.image}:{sbom}", f"docker://{region.registry}:{sbom}"))
    logs = []
    for src, dest in jobs:
        done = _run(skopeo(config, "--debug", "copy", "--retry-times", "3", src, dest,
                           tls_verify=tls_verify), timeout)  # fmt: skip
        if done.returncode != 0:
            error = done.stderr.strip().splitlines()[-1:] or ["skopeo copy failed"]
            return Copied(region.name, False, time.monotonic() - t0, 0, 0, 0, error[0])
        logs.append(done.stdout + done.stderr)
    total, sent, skipped = sent_bytes(logs[0], manifest, len(raw.stdout.encode()))
    return Copied(region.name, True, time.monotonic() - t0, total, sent, skipped)


def replicate(
    inv: Inventory,
    digest: str,
    tag: str,
    config: Path,
    *,
    tls_verify: bool = True,
) -> list[Copied]:
    """Every region at once; the result is in inventory order."""
    if not DIGEST.match(digest):
        raise InvalidParameter(f"digest must look like sha256:<64 hex digits>, not {digest!r}")
    missing = [r.name for r in inv.regions if not r.registry]
    if missing:
        raise InvalidParameter(f"no registry in the inventory for {', '.join(missing)}")
    with ThreadPoolExecutor(max_workers=len(inv.regions)) as pool:
        return list(
            pool.map(
                lambda r: copy_region(inv, r, digest, tag, config, tls_verify=tls_verify),
                inv.regions,
            )
        )
