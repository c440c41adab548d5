"""deploy/k8s/ray/rayjob.yaml, validated offline.

The PersistentVolumeClaim validates against the Kubernetes schemas as it is. The RayJob is
a KubeRay custom resource, which kubernetes-validate has no schema for: its head and worker
pod templates are validated as core ``PodTemplate`` objects (that is what KubeRay makes
pods from), and the rest is checked field by field against what KubeRay v1 and our batch
command need.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
MANIFEST = ROOT / "deploy" / "k8s" / "ray" / "rayjob.yaml"
VERSION = "1.32.0"
DIGEST = re.compile(r"^[a-z0-9.-]+/hanvoice/hanvoice@sha256:[0-9a-f]{64}$")


def docs() -> dict[str, dict[str, Any]]:
    return {d["kind"]: d for d in yaml.safe_load_all(MANIFEST.read_text("utf-8")) if d}


def templates(job: dict[str, Any]) -> list[dict[str, Any]]:
    spec = job["spec"]["rayClusterSpec"]
    return [spec["headGroupSpec"]["template"]] + [g["template"] for g in spec["workerGroupSpecs"]]


def test_claim_validates() -> None:
    kubernetes_validate.validate(docs()["PersistentVolumeClaim"], VERSION, strict=True)


def test_pod_templates_validate_as_core_pod_templates() -> None:
    for t in templates(docs()["RayJob"]):
        pod_template = {"apiVersion": "v1", "kind": "PodTemplate",
                        "metadata": {"name": "x"}, "template": t}  # fmt: skip
        kubernetes_validate.validate(pod_template, VERSION, strict=True)


def test_the_validation_is_not_vacuous() -> None:
    t = templates(docs()["RayJob"])[0]
    t["spec"]["containers"][0]["imagePullPolcy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(
            {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "x"}, "template": t},
            VERSION,
            strict=True,
        )


def test_rayjob_structure() -> None:
    job = docs()["RayJob"]
    assert (job["apiVersion"], job["kind"]) == ("ray.io/v1", "RayJob")
    spec = job["spec"]
    known = {"entrypoint", "shutdownAfterJobFinishes", "ttlSecondsAfterFinished",
             "backoffLimit", "submissionMode", "rayClusterSpec"}  # fmt: skip
    assert set(spec) <= known
    assert spec["submissionMode"] in ("K8sJobMode", "HTTPMode")
    cluster = spec["rayClusterSpec"]
    pin = next(
        line.split("==")[1]
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if line.startswith("ray==")
    )
    assert cluster["rayVersion"] == pin  # the cluster runs the Ray the image was built with
    for group in cluster["workerGroupSpecs"]:
        assert group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]
        cpus = group["rayStartParams"]["num-cpus"]
        container = group["template"]["spec"]["containers"][0]
        assert container["resources"]["limits"]["cpu"] == cpus  # one actor per real core
    for key, value in [
        *cluster["headGroupSpec"]["rayStartParams"].items(),
        *(kv for g in cluster["workerGroupSpecs"] for kv in g["rayStartParams"].items()),
    ]:
        assert isinstance(key, str) and isinstance(value, str)  # KubeRay wants strings


def test_same_image_everywhere_pinned_by_digest() -> None:
    images = {c["image"] for t in templates(docs()["RayJob"]) for c in t["spec"]["containers"]}
    assert len(images) == 1
    (image,) = images
    assert DIGEST.match(image), image
    overlay = yaml.safe_load(
        (ROOT / "deploy/k8s/overlays/cn-beijing/kustomization.yaml").read_text("utf-8")
    )
    # the region's own registry (release.sh replicates the one signed image there)
    assert image == f"{overlay['images'][0]['newName']}@{overlay['images'][0]['digest']}"


def test_entrypoint_is_a_valid_batch_command_on_the_cluster() -> None:
    from hanvoice.cli import _plugins, build_parser

    argv = shlex.split(docs()["RayJob"]["spec"]["entrypoint"])
    assert argv[:2] == ["hanvoice", "batch"]
    args = build_parser(_plugins()).parse_args(argv[1:])
    assert args.ray == "auto"
    assert args.output.startswith("/data/")
    head = docs()["RayJob"]["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]
    mounts = {m["mountPath"] for m in head["containers"][0]["volumeMounts"]}
    assert "/data" in mounts  # the driver, on the head, writes OUTDIR there
    claims = {v["persistentVolumeClaim"]["claimName"] for v in head["volumes"]
              if "persistentVolumeClaim" in v}  # fmt: skip
    assert claims == {docs()["PersistentVolumeClaim"]["metadata"]["name"]}
