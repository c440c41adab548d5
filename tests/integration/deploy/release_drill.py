"""The release drill, on one machine: ``scripts/release.sh drill`` (and test_release.py).

1. A central registry and one per region (the canary and the first two waves of
   deploy/regions.yaml) on loopback; a release key and an intruder's key (GPG); each
   region's node gets its trust config from ``hanvoice fleet node-config``.
2. Release A: ``scripts/image.sh build``, ``release.sh publish`` (signed, SBOM beside it),
   ``replicate``, ``verify``; each region pulls A from its own registry through its policy
   and starts a container (read-only, no capabilities) behind the nginx edge.
3. Release B, a code-only change built from a copy of this tree: the same steps, then
   ``hanvoice fleet``'s rollout, wave by wave and gated on /ready, while two clients ask
   the edge for cached and new phrases; every answer must be a 200.
4. Refusals: an unsigned image, one carrying another image's signature and one signed by
   an unknown key are each pushed to a region's registry; the node refuses all three, and
   ``fleet status --signatures`` flags a container started from the unsigned one by hand.
5. Rollback to A by digest, every region at once, still under load.

The last line printed is the JSON summary (also artifacts/release_drill.json).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
for entry in (HERE, HERE.parents[1]):  # the deploy kits, and tests/ (support.servers)
    if str(entry) not in sys.path:
        sys.path.insert(0, str(entry))

from deploykit import ROOT, Edge, launch_edge  # noqa: E402
from fleetkit import Load, drill_regions  # noqa: E402
from podmankit import Container, derive_image, podman, remove_labelled, report  # noqa: E402
from releasekit import (  # noqa: E402
    Node,
    Registry,
    drill_inventory,
    elapsed,
    export_key,
    fleet,
    make_key,
    run,
    source_tree,
    stop_agent,
)

from hanvoice.fleet.inventory import Region, load_inventory  # noqa: E402
from hanvoice.fleet.rollout import run_rollout  # noqa: E402
from hanvoice.fleet.signing import Verifier  # noqa: E402
from support.servers import free_port  # noqa: E402

B_VERSION = "0.1.0-drill.b"
BAKE_S = 3.0


def log(message: str) -> None:
    print(f"drill: {message}", file=sys.stderr, flush=True)


class Phases:
    """Seconds per step of a release, in order."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._t = time.monotonic()

    def done(self, name: str) -> None:
        self.seconds[name] = elapsed(self._t)
        self._t = time.monotonic()
        log(f"{name}: {self.seconds[name]} s")


class Drill:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.sigs = tmp / "signatures"
        self.central = Registry("central", tmp / "registry-central")
        self.names = drill_regions()
        self.registries = {n: Registry(n, tmp / f"registry-{n}") for n in self.names}
        self.nodes = {n: Node(n, tmp / f"node-{n}") for n in self.names}
        self.containers: dict[str, Container] = {}
        self.started: list[Container] = []
        self.images: list[str] = []
        self.edge: Edge | None = None
        self.inventory = tmp / "regions.yaml"
        self.key = tmp / "release-key.asc"
        self.fpr = ""
        self.env: dict[str, str] = {}
        self.lock = threading.Lock()
        """Regions deploy in parallel; the container map, the edge and the inventory are shared."""

    # --- set-up ---------------------------------------------------------------------------
    def setup(self) -> None:
        for r in [self.central, *self.registries.values()]:
            r.start()
        self.fpr = make_key(self.tmp / "gnupg", "hanvoice release drill <release@drill.invalid>")
        export_key(self.tmp / "gnupg", self.fpr, self.key)
        self.write_inventory()
        self.env = {**os.environ, "GNUPGHOME": str(self.tmp / "gnupg"),
                    "HANVOICE_SIGN_BY": self.fpr, "HANVOICE_INVENTORY": str(self.inventory),
                    "HANVOICE_PLAIN_HTTP": "1", "PYTHON": sys.executable}  # fmt: skip
        for node in self.nodes.values():
            node.configure(self.inventory, self.key)

    def write_inventory(self) -> Path:
        endpoints = {n: c.url for n, c in self.containers.items()}
        return drill_inventory(self.inventory, self.central, self.registries, self.sigs,
                               self.key, endpoints)  # fmt: skip

    # --- the release path, through the scripts ------------------------------------------------
    def build(self, tree: Path, version: str | None = None) -> dict[str, Any]:
        args = ["--version", version] if version else []
        out = run(["bash", str(tree / "scripts" / "image.sh"), "build", *args], cwd=tree,
                  env={**os.environ, "PYTHON": sys.executable})  # fmt: skip
        record: dict[str, Any] = json.loads((tree / "artifacts" / "image-build.json").read_text())
        assert record["image"] == out.stdout.strip().splitlines()[-1]
        return record

    def release(self, *args: str) -> str:
        return run(["bash", "scripts/release.sh", *args], env=self.env).stdout

    def publish(self, image: str, tag: str) -> str:
        return self.release("publish", image, tag).strip().splitlines()[-1]

    def replicate(self, digest: str, tag: str) -> dict[str, Any]:
        before = {n: r.blob_bytes() for n, r in self.registries.items()}
        doc = json.loads(self.release("replicate", digest, tag).strip().splitlines()[-1])
        out = {}
        for r in doc["regions"]:
            assert r["ok"], r
            stored = self.registries[r["region"]].blob_bytes() - before[r["region"]]
            out[r["region"]] = {"bytes_sent": r["bytes_sent"], "blob_bytes_stored": stored,
                                "blobs_sent": r["blobs_sent"],
                                "blobs_skipped": r["blobs_skipped"]}  # fmt: skip
        return out

    def verify(self, digest: str) -> dict[str, Any]:
        done = run(["bash", "scripts/release.sh", "verify", digest], env=self.env)
        doc: dict[str, Any] = json.loads(done.stdout)
        return doc

    # --- a region's deployer: pull through the node's policy, start, switch, drain ----------
    def deploy(self, region: Region, image: str) -> Region:
        pulled = self.nodes[region.name].pull(image)
        if pulled.returncode != 0:
            raise RuntimeError(f"{region.name} refused {image}: {pulled.stderr.strip()}")
        new = Container(f"hanvoice-release-test-{region.name}-{free_port()}", image,
                        free_port(), {"HANVOICE_REGION": region.name, "HANVOICE_IMAGE": image,
                                      "HANVOICE_QUEUE_SIZE": "32"})  # fmt: skip
        self.started.append(new.start())
        new.wait_ready(180)  # as Kubernetes: no traffic before /ready
        with self.lock:
            old = self.containers.get(region.name)
            self.containers[region.name] = new
            if self.edge is not None:
                self.edge.reload([c.port for c in self.containers.values()])
            self.write_inventory()
        if old is not None:
            old.stop(grace=60)  # SIGTERM: it drains what it still holds
            old.remove()
        return replace(region, endpoint=new.url)

    def rollout(self, digest: str, waves: str = "all") -> dict[str, Any]:
        inv = load_inventory(self.write_inventory())
        result = run_rollout(inv, digest, self.deploy, waves=waves, gate_timeout=180,
                             bake=BAKE_S, interval=0.5)  # fmt: skip
        assert result.ok, result
        return {"seconds": round(result.seconds, 1),
                "regions": [{"region": r.region, "wave": r.wave, "seconds": round(r.seconds, 1)}
                            for r in result.regions]}  # fmt: skip

    def status(self, *args: str) -> tuple[int, dict[str, Any]]:
        done = fleet("status", "--inventory", str(self.write_inventory()), "--json", *args,
                     check=False)  # fmt: skip
        return done.returncode, json.loads(done.stdout)

    # --- refusals ------------------------------------------------------------------------------
    def refusals(self, base: str, signed_digest: str) -> dict[str, Any]:
        """Three images the first region must refuse; what its node and verify say."""
        region = self.names[0]
        registry = self.registries[region]
        intruder = make_key(self.tmp / "gnupg-intruder", "intruder <intruder@drill.invalid>")
        # the worst case: the intruder can write to the region's registry and lookaside
        store = (self.sigs / region).as_uri()
        (self.tmp / "intruder.d").mkdir()
        (self.tmp / "intruder.d" / "drill.yaml").write_text(
            f"docker:\n  {registry.repo}:\n    lookaside-staging: {store}\n", encoding="utf-8"
        )
        out: dict[str, Any] = {}
        for kind in ("unsigned", "tampered", "unknown_key"):
            local = derive_image(base, f"0.1.0-drill.{kind.replace('_', '-')}")
            self.images.append(local)
            sign = ["--sign-by", intruder] if kind == "unknown_key" else []
            env = {**os.environ, "GNUPGHOME": str(self.tmp / "gnupg-intruder")}
            digest_file = self.tmp / f"{kind}.digest"
            run(["skopeo", "--insecure-policy", "--registries.d", str(self.tmp / "intruder.d"),
                 "copy", "--dest-tls-verify=false", *sign, "--digestfile", str(digest_file),
                 f"containers-storage:{local}", f"docker://{registry.repo}:{kind}"],
                env=env)  # fmt: skip
            digest = digest_file.read_text().strip()
            if kind == "tampered":  # a valid signature, of another image (release A's)
                sig_dir = self.sigs / region / "hanvoice"
                target = sig_dir / f"hanvoice@{digest.replace(':', '=')}"
                target.mkdir(parents=True, exist_ok=True)
                src = sig_dir / f"hanvoice@{signed_digest.replace(':', '=')}" / "signature-1"
                shutil.copy(src, target / "signature-1")
            pulled = self.nodes[region].pull(f"{registry.repo}@{digest}")
            with Verifier(load_inventory(self.inventory), self.key) as v:
                check = v.check(load_inventory(self.inventory).region(region), digest)
            out[kind] = {"digest": digest, "image": local, "refused": pulled.returncode != 0,
                         "node_says": pulled.stderr.strip().splitlines()[-1:],
                         "verify_says": check.reason, "verify_ok": check.ok}  # fmt: skip
        return out

    def rogue_is_flagged(self, local: str, digest: str) -> dict[str, Any]:
        """A container started by hand from the unsigned image (the policy bypassed): fleet
        status with --signatures must flag it (and the drift)."""
        region = self.names[0]
        image = f"{self.registries[region].repo}@{digest}"
        rogue = Container(f"hanvoice-release-test-rogue-{free_port()}", local, free_port(),
                          {"HANVOICE_REGION": region, "HANVOICE_IMAGE": image})  # fmt: skip
        self.started.append(rogue.start())
        rogue.wait_ready(180)
        honest = self.containers[region]
        self.containers[region] = rogue
        try:
            code, doc = self.status("--signatures")
        finally:
            self.containers[region] = honest
            rogue.remove()
        return {"exit": code, "problems": doc["problems"]}

    def stop(self) -> None:
        for c in self.started:
            c.remove()
        if self.edge is not None:
            self.edge.stop()
            shutil.rmtree(self.edge.prefix, ignore_errors=True)
        for r in [self.central, *self.registries.values()]:
            r.stop()
        remove_labelled()
        for home in ("gnupg", "gnupg-intruder"):
            stop_agent(self.tmp / home)
        for image in self.images:  # B and the refused ones (a pull by digest adds no name)
            podman("rmi", "--force", image, check=False)


def drill(tmp: Path) -> dict[str, Any]:
    d = Drill(tmp)
    summary: dict[str, Any] = {"regions": len(d.names)}
    try:
        d.setup()
        # ---- release A: build, publish, replicate, verify, every region pulls and starts
        t0 = time.monotonic()
        a = d.build(ROOT)
        log(f"A built: {a['image']} ({a['size_bytes'] / 1e6:.0f} MB) in {elapsed(t0)} s")
        a_digest = d.publish(a["image"], a["version"])
        bytes_a = d.replicate(a_digest, a["version"])
        verify_a = d.verify(a_digest)
        inv = load_inventory(d.write_inventory())
        regions_a = run_first(d, inv, a_digest)
        seconds_a = elapsed(t0)
        log(f"A in {len(d.names)} regions in {seconds_a} s: {regions_a}")
        d.edge = launch_edge([c.port for c in d.containers.values()])
        # ---- release B, code-only, rolled out under load
        with Load(d.edge) as load:
            t0 = time.monotonic()
            phases = Phases()
            tree = source_tree(tmp / "tree-b", "release drill: a code-only change")
            b = d.build(tree, B_VERSION)
            d.images.append(b["image"])
            phases.done("build")
            b_digest = d.publish(b["image"], B_VERSION)
            phases.done("sign_and_push")
            bytes_b = d.replicate(b_digest, B_VERSION)
            phases.done("replicate")
            verify_b = d.verify(b_digest)
            phases.done("verify")
            rollout_b = d.rollout(b_digest)
            phases.done("rollout")
            seconds_b = elapsed(t0)
            log(f"B in every region in {seconds_b} s")
            code, status_b = d.status("--signatures", "--expect", f"image_digest={b_digest}")
            refused = d.refusals(a["image"], a_digest)
            unsigned = refused["unsigned"]
            rogue = d.rogue_is_flagged(unsigned["image"], unsigned["digest"])
            # ---- rollback to A by digest, every region at once
            t0 = time.monotonic()
            rollback = d.rollout(a_digest, waves="all-at-once")
            rollback["seconds_total"] = elapsed(t0)
        code_a, status_a = d.status("--signatures", "--expect", f"image_digest={a_digest}")
        summary.update(
            digests_equal=all(
                r["digest_equal"] for v in (verify_a, verify_b) for r in v["regions"]
            ),
            signed_everywhere=all(r["signed"] for v in (verify_a, verify_b) for r in v["regions"]),
            unsigned_refused=refused["unsigned"]["refused"],
            tampered_refused=refused["tampered"]["refused"] and refused["unknown_key"]["refused"],
            status_flags_unsigned=rogue["exit"] == 1
            and any("not signed" in p for p in rogue["problems"]),
            failed_requests=len(load.failed()),
            requests=len(load.answers),
            seconds=seconds_b,
            seconds_by_phase=phases.seconds,
            seconds_first_release=seconds_a,
            bytes_per_region={n: v["bytes_sent"] for n, v in bytes_b.items()},
            bytes_per_region_first={n: v["bytes_sent"] for n, v in bytes_a.items()},
            image_bytes=a["size_bytes"],
            image_layers=a["layers"],
            sbom_bytes=a["sbom"]["bytes"],
            sbom_packages=a["sbom"]["components"],
            sbom_pypi=a["sbom"]["pypi"],
            sbom_deb=a["sbom"]["deb"],
            status_after_b={"exit": code, "problems": status_b["problems"]},
            status_after_rollback={"exit": code_a, "problems": status_a["problems"]},
            rollback_seconds=rollback["seconds"],
            digests={"a": a_digest, "b": b_digest},
            replication={"a": bytes_a, "b": bytes_b},
            rollout_b=rollout_b,
            refusals=refused,
            load=load.summary(),
        )
        return summary
    finally:
        d.stop()


def run_first(d: Drill, inv: Any, digest: str) -> dict[str, float]:
    """Release A's first start in every region (no old container): in parallel."""

    def one(region: Region) -> float:
        t0 = time.monotonic()
        d.deploy(region, f"{region.registry}@{digest}")
        return elapsed(t0)

    with ThreadPoolExecutor(len(inv.regions)) as pool:
        took = list(pool.map(one, inv.regions))
    return {r.name: s for r, s in zip(inv.regions, took, strict=True)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--keep", action="store_true", help="keep the temp folder (registries, logs)")
    args = p.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="hanvoice-release-drill-"))
    t0 = time.monotonic()
    try:
        summary = drill(tmp)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    summary["drill_seconds"] = elapsed(t0)
    report("release_drill", summary)
    ok = (summary["digests_equal"] and summary["signed_everywhere"]
          and summary["unsigned_refused"] and summary["tampered_refused"]
          and summary["status_flags_unsigned"] and summary["failed_requests"] == 0
          and summary["status_after_b"]["exit"] == 0
          and summary["status_after_rollback"]["exit"] == 0)  # fmt: skip
    keep = ("bytes_per_region", "bytes_per_region_first", "seconds_by_phase")
    print(json.dumps({k: v for k, v in summary.items() if not isinstance(v, dict | list)}
                     | {k: summary[k] for k in keep}))  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
