"""Every region overlay renders with kubectl's kustomize, validates against the Kubernetes
schemas, has what the runbook promises, and agrees with deploy/regions.yaml."""

from __future__ import annotations

import copy
import functools
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml
from deploykit import DEPLOY

from hanvoice.config import Settings
from hanvoice.fleet.inventory import Region, load_inventory
from hanvoice.fleet.plan import DIGEST

KUBECTL = shutil.which("kubectl")
INVENTORY = load_inventory(DEPLOY / "regions.yaml")
OVERLAYS = sorted(p.name for p in (DEPLOY / "k8s" / "overlays").iterdir() if p.is_dir())
K8S_VERSIONS = ("1.31.0", "1.32.0")
"""The oldest version the manifests use features of (Service trafficDistribution, preStop
sleep) and kubectl's own."""


@functools.cache
def render(overlay: str) -> tuple[dict[str, Any], ...]:
    if KUBECTL is None:  # a failure, not a skip: these checks are the point of the kit
        pytest.fail("kubectl (1.31+, with built-in kustomize) is needed to render the overlays")
    out = subprocess.run(
        [str(KUBECTL), "kustomize", str(DEPLOY / "k8s" / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return tuple(d for d in yaml.safe_load_all(out) if d)


def one(docs: tuple[dict[str, Any], ...], kind: str, name: str = "hanvoice") -> dict[str, Any]:
    """The one object of that kind and name (generated ConfigMaps may carry a hash suffix)."""
    pattern = re.compile(rf"^{re.escape(name)}(-[a-z0-9]{{10}})?$")
    found = [d for d in docs if d["kind"] == kind and pattern.match(d["metadata"]["name"])]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def container(docs: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    spec = one(docs, "Deployment")["spec"]["template"]["spec"]
    return next(c for c in spec["containers"] if c["name"] == "hanvoice")


def test_every_inventory_region_has_an_overlay_and_vice_versa() -> None:
    assert sorted(INVENTORY.names) == OVERLAYS
    assert {"cn-beijing", "cn-shanghai", "ap-singapore", "eu-frankfurt", "us-virginia"} <= set(
        OVERLAYS
    )


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_validates_against_the_kubernetes_schemas(overlay: str, version: str) -> None:
    docs = render(overlay)
    assert len(docs) >= 10
    for doc in docs:
        kubernetes_validate.validate(doc, version, strict=True)


def test_the_validator_is_not_vacuous() -> None:
    """A misspelt field and a wrong type are both refused, so the test above means something."""
    deployment = one(render(OVERLAYS[0]), "Deployment")
    typo = copy.deepcopy(deployment)
    typo["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGett"] = {}
    wrong_type = copy.deepcopy(deployment)
    wrong_type["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] = [0]
    for bad in (typo, wrong_type):
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(bad, K8S_VERSIONS[-1], strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_deployment_is_safe_to_roll_and_to_drain(overlay: str) -> None:
    docs = render(overlay)
    dep = one(docs, "Deployment")
    spec = dep["spec"]
    assert "replicas" not in spec, "the HPA owns the replica count"
    assert spec["strategy"]["type"] == "RollingUpdate"
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert spec["strategy"]["rollingUpdate"]["maxSurge"] >= 1
    pod = spec["template"]["spec"]
    c = container(docs)
    assert c["livenessProbe"]["httpGet"]["path"] == "/health"
    assert c["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert c["startupProbe"]["httpGet"]["path"] == "/health"
    startup = c["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 60
    pre_stop = c["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert pre_stop > 0
    assert c["resources"]["requests"]["cpu"] and c["resources"]["limits"]["memory"]
    # the grace period covers the preStop wait and the service's own drain
    settings = Settings.load(DEPLOY / "k8s" / "base" / "config.yaml")
    assert pod["terminationGracePeriodSeconds"] >= pre_stop + settings.drain_timeout
    assert c["args"][0] == "serve"
    assert "--config=/etc/hanvoice/config.yaml" in c["args"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_run_as_non_root_with_a_read_only_root(overlay: str) -> None:
    docs = render(overlay)
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    c = container(docs)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["automountServiceAccountToken"] is False
    sc = c["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    writable = {m["mountPath"] for m in c["volumeMounts"] if not m.get("readOnly")}
    assert writable == {"/tmp"}, "only /tmp is writable"
    ns = one(docs, "Namespace")
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_region_matches_the_inventory(overlay: str) -> None:
    docs = render(overlay)
    region: Region = INVENTORY.region(overlay)
    for doc in docs:
        assert doc["metadata"]["labels"]["hanvoice.io/region"] == overlay, doc["kind"]
        assert doc["metadata"].get("namespace", "hanvoice") == "hanvoice" or doc["kind"] in (
            "Namespace",
        )
    dep = one(docs, "Deployment")
    pod = dep["spec"]["template"]
    assert pod["metadata"]["labels"]["hanvoice.io/region"] == overlay
    env = {e["name"]: e for e in container(docs)["env"]}
    assert env["HANVOICE_REGION"]["valueFrom"]["fieldRef"]["fieldPath"] == (
        "metadata.labels['hanvoice.io/region']"
    )
    # zones: pinned to the region's zones and spread over at least two of them
    term = pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    expr = term["nodeSelectorTerms"][0]["matchExpressions"][0]
    assert expr["key"] == "topology.kubernetes.io/zone"
    assert tuple(expr["values"]) == region.zones
    zone_spread = [
        t
        for t in pod["spec"]["topologySpreadConstraints"]
        if t["topologyKey"] == "topology.kubernetes.io/zone"
    ]
    assert len(zone_spread) == 1
    assert zone_spread[0]["minDomains"] >= 2 and zone_spread[0]["maxSkew"] == 1
    assert zone_spread[0]["whenUnsatisfiable"] == "DoNotSchedule"
    # replica bounds
    hpa = one(docs, "HorizontalPodAutoscaler")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (
        region.min_replicas,
        region.max_replicas,
    )
    assert hpa["spec"]["scaleTargetRef"]["name"] == dep["metadata"]["name"]
    # endpoints
    cm = one(docs, "ConfigMap", "hanvoice-region")
    assert cm["data"]["HANVOICE_REDIS_URL"] == region.redis
    assert cm["data"]["HANVOICE_ETCD_ENDPOINTS"] == region.etcd
    ingress = one(docs, "Ingress")
    host = region.endpoint.split("://", 1)[1]
    hosts = [rule["host"] for rule in ingress["spec"]["rules"]]
    # its own name first, then the global names GeoDNS resolves to it
    assert hosts == [host, "tts.example.com", "tts.example.cn"]
    assert ingress["spec"]["tls"][0]["hosts"] == hosts
    # the optional in-cluster Redis is there exactly when the region's Redis URL names it
    has_redis = any(d["kind"] == "Deployment" and d["metadata"]["name"] == "hanvoice-redis"
                    for d in docs)  # fmt: skip
    assert has_redis == ("//hanvoice-redis:" in region.redis)


def test_every_region_runs_the_same_image_pinned_by_digest_from_its_own_registry() -> None:
    digests = set()
    for overlay in OVERLAYS:
        c = container(render(overlay))
        name, _, digest = c["image"].partition("@")
        assert name == INVENTORY.region(overlay).registry, "the region pulls from its registry"
        assert DIGEST.match(digest), c["image"]
        env = {e["name"]: e.get("value") for e in c["env"]}
        assert env["HANVOICE_IMAGE"] == c["image"], "/version reports what the pod runs"
        digests.add(digest)
    assert len(digests) == 1, f"regions disagree on the image: {sorted(digests)}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_service_hpa_pdb_networkpolicy_configmap_and_secret(overlay: str) -> None:
    docs = render(overlay)
    dep = one(docs, "Deployment")
    selector = dep["spec"]["selector"]["matchLabels"]
    pod_labels = dep["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= pod_labels.items()
    svc = one(docs, "Service")
    assert svc["spec"]["selector"].items() <= pod_labels.items()
    assert svc["spec"]["ports"][0]["targetPort"] == "http"
    internal = one(docs, "Service", "hanvoice-internal")  # the edge tier's origin
    assert internal["spec"]["type"] == "LoadBalancer"
    assert internal["spec"]["externalTrafficPolicy"] == "Local"
    assert internal["spec"]["selector"].items() <= pod_labels.items()
    assert internal["spec"]["ports"][0]["targetPort"] == "http"
    hpa = one(docs, "HorizontalPodAutoscaler")
    assert hpa["spec"]["minReplicas"] >= 1
    assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] >= 300
    pdb = one(docs, "PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert pdb["spec"]["minAvailable"] == 1
    netpol = one(docs, "NetworkPolicy")
    assert netpol["spec"]["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert set(netpol["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    ingress_ports = {p["port"] for rule in netpol["spec"]["ingress"] for p in rule["ports"]}
    assert ingress_ports == {5000}
    egress_ports = {p["port"] for rule in netpol["spec"]["egress"] for p in rule["ports"]}
    assert egress_ports == {53, 6379, 2379}, "DNS, Redis and etcd only: no internet"
    # the YAML config: mounted as a folder (no subPath, so updates reach the pod) and without
    # a hash suffix (so an edit hot-reloads instead of rolling every pod)
    cfg = one(docs, "ConfigMap", "hanvoice-config")
    assert cfg["metadata"]["name"] == "hanvoice-config"
    mount = next(m for m in container(docs)["volumeMounts"] if m["mountPath"] == "/etc/hanvoice")
    assert "subPath" not in mount
    volume = next(v for v in dep["spec"]["template"]["spec"]["volumes"] if v["name"] == "config")
    assert volume["configMap"]["name"] == "hanvoice-config"
    # the region's endpoints ConfigMap is hash-suffixed, so a new endpoint rolls the pods
    region_cm = one(docs, "ConfigMap", "hanvoice-region")
    env_from = container(docs)["envFrom"][0]["configMapRef"]["name"]
    assert env_from == region_cm["metadata"]["name"] != "hanvoice-region"
    # the JWT secret comes from a Secret, never from the manifests
    env = {e["name"]: e for e in container(docs)["env"]}
    assert env["HANVOICE_JWT_SECRET"]["valueFrom"]["secretKeyRef"]["name"] == "hanvoice-auth"
    assert not any(d["kind"] == "Secret" for d in docs)
    # workers follow the CPU limit, not the node's core count
    workers = env["HANVOICE_WORKERS"]["valueFrom"]["resourceFieldRef"]
    assert workers["resource"] == "limits.cpu"


def test_config_map_holds_valid_settings(tmp_path: Path) -> None:
    """The ConfigMap's YAML loads with the service's own Settings (unknown keys refused)."""
    docs = render(OVERLAYS[0])
    text = one(docs, "ConfigMap", "hanvoice-config")["data"]["config.yaml"]
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    settings = Settings.load(path)
    assert settings.port == 5000
    assert yaml.safe_load(text).keys() <= set(Settings.model_fields)


def test_every_hanvoice_variable_in_the_manifests_is_a_real_setting() -> None:
    docs = render(OVERLAYS[0])
    c = container(docs)
    names = {e["name"] for e in c["env"]}
    names |= set(one(docs, "ConfigMap", "hanvoice-region")["data"])
    fields = {f"HANVOICE_{f.upper()}" for f in Settings.model_fields}
    unknown = sorted(n for n in names if n.startswith("HANVOICE_") and n not in fields)
    assert not unknown, f"not settings of hanvoice.config.Settings: {unknown}"
    # and the container's port and probes agree with where the server listens: the
    # settings' default port (no --host/--port in the args, as in the image's CMD)
    assert c["ports"][0]["containerPort"] == Settings.model_fields["port"].default == 5000
    assert not [a for a in c["args"] if a.startswith(("--port", "--host"))]
