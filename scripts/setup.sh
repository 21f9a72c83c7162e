#!/usr/bin/env bash
# Set up Mind it on a fresh Debian 12 machine: system packages (headless Chromium for the PDFs, fonts,
# poppler), a virtual environment in .venv, and the package with its dependencies (pyproject.toml).
# Idempotent: a second run installs nothing new.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(chromium poppler-utils fonts-dejavu-core fonts-liberation2 libpango-1.0-0 libpangoft2-1.0-0 python3-venv)
# Node.js runs JupyterHub's proxy: Debian 12's own nodejs (18) unless the machine already has one.
command -v node >/dev/null || APT_PACKAGES+=(nodejs)
command -v npm >/dev/null || APT_PACKAGES+=(npm)
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

# Debian's own Python by default: the hub runs each person's server under their own Unix account, which
# must be able to run the environment (a Python under /root, e.g. pyenv's, is not readable by them).
PYTHON="${PYTHON:-$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3 )}"
if [ -x .venv/bin/python ]; then
  base=$(readlink -f .venv/bin/python)
  if ! su nobody -s /bin/sh -c "test -x '$base'" 2>/dev/null && [ "$(id -u)" -eq 0 ]; then
    echo "setup: .venv uses $base, which other Unix accounts cannot run: rebuilding it with $PYTHON"
    rm -rf .venv
  fi
fi
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
# JupyterHub's proxy (configurable-http-proxy, version pinned in hub_config/package-lock.json).
if [ ! -x hub_config/node_modules/.bin/configurable-http-proxy ] || [ hub_config/package-lock.json -nt hub_config/node_modules ]; then
  echo "setup: installing the hub's proxy (npm ci in hub_config/)"
  npm ci --prefix hub_config --no-audit --no-fund --loglevel=error >/dev/null
  touch hub_config/node_modules
fi
# Register the kernel the report notebooks run on, inside the venv (no user-wide state).
.venv/bin/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (Mind it)" >/dev/null
echo "setup: ready (.venv)"
