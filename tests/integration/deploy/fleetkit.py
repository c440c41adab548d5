"""A fleet of real containers for the drills: regions, zones, Redis, etcd and the edge.

Three regions of deploy/regions.yaml (the canary and the first two waves), one of them with a
container in each of two zones; each container on its own loopback port, host networking,
run as production runs it (podmankit). One real Redis (a database per region) and one real
etcd (the config center every container follows), and the nginx edge of deploy/edge in
front of every container. A bounded load from the host runs during each drill and records
every answer.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from deploykit import DEPLOY, ROOT, Edge
from podmankit import Container

from support.servers import EtcdServer, RedisServer, free_port

PREFIX = "/hanvoice/config/"
CACHED = ["欢迎使用语音服务", "前方路口请右转", "您的订单已经发货", "列车即将进站"]


def inventory_doc() -> dict[str, Any]:
    doc = yaml.safe_load((DEPLOY / "regions.yaml").read_text(encoding="utf-8"))
    return doc  # type: ignore[no-any-return]


def drill_regions() -> list[str]:
    """The canary and the first two waves of deploy/regions.yaml, in rollout order."""
    rollout = inventory_doc()["rollout"]
    order = [rollout["canary"], *[r for wave in rollout["waves"] for r in wave]]
    return order[:3]


@dataclass
class Fleet:
    image: str
    tmp: Path
    redis: RedisServer
    etcd: EtcdServer
    edge: Edge | None = None
    # region -> zone -> container
    regions: dict[str, dict[str, Container]] = field(default_factory=dict)
    started: list[Container] = field(default_factory=list)

    def env(self, region: str, index: int) -> dict[str, str]:
        return {
            "HANVOICE_REGION": region,
            "HANVOICE_REDIS_URL": f"{self.redis.url[:-2]}/{index}",
            "HANVOICE_ETCD_ENDPOINTS": self.etcd.endpoint,
            "HANVOICE_ETCD_PREFIX": PREFIX,
            "HANVOICE_ETCD_POLL_INTERVAL": "1",
            # one config version everywhere, as pods sharing a ConfigMap have (the ETag
            # includes it), so the edge can revalidate across origins
            "HANVOICE_CONFIG_VERSION": "fleet-1",
            "HANVOICE_HTTP_MAX_AGE": "3600",
            "HANVOICE_QUEUE_SIZE": "32",
        }

    def new_container(self, region: str, zone: str, image: str) -> Container:
        index = drill_regions().index(region)
        c = Container(f"hv-{zone}-{free_port()}", image, free_port(), self.env(region, index),
                      restart="on-failure")  # fmt: skip
        self.started.append(c)
        return c.start()

    def containers(self) -> list[Container]:
        return [c for zones in self.regions.values() for c in zones.values()]

    def ports(self) -> list[int]:
        return [c.port for c in self.containers()]

    def write_inventory(self) -> Path:
        """deploy/regions.yaml narrowed to the drill's regions, endpoints on loopback.

        A region's endpoint is its first zone's container (a region's load balancer would
        answer from either zone; the drill checks every zone itself)."""
        doc = inventory_doc()
        names = list(self.regions)
        doc["regions"] = [r for r in doc["regions"] if r["name"] in names]
        for r in doc["regions"]:
            r["endpoint"] = next(iter(self.regions[r["name"]].values())).url
        rollout = doc["rollout"]
        rollout["waves"] = [
            w for w in ([x for x in w if x in names] for w in rollout["waves"]) if w
        ]
        path = self.tmp / "regions.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        return path

    def stop(self) -> None:
        for c in self.started:
            c.remove()
        if self.edge is not None:
            self.edge.stop()


def fleet_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hanvoice.cli", "fleet", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


@dataclass
class Answer:
    kind: str
    """``cached`` (a phrase the edge holds) or ``uncached`` (a new phrase: a synthesis)."""
    status: int
    start: float
    end: float
    cache: str = ""
    error: str = ""


class Load:
    """``workers`` clients asking the edge for cached and new phrases until stopped.

    Bounded: each client waits for its answer before the next request, and pauses between
    requests, so the shared machine is not saturated."""

    def __init__(self, edge: Edge, workers: int = 2, pause: float = 0.05) -> None:
        self.edge = edge
        self.workers = workers
        self.pause = pause
        self.answers: list[Answer] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._n = 0
        self._pool = ThreadPoolExecutor(workers)
        self._futures: list[Any] = []

    def _text(self) -> tuple[str, str]:
        with self._lock:
            self._n += 1
            n = self._n
        if n % 2:
            return "cached", CACHED[n % len(CACHED)]
        return "uncached", f"演练{time.monotonic_ns() % 10**9}号新句子"

    def _run(self) -> None:
        with httpx.Client(timeout=60) as client:
            while not self._stop.is_set():
                kind, text = self._text()
                t0 = time.perf_counter()
                try:
                    r = client.get(f"{self.edge.url}/tts", params={"text": text, "format": "wav"})
                    a = Answer(kind, r.status_code, t0, time.perf_counter(),
                               r.headers.get("x-cache-status", ""),
                               "" if r.status_code == 200 else r.text[:200])  # fmt: skip
                except httpx.HTTPError as exc:
                    a = Answer(kind, 0, t0, time.perf_counter(), error=repr(exc))
                with self._lock:
                    self.answers.append(a)
                self._stop.wait(self.pause)

    def __enter__(self) -> Load:
        self._futures = [self._pool.submit(self._run) for _ in range(self.workers)]
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for f in self._futures:
            f.result(timeout=120)
        self._pool.shutdown()

    def failed(self) -> list[Answer]:
        return [a for a in self.answers if a.status != 200]

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"requests": len(self.answers), "failed": len(self.failed())}
        for kind in ("cached", "uncached"):
            mine = [a for a in self.answers if a.kind == kind]
            ms = sorted((a.end - a.start) * 1000 for a in mine)
            out[kind] = {
                "requests": len(mine),
                "failed": sum(a.status != 200 for a in mine),
                "p50_ms": round(statistics.median(ms), 1) if ms else None,
                "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 1) if ms else None,
            }
        out["failures"] = [vars(a) for a in self.failed()[:5]]
        return out


def warm_edge(edge: Edge) -> None:
    """Put the cached phrases in the edge's cache."""
    with httpx.Client(timeout=120) as client:
        for text in CACHED:
            r = client.get(f"{edge.url}/tts", params={"text": text, "format": "wav"})
            assert r.status_code == 200, r.text
        for text in CACHED:
            r = client.get(f"{edge.url}/tts", params={"text": text, "format": "wav"})
            assert r.headers["x-cache-status"] == "HIT"


def eventually(check: Any, timeout: float, interval: float = 0.05) -> float:
    """Seconds until ``check()`` is truthy; fails after ``timeout``."""
    t0 = time.monotonic()
    last: Any = None
    while time.monotonic() - t0 < timeout:
        last = check()
        if last:
            return time.monotonic() - t0
        time.sleep(interval)
    raise AssertionError(f"not within {timeout} s (last: {last!r})")
