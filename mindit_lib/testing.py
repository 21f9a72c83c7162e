"""Test helpers shipped with the library (after geopandas.testing): locate the mirror, build stores."""

from __future__ import annotations

import os
from pathlib import Path

from mindit_lib.config import REPO_ROOT, Config


def source_dir() -> Path:
    """The mirror of official files: ``$MINDIT_SOURCE_DIR`` or ``<repo>/../shared/data``.

    Raises
    ------
    FileNotFoundError
        When the mirror is missing — tests that need it must fail, never skip.
    """
    path = Path(os.environ.get("MINDIT_SOURCE_DIR", REPO_ROOT.parent / "shared" / "data")).resolve()
    if not (path / "PROVENANCE.md").is_file():
        raise FileNotFoundError(f"the data mirror is missing at {path} (no PROVENANCE.md); set MINDIT_SOURCE_DIR")
    return path


def make_config(tmp: Path, *, source: Path | None = None, province: str = "60000") -> Config:
    """A :class:`Config` whose store and outputs live under ``tmp``."""
    return Config(province=province, source_dir=source or source_dir(), store_path=tmp / "mindit.duckdb",
                  output_dir=tmp / "reports", hub_dir=tmp / "hub", private_dir=tmp / "private")


def link_mirror(source: Path, target: Path) -> Path:
    """A mirror at ``target`` made of links to every file of ``source`` (read-only data stays where it is; a test
    replaces the links of the files it changes). Returns ``target``."""
    for src in Path(source).rglob("*"):
        if src.is_file():
            dst = target / src.relative_to(source)
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.symlink_to(src)
    return target


def write_text(path: Path, text: str, encoding: str = "utf-8") -> Path:
    """Write a fixture file (creating folders) and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path
