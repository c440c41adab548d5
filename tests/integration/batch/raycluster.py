"""A real two-node Ray cluster inside a private network namespace, for the batch tests.

Ray advertises the machine's interface address even when told 127.0.0.1, so the cluster
and every driver run inside a network namespace made here (``unshare -n``), where only
loopback exists. A process that sleeps holds the namespace; commands enter it with
``nsenter``. Each cluster has its own HOME and temp folder (a stale auth token under
``~/.ray`` breaks a new driver), and stopping it ends exactly the processes inside that
namespace, by pid: never ``ray stop``, which would stop every Ray on the machine.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

HEAD_PORT = 6390
"""Outside Ray's default worker ports (10002-19999); the namespace is ours alone."""
ADDRESS = f"127.0.0.1:{HEAD_PORT}"
RAY = str(Path(sys.executable).parent / "ray")


def _netns(pid: int) -> str:
    return os.readlink(f"/proc/{pid}/ns/net")


class RayCluster:
    def __init__(self, root: Path, nodes: int = 2, cpus_per_node: int = 1) -> None:
        self.root = root
        self.nodes = nodes
        self.cpus = cpus_per_node
        self.home = root / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "HOME": str(self.home),
            "RAY_USAGE_STATS_ENABLED": "0",
            "PYTHONUNBUFFERED": "1",
        }
        self.holder: subprocess.Popen[bytes] | None = None

    def start(self) -> RayCluster:
        self.holder = subprocess.Popen(
            ["unshare", "-n", "sh", "-c", "ip link set lo up && exec sleep 100000"],
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while _comm(self.holder.pid) != "sleep":
            if time.monotonic() > deadline or self.holder.poll() is not None:
                raise RuntimeError("could not make a network namespace (unshare -n needs root)")
            time.sleep(0.02)
        self.ns = _netns(self.holder.pid)
        assert self.ns != _netns(os.getpid())
        common = [
            "--node-ip-address", "127.0.0.1",
            "--num-cpus", str(self.cpus),
            "--object-store-memory", str(150 * 1024 * 1024),
            "--disable-usage-stats",
        ]  # fmt: skip
        self.check(
            [
                RAY,
                "start",
                "--head",
                "--port",
                str(HEAD_PORT),
                "--include-dashboard=false",
                "--temp-dir",
                str(self.root / "ray"),
                *common,
            ]
        )
        for _ in range(self.nodes - 1):
            self.check([RAY, "start", "--address", ADDRESS, *common])
        return self

    def popen(self, argv: Sequence[str], **kw: object) -> subprocess.Popen[str]:
        """``argv`` run inside the cluster's namespace, with its HOME."""
        assert self.holder is not None
        cmd = ["nsenter", "-t", str(self.holder.pid), "-n", "--", *argv]
        return subprocess.Popen(cmd, env=self.env, text=True, **kw)  # type: ignore[call-overload, no-any-return]

    def run(self, argv: Sequence[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
        p = self.popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            raise AssertionError(f"{argv} timed out; stderr: {err[-3000:]}") from None
        return subprocess.CompletedProcess(argv, p.returncode, out, err)

    def check(self, argv: Sequence[str]) -> None:
        r = self.run(argv, timeout=120)
        assert r.returncode == 0, f"{argv}: {r.stdout[-2000:]}\n{r.stderr[-2000:]}"

    def pids(self) -> list[int]:
        """Every process in the namespace except its holder: the cluster's, all ours."""
        out = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or self.holder is None or int(entry) == self.holder.pid:
                continue
            try:
                if os.readlink(f"/proc/{entry}/ns/net") == self.ns:
                    out.append(int(entry))
            except OSError:
                continue
        return out

    def actor_pids(self, name: str = "BatchWorker") -> list[int]:
        found = []
        for pid in self.pids():
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if cmd.startswith(f"ray::{name}"):
                found.append(pid)
        return found

    def stop(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pids = self.pids()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + 10
            while self.pids() and time.monotonic() < deadline:
                time.sleep(0.1)
        if self.holder is not None:
            self.holder.kill()
            self.holder.wait()


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""
