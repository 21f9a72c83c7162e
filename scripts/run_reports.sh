#!/usr/bin/env bash
# The main job: set up, import the official files of the mirror, and build one PDF per commune.
# Extra arguments go to `mindit reports` (e.g. --commune 62063 --workers 2 --force).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/mindit import
.venv/bin/mindit reports "$@"
