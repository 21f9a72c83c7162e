"""Shared fixtures: one store imported from the real mirror for the whole session."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import pytest

from mindit_lib.importer import import_all
from mindit_lib.testing import make_config, source_dir


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The mirror of official files (fails when missing)."""
    return source_dir()


@pytest.fixture(scope="session")
def config(tmp_path_factory, data_dir):
    """A config whose store was imported from the real mirror."""
    cfg = make_config(tmp_path_factory.mktemp("store"), source=data_dir)
    outcomes = import_all(cfg)
    failed = [o for o in outcomes if o.status == "failed"]
    assert not failed, failed
    return cfg


@pytest.fixture(scope="session")
def figures(config):
    """Figures over the session store."""
    from mindit_lib.profile import figures as _figures

    return _figures(config)


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    """Rows of a (gzipped) CSV as dicts of strings, read with the csv module only."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))
