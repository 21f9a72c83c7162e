"""Compiled tidy series of catalogue.d/compiled_series.yml (PROVENANCE.md c3–c8), imported from the real mirror.

Commune values are checked against the raw CSV read here with the csv module; parent values against the
province totals PROVENANCE.md gives, and against the rule that rates and per-inhabitant values are never summed.
"""

from __future__ import annotations

import pytest

from mindit_lib.indicators import load_catalogue
from tests.conftest import read_csv_rows

PROVINCE = "60000"
FILES = {
    "compiled_census_2021": "compiled/census2021_observations.csv",
    "compiled_police_crime": "compiled/police_observations.csv",
    "compiled_house_sales": "compiled/realestate_observations.csv",
    "compiled_admin_unemployment": "compiled/var_unemployment_observations.csv",
    "compiled_walstat_finances": "compiled/walstat_observations.csv",
}


def raw_row(data_dir, dataset, indicator, refnis, period):
    rows = [r for r in read_csv_rows(data_dir / FILES[dataset])
            if r["indicator_id"] == indicator and r["geo_id"] == f"be:mun:{refnis}" and r["period"] == str(period)]
    assert len(rows) == 1, (indicator, refnis, period, len(rows))
    return rows[0]


def test_every_indicator_of_the_files_is_catalogued_for_its_dataset(data_dir):
    cat = load_catalogue()
    for dataset, path in FILES.items():
        assert cat.dataset(dataset).mirror_path == path
        assert cat.dataset(dataset).importer == "tidy_observations"
        in_file = {r["indicator_id"] for r in read_csv_rows(data_dir / path)}
        catalogued = {i.id for i in cat.indicators.values() if dataset in i.datasets}
        assert in_file == catalogued, dataset


def test_only_counts_and_euro_totals_are_summed():
    cat = load_catalogue()
    summed = {i.id for i in cat.indicators.values() if i.aggregation == "sum"
              and set(i.datasets) & set(FILES)}
    assert "HOUSE_SALES_TRANSACTIONS" in summed and "HOUSE_SALES_TOTAL_PRICE" in summed
    assert "CAS_LABOUR_FORCE" in summed and "DWELLINGS_TOTAL" in summed
    for ind in cat.indicators.values():
        if ind.unit.startswith("pour 10") or ind.unit in ("%", "euros par habitant"):
            assert ind.aggregation is None, ind.id
    assert cat.indicator("HOUSE_BURGLARIES_PER_10K").decimals == 2


@pytest.mark.parametrize("dataset, indicator, refnis, period, status, decimals", [
    ("compiled_census_2021", "CAS_UNEMPLOYED", "62063", 2021, "final", 0),
    ("compiled_census_2021", "DWELLINGS_VACANT", "63086", 2021, "final", 0),
    ("compiled_police_crime", "HOUSE_BURGLARIES_PER_10K", "62063", 2025, "provisional", 2),
    ("compiled_police_crime", "HOUSE_BURGLARIES_PER_10K", "62063", 2000, "final", 2),
    ("compiled_house_sales", "HOUSE_SALES_TRANSACTIONS", "62063", 2016, "final", 0),
    ("compiled_admin_unemployment", "ADMIN_UNEMPLOYMENT_RATE_COM", "63013", 2024, "final", 1),
    ("compiled_walstat_finances", "MUN_DEBT_TOTAL_PER_CAPITA", "62063", 2023, "final", 1),
])
def test_commune_value_equals_the_raw_file(figures, data_dir, dataset, indicator, refnis, period, status, decimals):
    raw = raw_row(data_dir, dataset, indicator, refnis, period)
    value, year, got_status = figures.value(indicator, refnis, period)
    assert year == period and got_status == status == raw["status"]
    assert round(value, decimals) == round(float(raw["value"]), decimals)


def test_known_values_from_provenance(figures):
    assert figures.value("MUN_DEBT_TOTAL_PER_CAPITA", "62063", 2023)[0] == pytest.approx(9955.8)
    assert round(figures.value("HOUSE_BURGLARIES_PER_10K", "62063", 2025)[0], 2) == 130.55
    assert figures.value("CAR_THEFT_PER_10K", "62063", 2025)[2] == "provisional"


def test_census_province_sums_equal_provenance(figures):
    expected = {"CAS_LABOUR_FORCE": 505_436, "CAS_EMPLOYED": 440_488, "CAS_UNEMPLOYED": 64_948,
                "DWELLINGS_TOTAL": 558_691, "DWELLINGS_VACANT": 69_213, "HOUSEHOLDS_PRIVATE": 497_921,
                "POP_FOREIGN_NATIONALS": 120_928}
    for indicator, total in expected.items():
        assert figures.value(indicator, PROVINCE, 2021) == (total, 2021, "final"), indicator


def test_rates_are_not_summed_but_census_ratios_are_rebuilt(figures):
    assert figures.value("ADMIN_UNEMPLOYMENT_RATE_COM", PROVINCE, 2024)[0] is None
    assert figures.value("HOUSE_BURGLARIES_PER_10K", PROVINCE, 2025)[0] is None
    assert figures.value("MUN_DEBT_TOTAL_PER_CAPITA", PROVINCE, 2023)[0] is None
    rate = figures.value("CENSUS_UNEMPLOYMENT_RATE", PROVINCE, 2021)[0]
    assert rate == pytest.approx(100 * 64_948 / 505_436) and round(rate, 2) == 12.85
    assert round(figures.value("SHARE_DWELLINGS_VACANT", PROVINCE, 2021)[0], 1) == 12.4
    assert round(figures.value("SHARE_DWELLINGS_VACANT", "63086", 2021)[0], 1) == 34.0
    # foreign nationals (census) over the register population on 1 January 2021
    assert figures.value("SHARE_FOREIGN_NATIONALS", PROVINCE, 2021)[0] == pytest.approx(100 * 120_928 / 1_109_067)
    assert round(figures.value("SHARE_FOREIGN_NATIONALS", "63061", 2021)[0], 1) == 48.2


def test_walstat_2024_lacks_modave_only(figures):
    have = figures.values("MUN_DEBT_TOTAL_PER_CAPITA")
    communes = {t.refnis for t in figures.territories.communes_of(PROVINCE)}
    in_2024 = set(have.loc[(have["period"] == 2024) & have["value"].notna(), "refnis"])
    assert in_2024 == communes - {"61041"} and len(in_2024) == 83
    assert figures.value("MUN_DEBT_TOTAL_PER_CAPITA", "61041", 2024)[0] is None
    assert figures.value("MUN_DEBT_TOTAL_PER_CAPITA", "61041", 2023)[0] is not None


def test_real_estate_gap_is_never_an_under_count(figures, data_dir):
    assert figures.value("HOUSE_SALES_TRANSACTIONS", "61081", 2010)[0] is None
    assert figures.value("HOUSE_SALES_TRANSACTIONS", PROVINCE, 2010)[0] is None
    assert figures.value("HOUSE_MEAN_PRICE", PROVINCE, 2010)[0] is None
    # 2016 is the only year with all 84 communes: the province sum is given, and equals the raw sum
    rows = [r for r in read_csv_rows(data_dir / FILES["compiled_house_sales"])
            if r["indicator_id"] == "HOUSE_SALES_TRANSACTIONS" and r["period"] == "2016"]
    assert len(rows) == 84
    assert figures.value("HOUSE_SALES_TRANSACTIONS", PROVINCE, 2016)[0] == sum(float(r["value"]) for r in rows)
    price = raw_row(data_dir, "compiled_house_sales", "HOUSE_SALES_TOTAL_PRICE", "62063", 2016)
    count = raw_row(data_dir, "compiled_house_sales", "HOUSE_SALES_TRANSACTIONS", "62063", 2016)
    assert figures.value("HOUSE_MEAN_PRICE", "62063", 2016)[0] == pytest.approx(
        float(price["value"]) / float(count["value"]))
