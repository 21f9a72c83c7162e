"""Derived indicators of the catalogue (issue 3, item 3) against values recomputed by hand from the raw files,
and the ready-to-cite source line (item 1) against the store's import runs."""

from __future__ import annotations

from collections import defaultdict

import pandas as pd
import pytest

from mindit_lib.indicators.catalogue import Catalogue, CatalogueError
from mindit_lib.profile import growth_values, sum_values
from tests.conftest import read_csv_rows

LIEGE = "62063"


@pytest.fixture(scope="module")
def compiled_population(data_dir) -> dict[str, dict[tuple[str, int], float]]:
    """indicator → (refnis, year) → value, from the raw compiled population file (csv module only)."""
    out: dict[str, dict[tuple[str, int], float]] = defaultdict(dict)
    for r in read_csv_rows(data_dir / "compiled" / "population_observations.csv"):
        out[r["indicator_id"]][(r["geo_id"][-5:], int(r["period"]))] = float(r["value"])
    return out


def test_dependency_ratio_of_liege_2026_equals_the_raw_file(figures, compiled_population):
    young = compiled_population["POPULATION_AGE_0_14"][(LIEGE, 2026)]
    old = compiled_population["POPULATION_AGE_65_PLUS"][(LIEGE, 2026)]
    working = compiled_population["POPULATION_AGE_15_64"][(LIEGE, 2026)]
    value, year, status = figures.value("DEPENDENCY_RATIO", LIEGE, 2026)
    assert (year, status) == (2026, "final")
    assert value == pytest.approx(100 * (young + old) / working, abs=1e-9)
    assert round(value, 1) == 50.6


def test_dependency_ratio_of_the_province_is_a_ratio_of_sums(figures, compiled_population):
    def total(ind):
        return sum(v for (code, year), v in compiled_population[ind].items() if year == 2026)

    expected = 100 * (total("POPULATION_AGE_0_14") + total("POPULATION_AGE_65_PLUS")) / total("POPULATION_AGE_15_64")
    assert figures.value("DEPENDENCY_RATIO", "60000", 2026)[0] == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(("indicator", "lag"), [("POPULATION_GROWTH_1Y", 1), ("POPULATION_GROWTH_5Y", 5),
                                                ("POPULATION_GROWTH_10Y", 10)])
def test_population_growth_of_liege_and_province_2026_equals_the_raw_file(figures, compiled_population,
                                                                          indicator, lag):
    pop = compiled_population["POPULATION_BY_COMMUNE"]
    expected = 100 * (pop[(LIEGE, 2026)] / pop[(LIEGE, 2026 - lag)] - 1)
    assert figures.value(indicator, LIEGE, 2026)[0] == pytest.approx(expected, abs=1e-9)
    province_now = sum(v for (_, y), v in pop.items() if y == 2026)
    province_then = sum(v for (_, y), v in pop.items() if y == 2026 - lag)
    assert figures.value(indicator, "60000", 2026)[0] == pytest.approx(100 * (province_now / province_then - 1),
                                                                       abs=1e-9)


def test_ten_year_growth_2019_spans_both_population_sources(figures, data_dir, compiled_population):
    rows = read_csv_rows(data_dir / "statbel" / "TF_SOC_POP_STRUCT_2009_2015_be_by_munty_sex_age.csv.gz")
    liege_2009 = sum(float(r["MS_POPULATION"]) for r in rows if r["CD_REFNIS"] == LIEGE and r["CD_YEAR"] == "2009")
    liege_2019 = compiled_population["POPULATION_BY_COMMUNE"][(LIEGE, 2019)]
    assert figures.value("POPULATION_GROWTH_10Y", LIEGE, 2019)[0] == pytest.approx(
        100 * (liege_2019 / liege_2009 - 1), abs=1e-9)
    assert figures.value("POPULATION_GROWTH_10Y", LIEGE, 2018)[0] is None  # 2008 is not in the mirror


def test_income_per_declaration_of_liege_2013_equals_statbel_file(figures, data_dir):
    import csv
    import gzip

    with gzip.open(data_dir / "statbel" / "TF_PSNL_INC_TAX_MUNTY_2005_2013.txt.gz", "rt", encoding="utf-8-sig",
                   newline="") as fh:
        row = next(r for r in csv.DictReader(fh, delimiter="|")
                   if r["CD_MUNTY_REFNIS"] == LIEGE and r["CD_YEAR"] == "2013")
    income = float(row["MS_TOT_NET_TAXABLE_INC"])
    declarations = int(row["MS_NBR_NON_ZERO_INC"]) + int(row["MS_NBR_ZERO_INC"])
    assert figures.value("INCOME_PER_DECLARATION", LIEGE, 2013)[0] == pytest.approx(income / declarations,
                                                                                     abs=1e-6)
    assert figures.value("INCOME_PER_NON_ZERO_DECLARATION", LIEGE, 2013)[0] == pytest.approx(
        income / int(row["MS_NBR_NON_ZERO_INC"]), abs=1e-6)
    # the zero-income count ends in 2013: no value after, never a value over the non-zero count alone
    assert figures.value("INCOME_PER_DECLARATION", LIEGE, 2023)[0] is None


def test_income_per_non_zero_declaration_of_liege_2023_equals_the_compiled_file(figures, data_dir):
    rows = read_csv_rows(data_dir / "compiled" / "fiscal_income_observations.csv")
    raw = {r["indicator_id"]: float(r["value"]) for r in rows
           if r["geo_id"] == f"be:mun:{LIEGE}" and r["period"] == "2023"}
    expected = raw["FISCAL_TOT_NET_TAXABLE_INC"] / raw["FISCAL_NBR_NON_ZERO_INC"]
    assert figures.value("INCOME_PER_NON_ZERO_DECLARATION", LIEGE, 2023)[0] == pytest.approx(expected, abs=1e-6)


def test_a_rate_published_alone_gets_no_parent_value(figures):
    """The administrative unemployment rate has no numerator and denominator in the mirror: communes only."""
    rates = figures.values("ADMIN_UNEMPLOYMENT_RATE_COM")
    assert len(rates) == 84 and set(rates["refnis"].str[-3:]) != {"000"}
    levels = {t.refnis: t.level for t in figures.territories}
    assert {levels[c] for c in rates["refnis"]} == {5}
    for ind in figures.catalogue.indicators.values():
        # a base indicator expressed as a rate or per-inhabitant value is never summed to parents
        if ind.kind == "base" and (ind.unit == "%" or " par " in ind.unit or " pour " in ind.unit):
            assert ind.aggregation is None, ind.id


def test_census_unemployment_rate_has_parents_from_its_counts(figures, data_dir):
    """A rate whose numerator and denominator are in the mirror does get parent values (ratio of sums)."""
    rows = read_csv_rows(data_dir / "compiled" / "census2021_observations.csv")
    unemployed = sum(float(r["value"]) for r in rows if r["indicator_id"] == "CAS_UNEMPLOYED")
    labour = sum(float(r["value"]) for r in rows if r["indicator_id"] == "CAS_LABOUR_FORCE")
    assert figures.value("CENSUS_UNEMPLOYMENT_RATE", "60000")[0] == pytest.approx(100 * unemployed / labour,
                                                                                   abs=1e-9)


def test_sum_and_growth_of_an_unpublished_part_are_unpublished():
    a = pd.DataFrame({"refnis": ["x", "x"], "period": [2025, 2026], "value": [10.0, None],
                      "status": ["final", "confidential"]})
    b = pd.DataFrame({"refnis": ["x", "x"], "period": [2025, 2026], "value": [5.0, 6.0],
                      "status": ["provisional", "final"]})
    total = sum_values([a, b]).set_index("period")
    assert total.loc[2025, "value"] == 15 and total.loc[2025, "status"] == "provisional"
    assert pd.isna(total.loc[2026, "value"]) and total.loc[2026, "status"] == "confidential"
    growth = growth_values(a, 1).set_index("period")
    assert list(growth.index) == [2026]
    assert pd.isna(growth.loc[2026, "value"]) and growth.loc[2026, "status"] == "confidential"
    assert growth_values(b, 1).set_index("period").loc[2026, "value"] == pytest.approx(20.0)


def test_catalogue_refuses_malformed_derived_indicators():
    base = {"label_fr": "x", "definition_fr": "x", "unit": "u", "unit_short": "u", "decimals": 0,
            "polarity": "neutral", "frequency": "annuelle", "reference_date_rule": "fixed"}
    with pytest.raises(CatalogueError, match="needs `of`"):
        Catalogue({"indicators": {"A": base, "G": {**base, "kind": "growth", "of": "A"}}})
    with pytest.raises(CatalogueError, match="unknown indicator B"):
        Catalogue({"indicators": {"A": base, "S": {**base, "kind": "sum", "parts": ["A", "B"]}}})
    with pytest.raises(CatalogueError, match="unknown kind 'mean'"):
        Catalogue({"indicators": {"A": {**base, "kind": "mean"}}})


def test_citation_names_the_dataset_of_each_period_and_its_import_day(figures):
    runs = figures.store.latest_imports().set_index("dataset")["finished"]
    from mindit_lib.formatting import format_date

    line = figures.citation("POPULATION_BY_COMMUNE", [2026], [LIEGE])
    compiled = figures.catalogue.dataset("compiled_population")
    assert line == (f"Source : Population, au 1er janvier 2026 — Statbel, {compiled.title_fr}, licence : "
                    f"{compiled.licence}, consulté le {format_date(runs['compiled_population'].date())}.")
    older = figures.citation("POPULATION_BY_COMMUNE", [2010], [LIEGE])
    assert "2009–2015" in older and "2016–2026" not in older
    # a ratio cites both parts; income of year Y uses the residents of 1 January Y + 1 (2014 → 2015 file)
    income = figures.citation("INCOME_PER_INHABITANT", [2014], [LIEGE])
    assert "Revenus fiscaux par commune" in income and "(2009–2015)" in income and "2016–2026" not in income
    assert figures.citation("DENSITY", [2026]).count("consulté le") == 2


def test_export_metadata_uses_the_same_citation(figures):
    from mindit_lib.exports import commune_of, indicator_metadata

    commune = commune_of(figures, LIEGE)
    meta = indicator_metadata(figures, figures.catalogue.indicator("BUILT_UP_SHARE"), commune)
    assert meta["sources"] == figures.citation("BUILT_UP_SHARE", territories=[LIEGE, "62000", "60000", "03000"],
                                               url=True)
    assert "consulté le" in meta["sources"] and "https://" in meta["sources"]
