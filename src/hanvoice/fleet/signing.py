"""Signed releases: what a region's nodes trust, how release.sh signs, and how we check.

One image is signed once, by CI, when it is pushed to the central registry
(``Inventory.image``); ``scripts/release.sh`` copies it with its signature to each region's
own registry (``Region.registry``), and a region's nodes pull only from there, through a
trust policy that refuses anything without a valid signature.

Why GPG "simple signing" and not sigstore keys (docs/deploy.md argues it at length): the
whole chain runs offline with Debian's packages (``gpg`` makes and holds the key, ``skopeo``
signs, podman/CRI-O verify), and skopeo 1.9 has no command to make a sigstore key. The price
is a *lookaside* store: signatures are small files beside each registry
(``<lookaside>/<repository path>@sha256=<hex>/signature-N``), replicated with the image.

The signature names the central repository; a region's copy lives under another name, so
the node policy *remaps* the region's prefix to the central one (``remapIdentity``) instead
of trusting any identity: a signature for another repository is still refused.

Everything a node or the release host needs is derived here from ``deploy/regions.yaml``
(``hanvoice fleet node-config`` / ``release-config``), and :class:`Verifier` applies the
same rule as the node policy, for ``hanvoice fleet status`` and ``hanvoice fleet verify``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import yaml

from hanvoice.errors import InvalidParameter
from hanvoice.fleet.inventory import Inventory, Region

SIGNATURE_TYPE = "atomic container signature"
MAX_SIGNATURES = 8
"""Signatures read per image (signature-1 … signature-8): a lookaside holds one per signer."""
MAX_SIGNATURE_BYTES = 64 * 1024


def repository_path(repository: str) -> str:
    """``registry.example.com:5000/hanvoice/hanvoice`` -> ``hanvoice/hanvoice``."""
    return repository.split("/", 1)[1]


def repository_of(reference: str) -> str:
    """The repository of a reference: no tag, no digest.

    >>> repository_of("127.0.0.1:5000/hanvoice/hanvoice:0.2.0")
    '127.0.0.1:5000/hanvoice/hanvoice'
    >>> repository_of("127.0.0.1:5000/hanvoice/hanvoice@sha256:00")
    '127.0.0.1:5000/hanvoice/hanvoice'
    """
    name = reference.split("@")[0]
    head, sep, tail = name.rpartition(":")
    return head if sep and "/" not in tail else name


def _signed_by(key_path: str, region: Region | None, central: str) -> dict[str, Any]:
    req: dict[str, Any] = {"type": "signedBy", "keyType": "GPGKeys", "keyPath": key_path}
    if region is not None:
        req["signedIdentity"] = {
            "type": "remapIdentity",
            "prefix": region.registry,
            "signedPrefix": central,
        }
    return req


def _require_registry(region: Region) -> None:
    if not region.registry or not region.lookaside:
        raise InvalidParameter(
            f"region {region.name} has no registry and lookaside in the inventory "
            "(both are needed to pull signed images)"
        )


def node_config(inv: Inventory, region: Region, key_path: str = "") -> dict[str, str]:
    """Files for a node of ``region`` (relative to ``/etc/containers``): a policy that
    accepts only the region's registry, signed by the release key, and where its
    signatures are read. Everything else is refused."""
    _require_registry(region)
    key = key_path or inv.release.node_key
    policy = {
        "default": [{"type": "reject"}],
        "transports": {"docker": {region.registry: [_signed_by(key, region, inv.image)]}},
    }
    registries = {"docker": {region.registry: {"lookaside": region.lookaside}}}
    return {
        "policy.json": json.dumps(policy, indent=2) + "\n",
        "registries.d/hanvoice.yaml": _header(region.name) + yaml.safe_dump(registries),
    }


def release_config(inv: Inventory, key_path: str) -> dict[str, str]:
    """Files for the host that runs ``scripts/release.sh``: its own build is accepted,
    everything read from a registry must carry the release signature (replication checks
    the central copy before it sends a byte), and every signature it writes goes to the
    staging folder of that registry."""
    policy: dict[str, Any] = {
        "default": [{"type": "reject"}],
        "transports": {
            "containers-storage": {"": [{"type": "insecureAcceptAnything"}]},
            "docker": {inv.image: [_signed_by(key_path, None, inv.image)]},
        },
    }
    central = _staging(inv, "central", inv.release.lookaside)
    registries: dict[str, Any] = {"docker": {inv.image: _store(central)}}
    for region in inv.regions:
        _require_registry(region)
        policy["transports"]["docker"][region.registry] = [_signed_by(key_path, region, inv.image)]
        registries["docker"][region.registry] = _store(_staging(inv, region.name, region.lookaside))
    return {
        "policy.json": json.dumps(policy, indent=2) + "\n",
        "registries.d/hanvoice.yaml": _header("the release host") + yaml.safe_dump(registries),
    }


def _staging(inv: Inventory, name: str, lookaside: str) -> str:
    if inv.release.staging:
        return f"{inv.release.staging.rstrip('/')}/{name}"
    if lookaside.startswith("file://"):
        return lookaside
    raise InvalidParameter(
        f"{name}: signatures can only be written to a file:// folder; set release.staging"
    )


def _store(url: str) -> dict[str, str]:
    # The release host reads what it just wrote (staging), not the synced public copy.
    return {"lookaside": url, "lookaside-staging": url}


def _header(who: str) -> str:
    return f"# Generated from deploy/regions.yaml by hanvoice fleet, for {who}.\n"


def write_files(files: dict[str, str], out: Path) -> list[Path]:
    written = []
    for rel, text in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    ok: bool
    reason: str
    """Why not (or ``signed by <fingerprint>``)."""


class Verifier:
    """Checks that an image digest carries a valid release signature in a region's
    lookaside, by the rule the region's node policy applies. Holds a private GPG home with
    only the release key; use as a context manager."""

    def __init__(self, inv: Inventory, key_file: Path, timeout: float = 5.0) -> None:
        if shutil.which("gpg") is None:
            raise InvalidParameter("checking signatures needs gpg (Debian package gnupg)")
        if not key_file.is_file():
            raise InvalidParameter(f"release key {key_file} does not exist")
        self.inv = inv
        self.home = Path(tempfile.mkdtemp(prefix="hv-gpg-"))
        self.client = httpx.Client(timeout=timeout)
        self._gpg("--import", str(key_file))

    def __enter__(self) -> Verifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()
        shutil.rmtree(self.home, ignore_errors=True)

    def _gpg(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        """gpg with machine-readable status lines on stderr (output, if any, on stdout)."""
        return subprocess.run(
            ["gpg", "--homedir", str(self.home), "--batch", "--quiet", "--status-fd", "2",
             *args],
            capture_output=True,
            timeout=30,
        )  # fmt: skip

    def check(self, region: Region, digest: str) -> SignatureCheck:
        """Is ``region.registry@digest`` signed for the central repository?"""
        _require_registry(region)
        reasons = []
        for blob in self.signatures(region.lookaside, region.registry, digest):
            result = self.verify(blob, digest, (self.inv.image, region.registry))
            if result.ok:
                return result
            reasons.append(result.reason)
        if not reasons:
            return SignatureCheck(False, "no signature")
        return SignatureCheck(False, "; ".join(dict.fromkeys(reasons)))

    def signatures(self, lookaside: str, repository: str, digest: str) -> list[bytes]:
        algo, _, hexpart = digest.partition(":")
        base = f"{lookaside.rstrip('/')}/{repository_path(repository)}@{algo}={hexpart}"
        out = []
        for n in range(1, MAX_SIGNATURES + 1):
            blob = self._read(f"{base}/signature-{n}")
            if blob is None:
                break
            out.append(blob)
        return out

    def _read(self, url: str) -> bytes | None:
        parts = urlsplit(url)
        if parts.scheme == "file":
            path = Path(parts.path)
            if not path.is_file():
                return None
            return path.read_bytes()[:MAX_SIGNATURE_BYTES]
        resp = self.client.get(url)
        if resp.status_code == 404:
            return None
        resp.raise_for_status()
        return resp.content[:MAX_SIGNATURE_BYTES]

    def verify(self, blob: bytes, digest: str, identities: tuple[str, ...]) -> SignatureCheck:
        """One signature: made by the release key, for ``digest``, naming one of
        ``identities`` (repositories, any tag)."""
        with tempfile.NamedTemporaryFile(dir=self.home, suffix=".sig") as f:
            f.write(blob)
            f.flush()
            result = self._gpg("--output", "-", "--decrypt", f.name)
        lines = result.stderr.decode("utf-8", "replace").splitlines()
        valid = [ln.split()[2] for ln in lines if ln.startswith("[GNUPG:] VALIDSIG ")]
        if result.returncode != 0 or not valid:
            unknown = any(ln.startswith("[GNUPG:] NO_PUBKEY") for ln in lines)
            return SignatureCheck(False, "signed by an unknown key" if unknown else "bad signature")
        try:
            critical = json.loads(result.stdout)["critical"]
            claimed = critical["image"]["docker-manifest-digest"]
            identity = critical["identity"]["docker-reference"]
            kind = critical["type"]
        except (ValueError, KeyError, TypeError):
            return SignatureCheck(False, "not a container signature")
        if kind != SIGNATURE_TYPE:
            return SignatureCheck(False, f"not a container signature ({kind!r})")
        if claimed != digest:
            return SignatureCheck(False, f"signature is for {claimed[:19]}…, not this digest")
        if repository_of(identity) not in identities:
            return SignatureCheck(
                False, f"signature names another repository ({repository_of(identity)})"
            )
        return SignatureCheck(True, f"signed by {valid[0]}")


def manifest_digest(region: Region, digest: str, timeout: float = 10.0) -> str:
    """sha256 of the manifest the region's registry serves for ``digest`` (plain HTTP
    registry API; the registries of a real fleet are behind TLS: https)."""
    host, _, path = region.registry.partition("/")
    scheme = "http" if host.startswith(("127.", "localhost")) else "https"
    accept = ", ".join(
        [
            "application/vnd.docker.distribution.manifest.v2+json",
            "application/vnd.oci.image.manifest.v1+json",
        ]
    )
    resp = httpx.get(
        f"{scheme}://{host}/v2/{path}/manifests/{digest}",
        headers={"Accept": accept},
        timeout=timeout,
    )
    if resp.status_code != 200:
        return f"missing (HTTP {resp.status_code})"
    return "sha256:" + hashlib.sha256(resp.content).hexdigest()
