#!/usr/bin/env bash
# Set up and run the whole test suite (lint included). CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check mindit_lib tests benchmarks
.venv/bin/python -m pytest -q "$@"
