#!/usr/bin/env bash
# Rewrite constraints.txt from what is installed in .venv (run after adding a dependency).
set -euo pipefail
cd "$(dirname "$0")/.."
{
  echo "# Exact versions for every install (scripts/setup.sh uses pip -c). Regenerate with"
  echo "# scripts/freeze.sh after changing dependencies in pyproject.toml."
  .venv/bin/pip freeze --exclude-editable | grep -v '^-e' | sort -f
} > constraints.txt.new
mv constraints.txt.new constraints.txt
