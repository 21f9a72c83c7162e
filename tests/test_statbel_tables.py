"""Statbel tables of the mirror (PROVENANCE 3b–3f): figures against the raw files, levels and periods never
counted twice."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mindit_lib.sources import building_permits, building_stock, establishment_units, households, land_use
from mindit_lib.sources.base import SourceError
from mindit_lib.store import Store
from mindit_lib.testing import write_text
from tests.conftest import read_csv_rows

STATBEL = "statbel"
LAND_USE = "TF_EAE_LAND_OCCUPTN_1983_2015_liege_province.csv.gz"
PERMITS = "building_permits_1996_2026_municipalities_be.csv.gz"
STOCK = "building_stock_2025_be.csv.gz"
HOUSEHOLDS = "private_households_by_type_size_589munty_be.csv"
UNITS = "establishment_units_q4_2018_2023_municipalities_be.csv"


@pytest.fixture(scope="module")
def raw(data_dir):
    """Raw rows of each file, read with the csv/gzip modules only (cached per module)."""
    cache: dict[str, list[dict[str, str]]] = {}

    def rows(name: str) -> list[dict[str, str]]:
        if name not in cache:
            cache[name] = read_csv_rows(data_dir / STATBEL / name)
        return cache[name]

    return rows


# --- land use ------------------------------------------------------------------------------------------

def test_land_use_total_area_liege_2015_is_the_sum_of_the_level_0_rows(raw, figures):
    rows = [r for r in raw(LAND_USE) if r["CD_REFNIS"] == "62063" and r["CD_YEAR"] == "2015"]
    assert {r["CD_RUB_LVL_0"] for r in rows} == {"6TOT"}
    expected = sum(float(r["MS_TOT_SUR"]) for r in rows)
    value, period, status = figures.value("LAND_TOTAL_AREA_HA", "62063", 2015)
    assert (period, status) == (2015, "final")
    assert value == pytest.approx(expected, abs=1e-6)
    assert round(value) == 6939  # Liège: 69.4 km²
    built = sum(float(r["MS_TOT_SUR"]) for r in rows if r["CD_RUB_LVL_2"] == "2TOT")
    assert figures.value("LAND_BUILT_UP_AREA_HA", "62063", 2015)[0] == pytest.approx(built, abs=1e-6)
    parcels = sum(int(r["MS_NUM_PRCL"]) for r in rows)
    assert figures.value("LAND_PARCELS", "62063", 2015)[0] == parcels
    share = figures.value("BUILT_UP_SHARE", "62063", 2015)[0]
    assert share == pytest.approx(100 * built / expected)


def test_land_use_years_as_in_the_file(raw, figures):
    years = {int(r["CD_YEAR"]) for r in raw(LAND_USE)}
    assert not years & {1992, 2003, 2006}
    frame = figures.values("LAND_TOTAL_AREA_HA")
    assert set(frame.loc[frame["refnis"] == "62063", "period"]) == years


def test_land_use_subtotal_rows_are_not_added(tmp_path):
    header = "CD_YEAR,CD_REFNIS,CD_RUB_LVL_3,CD_RUB_LVL_2,CD_RUB_LVL_1,CD_RUB_LVL_0,MS_NUM_PRCL,MS_TOT_SUR"
    rows = ["2015,62063,1AE,1TOT,4TOT,6TOT,10,100", "2015,62063,2C,2TOT,4TOT,6TOT,20,30",
            "2015,62063,2TOT,2TOT,4TOT,6TOT,20,30",        # subtotal of 2TOT
            "2015,62063,4TOT,4TOT,4TOT,6TOT,30,130",       # subtotal of the cadastral area
            "2015,62063,6TOT,6TOT,6TOT,6TOT,30,150",       # grand total
            "2015,62063,5TOT,5TOT,5TOT,6TOT,0,20"]         # a leaf: non-cadastral area
    path = write_text(tmp_path / "lu.csv", "\n".join([header, *rows]) + "\n")
    obs = land_use.read(path)["observation"].set_index("indicator_id")["value"]
    assert obs["LAND_TOTAL_AREA_HA"] == 150
    assert obs["LAND_BUILT_UP_AREA_HA"] == 30
    assert obs["LAND_PARCELS"] == 30


# --- building permits ----------------------------------------------------------------------------------

def test_permits_liege_2023_equal_the_annual_row(raw, figures):
    rows = [r for r in raw(PERMITS) if r["REFNIS"] == "62063" and r["CD_YEAR"] == "2023"]
    annual = [r for r in rows if r["CD_PERIOD"] == "0"]
    assert len(annual) == 1 and len(rows) == 13
    for column, ind in building_permits.MEASURES.items():
        value, period, status = figures.value(ind, "62063", 2023)
        assert (value, period, status) == (float(annual[0][column]), 2023, "final"), ind
    assert figures.value("PERMITS_RES_NEW_DWELLINGS", "62063", 2023)[0] == 277
    pop = figures.value("POPULATION_BY_COMMUNE", "62063", 2023)[0]
    per_1000 = figures.value("PERMITS_DWELLINGS_PER_1000_INHABITANTS", "62063", 2023)[0]
    assert per_1000 == pytest.approx(1000 * 277 / pop)


def test_permits_unpublished_2025_and_partial_2026(raw, figures):
    amel = [r for r in raw(PERMITS) if r["REFNIS"] == "63001" and r["CD_YEAR"] == "2025" and r["CD_PERIOD"] == "0"]
    assert amel[0]["MS_DWELLING_RES_NEW"] == ""
    assert figures.value("PERMITS_RES_NEW_DWELLINGS", "63001", 2025) == (None, 2025, "not_published")
    # 2026 has months only: no annual figure is made up from them
    assert figures.value("PERMITS_RES_NEW_DWELLINGS", "62063", 2026)[0] is None


def test_permits_province_sum_of_its_communes(raw, figures):
    communes = [r for r in raw(PERMITS) if r["CD_REFNIS_PROVINCE"] == "60000" and r["CD_YEAR"] == "2023"
                and r["CD_PERIOD"] == "0"]
    assert len(communes) == 84
    value, _, _ = figures.value("PERMITS_RES_NEW_DWELLINGS", "60000", 2023)
    assert value == sum(int(r["MS_DWELLING_RES_NEW"]) for r in communes)


PERMITS_HEADER = ("REFNIS,CD_YEAR,CD_PERIOD,MS_BUILDING_RES_NEW,MS_DWELLING_RES_NEW,MS_APARTMENT_RES_NEW,"
                  "MS_SINGLE_HOUSE_RES_NEW,MS_BUILDING_RES_RENOVATION,CD_REFNIS_LEVEL")


def test_permits_annual_row_only_once_with_months_and_higher_levels(tmp_path, config):
    rows = ["62063,2023,0,63,277,236,41,100,5"]
    rows += [f"62063,2023,{m},5,{20 + m},10,1,8,5" for m in range(1, 13)]
    rows += ["62063,2024,0,10,12,2,10,5,5", "62063,2024,1,10,12,2,10,5,5"]  # partial year: provisional
    province = "60000,2023,0,900,2500,1500,1000,3000,3"
    path = write_text(tmp_path / "permits.csv", "\n".join([PERMITS_HEADER, *rows, province]) + "\n")
    # a province row is never added to the communes: it is checked against them (here 1 of its 84 communes)
    with Store(config.store_path, read_only=True) as store, pytest.raises(
            SourceError, match=r"60000 Province de Liège \(year 2023, period 0, measure MS_BUILDING_RES_NEW\): "
                               r"official 900, recomputed 63 from 1 of its 84 communes"):
        building_permits.read(path, SimpleNamespace(store=store))
    path = write_text(tmp_path / "permits.csv", "\n".join([PERMITS_HEADER, *rows]) + "\n")
    obs = building_permits.read(path)["observation"]
    dwell = obs[obs["indicator_id"] == "PERMITS_RES_NEW_DWELLINGS"].set_index("period")
    assert list(obs["refnis"].unique()) == ["62063"]
    assert dwell.loc[2023, "value"] == 277 and dwell.loc[2023, "status"] == "final"
    assert dwell.loc[2024, "status"] == "provisional"
    assert len(obs) == 2 * len(building_permits.MEASURES)


def test_permits_missing_column_names_file_and_column(tmp_path):
    path = write_text(tmp_path / "permits.csv",
                      PERMITS_HEADER.replace("MS_DWELLING_RES_NEW", "MS_DWELLINGS") + "\n62063,2023,0,1,2,3,4,5,5\n")
    with pytest.raises(SourceError, match=r"permits\.csv: missing column\(s\) MS_DWELLING_RES_NEW"):
        building_permits.read(path)


# --- building stock ------------------------------------------------------------------------------------

def test_building_stock_butgenbach_sums_r1_to_r6(raw, figures):
    rows = [r for r in raw(STOCK) if r["CD_REFNIS"] == "63013" and r["CD_REFNIS_LVL"] == "5"]
    t1 = sum(float(r["MS_VALUE"]) for r in rows if r["CD_STAT_TYPE"] == "T1")
    t8 = sum(float(r["MS_VALUE"]) for r in rows if r["CD_STAT_TYPE"] == "T8")
    assert figures.value("BUILDING_STOCK_BUILDINGS", "63013", 2025) == (t1, 2025, "final")
    assert figures.value("BUILDING_STOCK_DWELLINGS", "63013", 2025) == (t8, 2025, "final")
    assert t1 == 3028


@pytest.mark.parametrize("stat,ind", [("T1", "BUILDING_STOCK_BUILDINGS"), ("T8", "BUILDING_STOCK_DWELLINGS")])
def test_building_stock_province_recomputed_equals_the_files_province_row(raw, figures, stat, ind):
    rows = [r for r in raw(STOCK) if r["CD_REFNIS"] == "60000" and r["CD_REFNIS_LVL"] == "3"
            and r["CD_STAT_TYPE"] == stat]
    assert len(rows) == 6
    value, period, _ = figures.value(ind, "60000", 2025)
    assert period == 2025
    assert value == sum(float(r["MS_VALUE"]) for r in rows)


def test_building_stock_keeps_level_5_only(tmp_path, config):
    header = "CD_YEAR,CD_REFNIS,CD_REFNIS_LVL,CD_STAT_TYPE,CD_BUILDING_TYPE,MS_VALUE"
    rows = []
    for code, level, n in [("62000", 4, 100), ("62063", 5, 10)]:
        rows += [f"2025,{code},{level},T1,R{k},{n}" for k in range(1, 7)]
        rows += [f"2025,{code},{level},T8,R{k},{2 * n}" for k in range(1, 7)]
        rows += [f"2025,{code},{level},T5,R1,{n}"]
    path = write_text(tmp_path / "stock.csv", "\n".join(header.split("\n") + rows[13:]) + "\n")
    obs = building_stock.read(path)["observation"].set_index("indicator_id")
    assert list(obs["refnis"].unique()) == ["62063"]
    assert obs.loc["BUILDING_STOCK_BUILDINGS", "value"] == 60
    assert obs.loc["BUILDING_STOCK_DWELLINGS", "value"] == 120
    assert str(obs.loc["BUILDING_STOCK_BUILDINGS", "reference_date"]) == "2025-01-01"
    # an arrondissement row is not added to the communes: it is checked against them (here 1 of 24 communes)
    path = write_text(tmp_path / "stock.csv", "\n".join([header, *rows]) + "\n")
    with Store(config.store_path, read_only=True) as store, pytest.raises(
            SourceError, match=r"stock\.csv: 13 official aggregate value\(s\) differ .* 62000 Arrondissement de "
                               r"Liège \(year 2025, stat T1, btype R1\): official 100, recomputed 10 from 1 of its 24"):
        building_stock.read(path, SimpleNamespace(store=store))


# --- private households --------------------------------------------------------------------------------

def test_households_liege_total_and_one_person(raw, figures):
    rows = [r for r in raw(HOUSEHOLDS) if r["CD_REFNIS"] == "62063"]
    total = [r for r in rows if not r["household_type_nl"] and not r["household_size_nl"]]
    assert float(total[0]["n_private_households"]) == 103060
    assert figures.value("PRIVATE_HOUSEHOLDS", "62063", 2011) == (103060.0, 2011, "final")
    one = sum(float(r["n_private_households"] or 0) for r in rows if r["household_size_nl"] == "1 persoon")
    assert figures.value("PRIVATE_HOUSEHOLDS_ONE_PERSON", "62063", 2011)[0] == one
    # the detail adds up to the total (so the total row is not counted with it)
    detail = sum(float(r["n_private_households"] or 0) for r in rows if r["household_type_nl"])
    assert detail == 103060


def test_households_codes_stay_strings(tmp_path):
    header = ("CD_REFNIS,municipality_nl,household_type_nl,household_size_nl,n_private_households")
    rows = ["01001,X,Huishouden zonder familiekern,1 persoon,5.0", "01001,X,,,12.0"]
    path = write_text(tmp_path / "h.csv", "\n".join([header, *rows]) + "\n")
    obs = households.read(path)["observation"].set_index("indicator_id")
    assert list(obs["refnis"]) == ["01001", "01001"]
    assert obs.loc["PRIVATE_HOUSEHOLDS", "value"] == 12
    assert obs.loc["PRIVATE_HOUSEHOLDS_ONE_PERSON", "value"] == 5


# --- establishment units -------------------------------------------------------------------------------

def test_establishment_units_liege_q4_2023(raw, figures):
    rows = [r for r in raw(UNITS) if r["CD_REFNIS"] == "62063" and r["quarter_nl"] == "4de kwartaal 2023"]
    assert len({r["n_establishment_units"] for r in rows}) == 1  # 2023 is in the file twice, identically
    expected = float(rows[0]["n_establishment_units"])
    assert figures.value("ESTABLISHMENT_UNITS", "62063", 2023) == (expected, 2023, "final")
    pop = figures.value("POPULATION_BY_COMMUNE", "62063", 2023)[0]
    assert figures.value("ESTABLISHMENT_UNITS_PER_1000_INHABITANTS", "62063", 2023)[0] == pytest.approx(
        1000 * expected / pop)
    frame = figures.values("ESTABLISHMENT_UNITS")
    assert set(frame.loc[frame["refnis"] == "62063", "period"]) == set(range(2018, 2024))


def test_establishment_units_skip_aggregates_and_refuse_conflicts(tmp_path):
    header = "CD_REFNIS,municipality_nl,region_nl,year,quarter_nl,n_establishment_units"
    rows = ["62063,Luik,Waals Gewest,2023,4de kwartaal 2023,20253.0",
            "62063,Luik,Waals Gewest,2023,4de kwartaal 2023,20253.0",
            ",,Onbepaalde locatie,2023,4de kwartaal 2023,9233.0"]
    path = write_text(tmp_path / "u.csv", "\n".join([header, *rows]) + "\n")
    obs = establishment_units.read(path)["observation"]
    assert list(obs["refnis"]) == ["62063"] and list(obs["value"]) == [20253]
    path = write_text(tmp_path / "u.csv", "\n".join([header, *rows, rows[0].replace("20253", "1")]) + "\n")
    with pytest.raises(SourceError, match="two different values"):
        establishment_units.read(path)


def test_statbel_tables_read_with_their_official_aggregates_checked(data_dir, config, figures):
    """Each real table reads with the store's hierarchy (its aggregate rows, where it has any, agree with its
    communes) and gives a value for each of the province's 84 communes. Speed is measured by
    benchmarks/imports.py, not here."""
    province = {t.refnis for t in figures.territories.communes_of("60000")}
    assert len(province) == 84
    with Store(config.store_path, read_only=True) as store:
        ctx = SimpleNamespace(store=store)  # the hierarchy the official aggregate rows are checked with
        for module, name in [(land_use, LAND_USE), (building_permits, PERMITS), (building_stock, STOCK),
                             (households, HOUSEHOLDS), (establishment_units, UNITS)]:
            obs = module.read(data_dir / STATBEL / name, ctx)["observation"]
            assert province <= set(obs["refnis"]), name
            assert not obs["refnis"].str.endswith("000").any(), name  # aggregates never become observations
