"""``hanvoice fleet rollout-plan`` and ``hanvoice fleet pin``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hanvoice.cli import main
from hanvoice.errors import InvalidParameter
from hanvoice.fleet.inventory import load_inventory
from hanvoice.fleet.pin import pin_overlay
from hanvoice.fleet.plan import format_plan, rollout_plan

ROOT = Path(__file__).resolve().parents[3]
INVENTORY = ROOT / "deploy" / "regions.yaml"
DIGEST = "sha256:" + "ab" * 32


def test_plan_puts_the_canary_first_and_follows_the_inventory_waves() -> None:
    inv = load_inventory(INVENTORY)
    plan = rollout_plan(inv, digest=DIGEST, build="0.2.0")
    order = [[r.region for r in w.regions] for w in plan.waves]
    assert order == [[inv.rollout.canary], *[list(w) for w in inv.rollout.waves]]
    assert plan.waves[0].canary and not any(w.canary for w in plan.waves[1:])
    assert sum(w.traffic_share for w in plan.waves) == pytest.approx(1.0)
    assert plan.image_ref == f"{inv.image}@{DIGEST}"


def test_every_wave_has_the_same_gates_with_the_inventory_limits() -> None:
    inv = load_inventory(INVENTORY)
    plan = rollout_plan(inv, digest=DIGEST, build="0.2.0")
    for wave in plan.waves:
        assert [g.name for g in wave.gates] == ["ready", "errors", "latency"]
        names = [r.region for r in wave.regions]
        ready, errors, latency = wave.gates
        assert "--expect build=0.2.0" in ready.command
        assert all(f"--region {n}" in ready.command for n in names)
        assert errors.threshold == inv.rollout.max_error_ratio
        assert latency.threshold == inv.rollout.max_p95_seconds
        assert all(n in errors.query and n in latency.query for n in names)
        assert wave.bake_minutes == inv.rollout.bake_minutes
        for r in wave.regions:
            steps = dict(r.steps)
            assert steps["pin"].startswith(f"hanvoice fleet pin {r.overlay} {DIGEST}")
            assert steps["apply"].endswith(f"apply -k {r.overlay}")
            assert "--context " + inv.region(r.region).kube_context in steps["apply"]
            assert any("rollout undo" in c for c in r.rollback)
            assert Path(r.overlay).name == r.region


def test_plan_text_and_json_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["fleet", "rollout-plan", "--inventory", str(INVENTORY), "--digest", DIGEST]
    assert main([*args, "--build", "0.2.0"]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"Rollout of registry.example.com/hanvoice/hanvoice@{DIGEST}")
    assert "Wave 1 (canary): ap-singapore" in text
    assert text.index("Wave 1 (canary)") < text.index("Wave 5: cn-beijing")
    assert "100% on the new build after it" in text
    assert main([*args, "--build", "0.2.0", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [w["regions"][0]["region"] for w in doc["waves"]] == [
        "ap-singapore", "eu-frankfurt", "us-virginia", "cn-shanghai", "cn-beijing",
    ]  # fmt: skip
    assert doc["final_check"].endswith("--expect build=0.2.0")


def test_parallel_wave_is_gated_as_one(tmp_path: Path) -> None:
    text = INVENTORY.read_text(encoding="utf-8").replace(
        "    - [cn-shanghai]\n    - [cn-beijing]\n", "    - [cn-shanghai, cn-beijing]\n"
    )
    path = tmp_path / "regions.yaml"
    path.write_text(text, encoding="utf-8")
    plan = rollout_plan(load_inventory(path), digest=DIGEST, build="0.2.0")
    last = plan.waves[-1]
    assert [r.region for r in last.regions] == ["cn-shanghai", "cn-beijing"]
    assert 'region=~"cn-shanghai|cn-beijing"' in last.gates[1].query
    assert "Wave 4: cn-shanghai, cn-beijing" in format_plan(plan)


@pytest.mark.parametrize(
    ("digest", "build", "message"),
    [
        ("sha256:abc", "0.2.0", "--digest"),
        ("0.2.0", "0.2.0", "--digest"),
        ("SHA256:" + "ab" * 32, "0.2.0", "--digest"),
        (DIGEST, "bad tag!", "--build"),
        (DIGEST, "", "--build"),
    ],
)
def test_plan_rejects_bad_digest_or_build(digest: str, build: str, message: str) -> None:
    with pytest.raises(InvalidParameter, match=message):
        rollout_plan(load_inventory(INVENTORY), digest=digest, build=build)


def test_cli_plan_bad_digest_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["fleet", "rollout-plan", "--digest", "latest", "--build", "1"])
    assert code == 2
    assert capsys.readouterr().err.startswith("hanvoice: error: --digest")


def test_pin_changes_only_the_digest_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    overlay = tmp_path / "cn-beijing"
    shutil.copytree(ROOT / "deploy" / "k8s" / "overlays" / "cn-beijing", overlay)
    before = (overlay / "kustomization.yaml").read_text(encoding="utf-8")
    assert main(["fleet", "pin", str(overlay), DIGEST]) == 0
    after = (overlay / "kustomization.yaml").read_text(encoding="utf-8")
    changed = [
        (a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b
    ]
    assert len(changed) == 1
    assert changed[0][1] == f"    digest: {DIGEST}"
    assert "->" in capsys.readouterr().out
    # pinning again to the same digest is a no-op
    assert pin_overlay(overlay, DIGEST) == DIGEST


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("images:\n  - name: hanvoice\n", "exactly one `digest:` line"),
        (f"a:\n  digest: {DIGEST}\nb:\n  digest: {DIGEST}\n", "exactly one `digest:` line"),
    ],
)
def test_pin_refuses_ambiguous_files(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "kustomization.yaml").write_text(content, encoding="utf-8")
    with pytest.raises(InvalidParameter, match=message):
        pin_overlay(tmp_path, DIGEST)


def test_pin_bad_digest_and_missing_overlay(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameter, match="digest must look like"):
        pin_overlay(tmp_path, "latest")
    with pytest.raises(InvalidParameter, match="cannot read"):
        pin_overlay(tmp_path / "nowhere", DIGEST)
