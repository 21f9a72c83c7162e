#!/usr/bin/env bash
# Set up Mind it on a fresh Debian 12 machine: system packages (headless Chromium for the PDFs, fonts,
# poppler), a virtual environment in .venv, and the package with its dependencies (pyproject.toml).
# Idempotent: a second run installs nothing new.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(chromium poppler-utils fonts-dejavu-core fonts-liberation2 libpango-1.0-0 libpangoft2-1.0-0)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.mindit-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing Python packages (pyproject.toml)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[dev]"
  touch "$stamp"
fi
# Register the kernel the report notebooks run on, inside the venv (no user-wide state).
.venv/bin/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (Mind it)" >/dev/null
echo "setup: ready (.venv)"
