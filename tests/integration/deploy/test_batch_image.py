"""The batch image (``scripts/image.sh build --batch``, what deploy/k8s/ray/rayjob.yaml runs):
a Ray head started inside a container with no network but its loopback, and ``hanvoice
batch --ray auto`` driving it there, as the RayJob's driver does on its head pod. The audio
is decoded, and it is the bytes a local job on the host gives for the same items."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from podmankit import LABEL, build_image, podman, require_podman

from support.audio import assert_speech, decode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "batch"))
from batchkit import files, manifest, run_batch, write_jsonl

ROWS = [
    {"id": "greeting", "text": "您好，欢迎致电客户服务中心。"},
    {"id": "transfer", "text": "请稍候，正在为您转接人工服务。", "emotion": "happy"},
    {"id": "nothing", "text": "……"},  # nothing speakable: an error row, the job goes on
]
IN_CONTAINER = (
    "ray start --head --port 6390 --num-cpus 2 --include-dashboard=false"
    " --disable-usage-stats > /tmp/ray.log 2>&1 || { tail -30 /tmp/ray.log; exit 90; }; "
    "hanvoice batch /data/in.jsonl -o /data/out --ray auto; code=$?; "
    "ray stop > /dev/null 2>&1; exit $code"
)


def test_the_batch_image_runs_a_job_on_ray_inside_a_container(tmp_path: Path) -> None:
    require_podman()
    ref, record, _ = build_image("--batch")
    assert ref.endswith("-batch"), ref
    data = tmp_path / "data"
    data.mkdir()
    write_jsonl(data / "in.jsonl", ROWS)
    os.chmod(data, 0o777)  # the image's user (10001) writes OUTDIR
    r = podman(
        "run", "--rm", "--label", LABEL, "--network", "none", "--entrypoint", "sh",
        "-v", f"{data}:/data:Z", ref, "-c", IN_CONTAINER,
        timeout=300, check=False,
    )  # fmt: skip
    assert r.returncode == 1, f"exit {r.returncode}: {r.stdout[-2000:]}\n{r.stderr[-2000:]}"
    assert "2 ok, 0 skipped, 1 failed" in r.stderr, r.stderr[-2000:]
    rows = {row["id"]: row for row in manifest(data / "out")}
    assert {k: v["status"] for k, v in rows.items()} == {
        "greeting": "ok",
        "transfer": "ok",
        "nothing": "error",
    }
    assert rows["nothing"]["error"].startswith("empty_text")
    for name in ("greeting", "transfer"):
        audio, rate = decode((data / "out" / f"{name}.wav").read_bytes())
        assert abs(audio.size / rate - rows[name]["duration"]) < 0.01
        assert_speech(audio, rate)
    # the container's Ray workers and this machine's local workers: the same bytes
    local = tmp_path / "local"
    assert run_batch(str(data / "in.jsonl"), "-o", str(local)).returncode == 1
    assert files(data / "out") == files(local)
    print(f"\nbatch image {ref}: {record['size_bytes'] / 1e6:.0f} MB " + json.dumps(record))
