"""The release drill's world on loopback: registries, signing keys, region nodes (helpers).

* :class:`Registry`: Debian's ``docker-registry`` (the CNCF distribution registry) serving a
  temp folder on a free ``127.0.0.1`` port, its blob bytes counted on disk.
* :func:`make_key`: a GPG key in its own home (the release key, and an intruder's).
* :func:`drill_inventory`: deploy/regions.yaml narrowed to the drill's regions, with a
  loopback registry and a ``file://`` lookaside per region and a central one.
* :class:`Node`: one region's node: its own ``$HOME/.config/containers`` (policy.json and
  registries.d written by ``hanvoice fleet node-config``, as /etc/containers on a real
  node), through which podman pulls. Containers run from what it pulled.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from deploykit import ROOT
from fleetkit import drill_regions, inventory_doc
from podmankit import CONTAINERS_CONF

from support.servers import free_port, wait_port

REPOSITORY = "hanvoice/hanvoice"


@dataclass
class Registry:
    name: str
    root: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def repo(self) -> str:
        return f"127.0.0.1:{self.port}/{REPOSITORY}"

    def start(self) -> Registry:
        storage = self.root / "storage"
        storage.mkdir(parents=True, exist_ok=True)
        cfg = {
            "version": 0.1,
            "log": {"level": "warn", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": str(storage)}},
            "http": {"addr": f"127.0.0.1:{self.port}"},
        }
        (self.root / "config.yml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
        with (self.root / "registry.log").open("wb") as out:
            self.proc = subprocess.Popen(
                ["docker-registry", "serve", str(self.root / "config.yml")],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_port(self.port, timeout=15)
        return self

    def blob_bytes(self) -> int:
        """Bytes of every blob stored (what was sent to this registry, layer by layer)."""
        blobs = self.root / "storage" / "docker" / "registry" / "v2" / "blobs"
        return sum(p.stat().st_size for p in blobs.rglob("data")) if blobs.exists() else 0

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def make_key(home: Path, uid: str) -> str:
    """A new ed25519 signing key without passphrase in GPG home ``home``; its fingerprint."""
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o700)
    env = {**os.environ, "GNUPGHOME": str(home)}
    run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign",
         "never"], env=env)  # fmt: skip
    out = run(["gpg", "--with-colons", "--list-secret-keys"], env=env).stdout
    return next(line.split(":")[9] for line in out.splitlines() if line.startswith("fpr:"))


def stop_agent(home: Path) -> None:
    """gpg starts an agent per home to sign and outlives us: stop the drill's own."""
    env = {**os.environ, "GNUPGHOME": str(home)}
    subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, capture_output=True, timeout=30)


def export_key(home: Path, fingerprint: str, out: Path) -> Path:
    env = {**os.environ, "GNUPGHOME": str(home)}
    out.write_text(run(["gpg", "--armor", "--export", fingerprint], env=env).stdout, "utf-8")
    return out


def drill_inventory(
    path: Path,
    central: Registry,
    regions: dict[str, Registry],
    signatures: Path,
    public_key: Path,
    endpoints: dict[str, str],
) -> Path:
    """deploy/regions.yaml narrowed to the drill's regions, pointing at loopback."""
    doc: dict[str, Any] = inventory_doc()
    names = drill_regions()
    doc["image"] = central.repo
    doc["release"] = {
        "public_key": str(public_key),
        "lookaside": (signatures / "central").as_uri(),
        "staging": signatures.as_uri(),
    }
    doc["regions"] = [r for r in doc["regions"] if r["name"] in names]
    for r in doc["regions"]:
        r["registry"] = regions[r["name"]].repo
        r["lookaside"] = (signatures / r["name"]).as_uri()
        r["endpoint"] = endpoints.get(r["name"], "http://127.0.0.1:9")
    rollout = doc["rollout"]
    rollout["waves"] = [w for w in ([x for x in w if x in names] for w in rollout["waves"]) if w]
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


@dataclass
class Node:
    """A region's node: pulls through the trust config ``hanvoice fleet node-config`` wrote."""

    region: str
    home: Path

    def configure(self, inventory: Path, key: Path) -> None:
        out = self.home / ".config" / "containers"
        fleet("node-config", "--inventory", str(inventory), self.region, "-o", str(out),
              "--key-path", str(key))  # fmt: skip

    def pull(self, image: str) -> subprocess.CompletedProcess[str]:
        """``podman pull`` as this node (plain HTTP: the drill's registries have no TLS)."""
        env = {**os.environ, "HOME": str(self.home), "CONTAINERS_CONF": str(CONTAINERS_CONF)}
        return subprocess.run(
            ["podman", "pull", "--quiet", "--tls-verify=false", image],
            capture_output=True,
            text=True,
            timeout=600,
            env=env,
        )


def run(
    cmd: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path = ROOT,
    timeout: float = 1500,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run a command; fail with its output if it fails (unless ``check`` is false)."""
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd)
    if check and done.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd[:4])} … exited {done.returncode}:\n"
            f"{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        )
    return done


def fleet(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "hanvoice.cli", "fleet", *args], check=check)


def source_tree(dest: Path, change: str) -> Path:
    """This checkout's files (tracked and new, as git sees them) copied to ``dest``, with
    the wheelhouse linked in and one line of ``change`` added to the package: the source of
    a code-only release."""
    files = run(["git", "ls-files", "-co", "--exclude-standard"]).stdout.splitlines()
    for rel in files:
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    wheels = ROOT / "deploy" / "wheelhouse"
    for whl in [*wheels.glob("*.whl"), wheels / ".stamp"]:
        if whl.exists():
            try:
                os.link(whl, dest / "deploy" / "wheelhouse" / whl.name)
            except OSError:  # another filesystem
                shutil.copy2(whl, dest / "deploy" / "wheelhouse" / whl.name)
    init = dest / "src" / "hanvoice" / "__init__.py"
    init.write_text(init.read_text(encoding="utf-8") + f"# {change}\n", encoding="utf-8")
    return dest


def elapsed(t0: float) -> float:
    return round(time.monotonic() - t0, 1)
