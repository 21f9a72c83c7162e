"""environment.yml mirrors pyproject.toml (the single source of dependencies)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CONDA_NAMES = {"duckdb": "python-duckdb"}


def _norm(spec: str) -> tuple[str, str]:
    name, version = re.match(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*(.*)$", spec.strip()).groups()
    return name.lower().replace("_", "-"), version.replace(" ", "")


def drift(pyproject_text: str, environment_text: str) -> list[str]:
    """Differences between pyproject's dependencies (main + dev) and environment.yml's conda list."""
    project = tomllib.loads(pyproject_text)["project"]
    wanted = dict(_norm(s) for s in [*project["dependencies"], *project["optional-dependencies"]["dev"]])
    wanted = {CONDA_NAMES.get(k, k): v for k, v in wanted.items()}
    env = yaml.safe_load(environment_text)
    have = dict(_norm(d) for d in env["dependencies"] if isinstance(d, str) and not d.startswith(("python", "pip")))
    have.update({k: v for k, v in (_norm(d) for d in env["dependencies"] if isinstance(d, str)
                                   and d.startswith("python-"))})
    problems = [f"{k}{v} missing from environment.yml" for k, v in wanted.items() if k not in have]
    problems += [f"{k}: pyproject {wanted[k]!r} vs environment.yml {have[k]!r}" for k in wanted
                 if k in have and have[k] != wanted[k]]
    problems += [f"{k} in environment.yml but not in pyproject.toml" for k in have if k not in wanted]
    return problems


def test_environment_yml_matches_pyproject():
    assert drift((ROOT / "pyproject.toml").read_text(), (ROOT / "environment.yml").read_text()) == []


def test_drift_is_detected():
    env = (ROOT / "environment.yml").read_text()
    changed = env.replace("pandas>=3.0,<4", "pandas>=2.2").replace("  - tqdm>=4.66\n", "")
    problems = drift((ROOT / "pyproject.toml").read_text(), changed)
    assert "pandas: pyproject '>=3.0,<4' vs environment.yml '>=2.2'" in problems
    assert "tqdm>=4.66 missing from environment.yml" in problems


def test_environment_installs_the_package_with_pip():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip and "conda-forge" in env["channels"]
