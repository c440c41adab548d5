"""deploy/Dockerfile and .dockerignore, tested without a Docker engine.

The static tests read the Dockerfile the way BuildKit does (stages, instructions,
.dockerignore rules). The slow test then emulates the image: it assembles the build context
that .dockerignore lets through, runs the build stage's own install instruction (the
README's ``scripts/setup.sh``) in it, and then, as an unprivileged user with no network and
a tree it cannot write, runs the runtime stage's self-test, starts the service with the
image's CMD and probes it with the image's HEALTHCHECK.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from deploykit import DEPLOY, ROOT
from dockerparse import DockerIgnore, Stage, parse_dockerfile

DOCKERFILE = DEPLOY / "Dockerfile"
GLOBAL_ARGS, STAGES = parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))
IGNORE = DockerIgnore((ROOT / ".dockerignore").read_text(encoding="utf-8"))
STAGE = {s.name: s for s in STAGES}
DEPS, BUILD, RUNTIME = STAGE["deps"], STAGE["build"], STAGES[-1]
INSTALL = (DEPS, BUILD)
"""The stages that run scripts/setup.sh, in order: dependencies first, then the project."""
SETUP = "scripts/setup.sh"
SYSTEM_PYTHON = "/usr/bin/python3.11"


def setup_run(stage: Stage) -> str:
    runs = [i.args for i in stage.all("RUN") if SETUP in i.args]
    assert len(runs) == 1, f"the {stage.name} stage should run {SETUP} exactly once"
    return runs[0]


def test_multi_stage_from_a_slim_python() -> None:
    assert [s.name for s in STAGES] == ["deps", "venv", "build", "runtime"]
    assert (STAGE["venv"].base, BUILD.base) == ("deps", "deps")
    for s in (DEPS, RUNTIME):
        assert re.fullmatch(r"python:3\.11-slim(-\w+)?", s.base), s.base
    # compilers stay in the build stages
    runtime_runs = " ".join(i.args for i in RUNTIME.all("RUN"))
    assert "build-essential" not in runtime_runs and "gcc" not in runtime_runs
    copies = RUNTIME.all("COPY")
    assert {i.flags.get("from") for i in copies} == {"venv", "build"}, "only artefacts"


def test_a_source_change_rebuilds_only_small_layers() -> None:
    """Dependencies are installed before the source is copied, and the runtime stage takes
    them in their own layer: a code-only release reuses the ~400 MB venv layer."""
    deps_copies = " ".join(i.args for i in DEPS.all("COPY"))
    assert "src" not in deps_copies.split() and "README.md" not in deps_copies
    assert "--deps-only" in setup_run(DEPS)
    first = RUNTIME.all("COPY")[0]
    assert first.flags.get("from") == "venv" and first.args.split()[0] == "/app/.venv"
    assert "touch -h -d @0" in " ".join(i.args for i in BUILD.all("RUN"))


def test_install_is_the_readme_setup_script() -> None:
    """Image and laptop cannot drift: the same script with an option it really has."""
    script = (ROOT / SETUP).read_text(encoding="utf-8")
    for stage in INSTALL:
        run = setup_run(stage)
        options = re.findall(rf"{re.escape(SETUP)}((?:\s+--[\w-]+)*)", run)[0].split()
        for opt in options:
            assert re.search(rf"^\s*{re.escape(opt)}\)", script, flags=re.MULTILINE), (
                f"{SETUP} has no option {opt}"
            )
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "scripts/setup.sh" in readme
    assert "docker build -f deploy/Dockerfile" in readme
    # the weights are derived at build time into the folder the runtime stage points at
    assert DEPS.env()["HANVOICE_CACHE_DIR"] == RUNTIME.env()["HANVOICE_CACHE_DIR"]
    assert "hanvoice voices" in script, "setup.sh derives the graphs (so the image bakes them)"


def test_every_copied_file_is_in_the_build_context() -> None:
    context_copies = [c for s in STAGES for c in s.all("COPY") if "from" not in c.flags]
    assert len(context_copies) >= 4
    for copy in context_copies:
        *sources, _dest = copy.args.split()
        for src in (s.rstrip("/") for s in sources):
            path = ROOT / src
            assert path.exists(), f"COPY {src}: no such file in the repository"
            assert not IGNORE.excluded(src), f"COPY {src}: excluded by .dockerignore"
            if path.is_dir():
                kept = [f for f in IGNORE.context_files(ROOT) if f.startswith(f"{src}/")]
                assert kept, f"COPY {src}: .dockerignore leaves it empty"


@pytest.mark.parametrize(
    ("path", "excluded"),
    [
        (".venv", True),
        (".venv/bin/python", True),
        (".git", True),
        (".git/HEAD", True),
        ("tests/conftest.py", True),
        ("deploy/k8s/base/deployment.yaml", True),
        ("bench/results/emotion_report.json", True),
        ("src/hanvoice/__pycache__/cli.cpython-311.pyc", True),
        ("src/hanvoice.egg-info/PKG-INFO", True),
        (".env", True),
        ("pyproject.toml", False),
        ("constraints.txt", False),
        ("README.md", False),
        ("scripts/setup.sh", False),
        ("src/hanvoice/cli.py", False),
        ("src/hanvoice/data/emotions.yaml", False),
        ("deploy/wheelhouse/numpy-2.4.6-cp311-cp311-manylinux_2_28_x86_64.whl", False),
        ("deploy/image-prune.txt", False),
        ("deploy/Dockerfile", True),
        ("deploy/regions.yaml", True),
    ],
)
def test_dockerignore(path: str, excluded: bool) -> None:
    assert IGNORE.excluded(path) is excluded


def test_context_is_small() -> None:
    files = IGNORE.context_files(ROOT)
    allowed = ("src/", "scripts/setup.sh", "deploy/wheelhouse/", "deploy/image-prune.txt")
    assert all(f.startswith(allowed) or "/" not in f for f in files)
    assert not [f for f in files if f.endswith((".pyc", ".wav"))]


def test_runtime_runs_as_non_root_and_drains_on_sigterm() -> None:
    users = RUNTIME.all("USER")
    assert users, "no USER in the runtime stage"
    user = users[-1].args.split(":")[0]
    assert user not in ("root", "0")
    assert user.isdigit(), "a numeric USER lets Kubernetes check runAsNonRoot"
    deployment = (DEPLOY / "k8s" / "base" / "deployment.yaml").read_text(encoding="utf-8")
    assert f"runAsUser: {user}" in deployment
    entry = RUNTIME.all("ENTRYPOINT")[-1].exec_form()
    assert entry is not None, "ENTRYPOINT must be exec form so signals reach the process"
    assert entry[0].endswith("tini") and entry[-1] == "hanvoice"
    assert RUNTIME.all("STOPSIGNAL")[-1].args == "SIGTERM"
    cmd = RUNTIME.all("CMD")[-1].exec_form()
    assert cmd is not None and cmd[0] == "serve"
    assert "tini" in " ".join(i.args for i in RUNTIME.all("RUN"))


def test_healthcheck_probes_health() -> None:
    check = RUNTIME.all("HEALTHCHECK")
    assert len(check) == 1
    assert "/health" in check[0].args
    assert check[0].flags.get("start-period"), "give the voice time to load"
    form = check[0].args.split("CMD", 1)[1].strip()
    assert form.startswith("["), "exec-form HEALTHCHECK (no shell in the probe)"


def test_self_test_runs_without_network_as_the_service_user() -> None:
    runs = RUNTIME.instructions
    user_at = max(i for i, x in enumerate(runs) if x.keyword == "USER")
    selftests = [
        (i, x) for i, x in enumerate(runs) if x.keyword == "RUN" and "hanvoice synth" in x.args
    ]
    assert selftests, "no build-time self-test"
    index, run = selftests[0]
    assert index > user_at
    assert run.flags.get("network") == "none"


# ---- the emulated image -----------------------------------------------------------------


def _map(text: str, app: Path) -> str:
    """An instruction's text with the image's /app replaced by the emulation's folder."""
    return re.sub(r"(?<![\w/])/app(?=[/\s:\"']|$)", str(app), text)


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The build stage, emulated: context -> COPY -> the setup RUN (network allowed, as in
    ``docker build``). Returns the folder that stands for /app in the runtime stage."""
    # readable by `nobody` (the runtime user of the emulation), so not pytest's 0700 tmp
    root = Path(tempfile.mkdtemp(prefix="hanvoice-image-"))
    root.chmod(0o755)
    try:
        context = root / "context"
        for rel in IGNORE.context_files(ROOT):
            (context / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, context / rel)
        app = root / "app"
        workdir = DEPS.all("WORKDIR")[-1].args
        assert workdir == "/app"
        app.mkdir()
        env = {k: _map(v, app) for k, v in {**DEPS.args(), **DEPS.env()}.items()}
        # Keep this machine's pip cache (the image build sets PIP_NO_CACHE_DIR to keep
        # layers small; here it would only download everything again).
        env.pop("PIP_NO_CACHE_DIR", None)
        # The image's interpreter is a system one (/usr/local/bin/python3.11 of the base
        # image) that any user can run; here the equivalent is Debian's, not a pyenv build
        # under /root, which the unprivileged runtime user could not even reach.
        if not Path(SYSTEM_PYTHON).exists():
            pytest.fail(f"emulating the image needs Debian's {SYSTEM_PYTHON} (python3.11-venv)")
        env["PYTHON"] = SYSTEM_PYTHON
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("HANVOICE_")}, **env}
        for stage in INSTALL:  # each stage's COPYs from the context, then its setup RUN
            _copy_context(stage, context, app)
            result = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", _map(setup_run(stage), app)],
                cwd=app,
                env=env,
                capture_output=True,
                text=True,
                timeout=1500,
            )
            out = "\n".join(
                line
                for line in (result.stdout + result.stderr).splitlines()
                if "is ignored: it is neither a file nor a directory" not in line
            )
            assert result.returncode == 0, f"the {stage.name} stage's setup failed:\n{out[-4000:]}"
        yield app
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _copy_context(stage: Stage, context: Path, app: Path) -> None:
    for copy in stage.all("COPY"):
        *sources, dest = copy.args.split()
        if not dest.startswith("/"):  # relative to WORKDIR (/app); /tmp files are not emulated
            for src in sources:
                target = app / dest
                if (context / src).is_dir():
                    shutil.copytree(context / src, target, dirs_exist_ok=True)
                else:
                    if dest.endswith("/"):
                        target = target / Path(src).name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(context / src, target)


def _runtime_env(app: Path) -> dict[str, str]:
    env = {k: _map(v, app) for k, v in RUNTIME.env().items()}
    env["PATH"] = env["PATH"].replace("$PATH", "/usr/local/bin:/usr/bin:/bin")
    env["HANVOICE_BUILD"] = "emulated"
    return env


def _as_service_user(script: str) -> list[str]:
    """Run ``script`` with no network (a fresh namespace, only loopback) as nobody."""
    return [
        "unshare", "--net", "--", "bash", "-c",
        "ip link set lo up 2>/dev/null || true; exec setpriv --reuid=65534 --regid=65534 "
        f"--clear-groups -- bash -euo pipefail -c {_quote(script)}",
    ]  # fmt: skip


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _tree_state(app: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime for p in app.rglob("*") if ".venv" not in p.parts}


@pytest.mark.slow
def test_emulated_image_self_test_runs_offline_and_read_only(image: Path) -> None:
    if shutil.which("unshare") is None or shutil.which("setpriv") is None:
        pytest.fail("util-linux unshare/setpriv are needed to emulate the image")
    models = image / "models"
    assert any(models.rglob("encoder.tflite")), "derived graphs were not baked at build time"
    before = _tree_state(image)
    run = next(i for i in RUNTIME.all("RUN") if "hanvoice synth" in i.args)
    result = subprocess.run(
        _as_service_user(_map(run.args, image)),
        env={**RUNTIME.args(), **_runtime_env(image)},  # a RUN sees the stage's ARGs
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert _tree_state(image) == before, "the self-test changed files of the image"


@pytest.mark.slow
def test_emulated_image_serves_and_passes_its_healthcheck(image: Path) -> None:
    cmd = RUNTIME.all("CMD")[-1].exec_form()
    entry = RUNTIME.all("ENTRYPOINT")[-1].exec_form()
    assert cmd and entry
    health = RUNTIME.all("HEALTHCHECK")[-1].args.split("CMD", 1)[1].strip()
    probe = " ".join(_quote(a) for a in json.loads(health))
    serve = " ".join(_quote(a) for a in [entry[-1], *cmd])
    script = (
        "log=$(mktemp)\n"
        f"{serve} > $log 2>&1 & pid=$!\n"
        "for i in $(seq 1 240); do\n"
        f"  if {probe}; then echo HEALTHY; break; fi\n"
        "  kill -0 $pid 2>/dev/null || { cat $log; exit 3; }\n"
        "  sleep 0.5\n"
        "done\n"
        "kill -TERM $pid; rc=0; wait $pid || rc=$?; echo EXIT=$rc; tail -20 $log\n"
    )
    result = subprocess.run(
        _as_service_user(script),
        env=_runtime_env(image),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "HEALTHY" in result.stdout, result.stdout + result.stderr
    # uvicorn re-raises SIGTERM after its graceful shutdown, so 143 (128 + 15) is clean too
    assert re.search(r"^EXIT=(0|143)$", result.stdout, flags=re.MULTILINE), result.stdout
    assert "draining" in result.stdout, "SIGTERM should start the service's drain"
    assert "Finished server process" in result.stdout, "and the server should finish"
