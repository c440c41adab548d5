"""One region from its rendered overlay, run by a real runtime: ``podman kube play``.

``kubectl kustomize deploy/k8s/overlays/us-virginia`` is played with podman on the host
network, so the Deployment's own spec (env from the pod label and the CPU limit, the
ConfigMaps, the Secret reference, the security contexts, the /tmp emptyDir, the config
volume) is exercised by a runtime, not only by a schema. What podman 4.3 needs changed,
and nothing else (docs/deploy.md, "One region on a laptop"):

- the image: the overlay pins the registry's digest; here it is the local build;
- the listen address: ``HANVOICE_HOST`` / ``HANVOICE_PORT`` (a loopback port of its own),
  the probes' port, and no ``ports:`` (podman turns a containerPort into a host port
  mapping, which it refuses with host networking);
- the region's Redis and etcd endpoints: the test's own servers on loopback;
- the ``hanvoice-auth`` Secret: a podman secret (podman cannot read a kube Secret
  document for ``secretKeyRef``).

Services, the HPA, the Ingress, the PDB and the NetworkPolicy are ignored by podman.
"""

from __future__ import annotations

import base64
import json
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml
from deploykit import DEPLOY
from podmankit import BuiltImage, podman

from support.audio import assert_speech, decode
from support.servers import EtcdServer, RedisServer, free_port

REGION = "us-virginia"
CONTAINER = "hanvoice-pod-0-hanvoice"  # podman's name: <deployment>-pod-0-<container>
SECRET = "hanvoice-auth"
JWT_SECRET = b"kube-play-test-secret-0123456789abcdef"


def bearer() -> dict[str, str]:
    """A token signed with the Secret's ``jwt-secret``: auth is on, as in every region."""
    import jwt

    claims = {"sub": "kube-play-test", "scope": "tts admin", "exp": int(time.time()) + 600}
    return {"Authorization": f"Bearer {jwt.encode(claims, JWT_SECRET, algorithm='HS256')}"}


def rendered() -> list[dict[str, Any]]:
    out = subprocess.run(
        ["kubectl", "kustomize", str(DEPLOY / "k8s" / "overlays" / REGION)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def for_podman(docs: list[dict[str, Any]], image: str, port: int, redis: str, etcd: str) -> str:
    """The rendered overlay with only the changes podman on this machine needs."""
    for d in docs:
        if d["kind"] == "Deployment":
            c = d["spec"]["template"]["spec"]["containers"][0]
            c["image"] = image
            c.pop("ports")
            c["env"] += [
                {"name": "HANVOICE_HOST", "value": "127.0.0.1"},
                {"name": "HANVOICE_PORT", "value": str(port)},
            ]
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                c[probe]["httpGet"]["port"] = port
        if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("hanvoice-region"):
            assert set(d["data"]) == {"HANVOICE_REDIS_URL", "HANVOICE_ETCD_ENDPOINTS"}
            d["data"] = {"HANVOICE_REDIS_URL": redis, "HANVOICE_ETCD_ENDPOINTS": etcd}
    return yaml.safe_dump_all(docs, sort_keys=False)


@pytest.fixture(scope="module")
def played(
    built_image: BuiltImage, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    redis, etcd = RedisServer(), EtcdServer()
    tmp = tmp_path_factory.mktemp("kube")
    port = free_port()
    docs = rendered()
    play = tmp / "play.yaml"
    play.write_text(for_podman(docs, built_image.ref, port, redis.url, etcd.endpoint), "utf-8")
    secret = tmp / "secret.json"
    secret.write_text(json.dumps({"jwt-secret": base64.b64encode(JWT_SECRET).decode()}), "utf-8")
    volumes = set(podman("volume", "ls", "-q").stdout.split())
    try:
        redis.start()
        etcd.start()
        podman("secret", "rm", SECRET, check=False)
        podman("secret", "create", SECRET, str(secret))
        # --replace: a pod left by a run killed before its teardown goes first
        podman("kube", "play", "--replace", "--network", "host", str(play), timeout=180)
        yield f"http://127.0.0.1:{port}", docs
    finally:
        podman("kube", "down", str(play), check=False, timeout=120)
        podman("secret", "rm", SECRET, check=False)
        for v in set(podman("volume", "ls", "-q").stdout.split()) - volumes:
            podman("volume", "rm", "--force", v, check=False)
        redis.close()
        etcd.close()


def _wait_ready(url: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    logs = podman("logs", CONTAINER, check=False)
    raise AssertionError(f"the played pod is not ready: {logs.stdout[-2000:]}{logs.stderr}")


def test_the_region_runs_from_its_overlay(played: tuple[str, list[dict[str, Any]]]) -> None:
    url, docs = played
    _wait_ready(url)
    version = httpx.get(f"{url}/version", timeout=5).json()
    assert version["region"] == REGION  # from the pod's own label (fieldRef)
    assert httpx.get(f"{url}/admin/config", timeout=5).status_code == 401  # the Secret's key
    admin = httpx.get(f"{url}/admin/config", headers=bearer(), timeout=5).json()
    config = yaml.safe_load(
        next(d for d in docs if d["metadata"]["name"] == "hanvoice-config")["data"]["config.yaml"]
    )
    for key in ("queue_size", "rate_limit", "drain_timeout", "http_max_age"):
        assert admin["settings"][key] == config[key], key  # the mounted ConfigMap
    assert admin["settings"]["workers"] == 2  # from the CPU limit (resourceFieldRef)
    assert admin["sources"]["etcd"]["healthy"] is True  # the region ConfigMap's endpoints
    text = "从清单启动的地域。"
    params = {"text": text, "format": "wav"}
    r = httpx.get(f"{url}/tts", params=params, headers=bearer(), timeout=60)
    assert r.status_code == 200, r.text
    audio, sr = decode(r.content)
    assert_speech(audio, sr, text_chars=len(text))


def test_the_security_context_is_applied(played: tuple[str, list[dict[str, Any]]]) -> None:
    url, _ = played
    _wait_ready(url)
    info = json.loads(podman("inspect", CONTAINER).stdout)[0]
    assert info["HostConfig"]["ReadonlyRootfs"] is True
    assert info["EffectiveCaps"] in (None, [])
    assert info["Config"]["User"].split(":")[0] == "10001"
    assert info["HostConfig"]["NetworkMode"] == "host"
    assert podman("exec", CONTAINER, "touch", "/tmp/x", check=False).returncode == 0  # emptyDir
    ro = podman("exec", CONTAINER, "touch", "/etc/hanvoice/x", check=False)
    assert ro.returncode != 0, "the config volume is read-only"
    env = podman("exec", CONTAINER, "env").stdout
    assert f"HANVOICE_REGION={REGION}" in env and "HANVOICE_JWT_SECRET=" in env


def test_the_docs_name_what_podman_ignores() -> None:
    """podman ignores these kinds; the docs say so (docs/deploy.md)."""
    kinds = {d["kind"] for d in rendered()}
    ignored = {"Service", "HorizontalPodAutoscaler", "Ingress", "PodDisruptionBudget",
               "NetworkPolicy"}  # fmt: skip
    assert ignored <= kinds
    doc = (DEPLOY.parent / "docs" / "deploy.md").read_text(encoding="utf-8")
    for kind in ignored:
        assert kind in doc.split("## One region on a laptop", 1)[1].split("\n## ", 1)[0], kind
