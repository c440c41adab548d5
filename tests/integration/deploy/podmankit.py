"""Real containers of the real image, with Debian's podman, on loopback (helpers).

Every container runs as production would (read-only root filesystem, only ``/tmp``
writable, all capabilities dropped, no privilege escalation, the image's own non-root user)
on the host's network, each on its own ``127.0.0.1`` port given by ``HANVOICE_HOST`` /
``HANVOICE_PORT``: no byte goes to podman's private bridge range. Everything started here
carries the label ``hanvoice-test=<run id>``, and :func:`remove_labelled` removes all of it
at teardown, whatever state the test left it in.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from deploykit import DEPLOY, ROOT

PODMAN = shutil.which("podman") or "podman"
CONTAINERS_CONF = DEPLOY / "podman" / "containers.conf"
# <pid of this pytest>-<random>: a later run can tell a dead run's leftovers from a live one's
RUN_ID = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
LABEL = f"hanvoice-test={RUN_ID}"
# podman without systemd (as here) cannot arm the timer of an image's HEALTHCHECK and says so
# on stderr at every run/stop; `podman healthcheck run` still runs the check itself.
_NOISE = re.compile(r"^time=.*(systemd connection|healthcheck).*$\n?", re.MULTILINE)


def podman(
    *args: str, timeout: float = 120, check: bool = True, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)}
    result = subprocess.run(
        [PODMAN, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        input=stdin,
    )
    result.stderr = _NOISE.sub("", result.stderr)
    if check and result.returncode != 0:
        raise AssertionError(f"podman {' '.join(args[:3])} failed: {result.stderr[-2000:]}")
    return result


@dataclass(frozen=True)
class BuiltImage:
    ref: str
    """``localhost/hanvoice:<version>``, the last line of ``scripts/image.sh build``."""
    record: dict[str, Any]
    """artifacts/image-build.json: size, digest, seconds per phase."""
    seconds: float


def require_podman() -> None:
    """Fail (not skip) when podman is missing: scripts/system-deps.sh installs it."""
    if shutil.which("podman") is None:
        raise AssertionError("podman is not installed (run scripts/system-deps.sh)")


def build_image(*options: str) -> tuple[str, dict[str, Any], float]:
    """``scripts/image.sh build`` as the README runs it: (reference, its record, seconds)."""
    t0 = time.perf_counter()
    result = subprocess.run(
        ["bash", "scripts/image.sh", "build", *options],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    seconds = time.perf_counter() - t0
    assert result.returncode == 0, f"scripts/image.sh build failed:\n{result.stderr[-4000:]}"
    ref = result.stdout.strip().splitlines()[-1]
    record = json.loads((ROOT / "artifacts" / "image-build.json").read_text(encoding="utf-8"))
    assert record["image"] == ref
    return ref, record, seconds


def derive_image(base: str, version: str) -> str:
    """A thin layer on ``base`` that differs only in its version (label and environment):
    the cheap "image B" of a rollout drill, built with no network."""
    ref = f"localhost/hanvoice:{version}"
    containerfile = (
        f"FROM {base}\n"
        f"ENV HANVOICE_BUILD={version}\n"
        f'LABEL org.opencontainers.image.version="{version}"\n'
    )
    podman("build", "--network", "none", "--format", "docker", "-t", ref,
           "--label", LABEL, "-f", "-", str(DEPLOY / "podman"), stdin=containerfile)  # fmt: skip
    return ref


@dataclass
class Container:
    """One container of the image on the host network, listening on 127.0.0.1:``port``."""

    name: str
    image: str
    port: int
    env: dict[str, str] = field(default_factory=dict)
    restart: str = "no"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def run_args(self) -> list[str]:
        env = {
            "HANVOICE_HOST": "127.0.0.1",
            "HANVOICE_PORT": str(self.port),
            "HANVOICE_WORKERS": "1",
            "HANVOICE_LOG_LEVEL": "warning",
            **self.env,
        }
        return [
            "run", "--detach", "--name", self.name, "--label", LABEL,
            "--network", "host",
            "--read-only", "--read-only-tmpfs=false",
            "--tmpfs", "/tmp:rw,size=256m,mode=1777",
            "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
            "--restart", self.restart,
            *[a for k, v in env.items() for a in ("--env", f"{k}={v}")],
            self.image,
        ]  # fmt: skip

    def start(self) -> Container:
        podman(*self.run_args())
        return self

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Seconds until ``/ready`` answers 200; fails with the container's log if not."""
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < timeout:
            try:
                if httpx.get(f"{self.url}/ready", timeout=2).status_code == 200:
                    return time.perf_counter() - t0
            except httpx.HTTPError:
                pass
            stopped = self.state().get("Status") in ("exited", "stopped")
            if stopped and self.restart == "no":
                break
            time.sleep(0.05)
        raise AssertionError(f"{self.name} not ready after {timeout} s:\n{self.logs()[-3000:]}")

    def state(self) -> dict[str, Any]:
        r = podman("inspect", "--format", "{{json .State}}", self.name, check=False)
        return json.loads(r.stdout) if r.returncode == 0 and r.stdout.strip() else {}

    def inspect(self) -> dict[str, Any]:
        doc = json.loads(podman("inspect", self.name).stdout)
        return doc[0]  # type: ignore[no-any-return]

    def restarts(self) -> int:
        """How often podman restarted it (``--restart on-failure``)."""
        r = podman("inspect", "--format", "{{.RestartCount}}", self.name, check=False)
        return int(r.stdout.strip() or 0) if r.returncode == 0 else 0

    def logs(self) -> str:
        r = podman("logs", self.name, check=False)
        return r.stdout + r.stderr

    def server_pid(self) -> int:
        """Host pid of ``hanvoice serve`` (the child of the container's tini)."""
        init = int(self.state()["Pid"])
        children = Path(f"/proc/{init}/task/{init}/children").read_text().split()
        assert children, f"{self.name}: tini has no child"
        return int(children[0])

    def crash(self) -> None:
        """SIGKILL the server process, as the kernel's OOM killer would: a crash, no drain."""
        os.kill(self.server_pid(), 9)

    def stop(self, grace: int = 30) -> None:
        """SIGTERM (the image's STOPSIGNAL), then SIGKILL after ``grace`` seconds."""
        podman("stop", "--time", str(grace), self.name, timeout=grace + 30, check=False)

    def remove(self) -> None:
        podman("rm", "--force", "--time", "5", self.name, check=False)

    def memory_mib(self) -> float:
        """Resident memory of the container's cgroup (podman stats)."""
        r = podman("stats", "--no-stream", "--no-reset", "--format", "json", self.name)
        usage = json.loads(r.stdout)[0]["mem_usage"].split("/")[0].strip()
        return _mib(usage)


def _mib(text: str) -> float:
    """``'225.4MB'`` -> MiB."""
    m = re.fullmatch(r"([\d.]+)\s*([kKMGT]?i?B)", text)
    assert m, f"unexpected memory figure {text!r}"
    scale = {"B": 1, "kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9, "KiB": 1024, "MiB": 1024**2,
             "GiB": 1024**3}  # fmt: skip
    return float(m.group(1)) * scale[m.group(2)] / 1024**2


def remove_orphans() -> list[str]:
    """Remove containers left by a test run that was killed before its teardown (their
    ``--restart on-failure`` would keep them running forever); a live run's are kept."""
    out = podman("ps", "-a", "--filter", "label=hanvoice-test",
                 "--format", '{{.ID}} {{index .Labels "hanvoice-test"}}', check=False)  # fmt: skip
    removed = []
    for line in out.stdout.splitlines():
        cid, _, run = line.partition(" ")
        pid = run.split("-", 1)[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            podman("rm", "--force", "--time", "5", cid, check=False)
            removed.append(cid)
    return removed


def remove_labelled() -> list[str]:
    """Remove every pod, container and image this test run created; returns their names."""
    pods = podman("pod", "ps", "-q", "--filter", f"label={LABEL}", check=False).stdout.split()
    for pod in pods:
        podman("pod", "rm", "--force", pod, check=False)
    names = podman("ps", "-aq", "--filter", f"label={LABEL}", check=False).stdout.split()
    for name in names:
        podman("rm", "--force", "--time", "5", name, check=False)
    return pods + names


def report(name: str, figures: dict[str, Any]) -> None:
    """A drill's JSON summary: printed (``pytest -s`` shows it) and kept in artifacts/."""
    text = json.dumps(figures, ensure_ascii=False, indent=2)
    print(f"\n{name}: {text}")
    out = ROOT / "artifacts" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n", encoding="utf-8")
