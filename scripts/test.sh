#!/usr/bin/env bash
# Set up everything the tests need and run all of them: lint, types, unit and integration
# tests (real Redis, etcd, nginx and Chromium, started by the tests on free ports).
#   scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh
bash scripts/setup.sh --dev --voices
.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
