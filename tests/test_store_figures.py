"""The store against figures published independently of the file being read (PROVENANCE.md), and the
raw files read with the csv module only."""

from __future__ import annotations

import json

import pytest

from tests.conftest import read_csv_rows

PROVINCE_TOTALS_2009_2015 = {2009: 1_060_035, 2010: 1_067_685, 2011: 1_077_203, 2012: 1_083_400,
                             2013: 1_087_729, 2014: 1_091_734, 2015: 1_094_791}


def test_province_totals_2009_2015_equal_published_totals(figures):
    values = figures.values("POPULATION_BY_COMMUNE")
    prov = values[(values["refnis"] == "60000") & values["period"].between(2009, 2015)]
    assert dict(zip(prov["period"], prov["value"], strict=True)) == PROVINCE_TOTALS_2009_2015


def test_liege_2015_population(figures):
    assert figures.value("POPULATION_BY_COMMUNE", "62063", 2015)[0] == 195_968


def test_belgium_2015_population_recomputed_from_communes(figures):
    assert figures.value("POPULATION_BY_COMMUNE", "01000", 2015)[0] == 11_209_044


def test_population_2020_equals_2019_boundary_file(figures, data_dir):
    path = data_dir / "boundaries" / "bmesuere_2019_municipalities_liege_province_wgs84.geojson"
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    published = {f["properties"]["nis"].zfill(5) if isinstance(f["properties"]["nis"], str)
                 else str(f["properties"]["nis"]).zfill(5): f["properties"]["population"] for f in features}
    assert len(published) == 84
    values = figures.values("POPULATION_BY_COMMUNE")
    stored = values[values["period"] == 2020].set_index("refnis")["value"]
    for code, pop in published.items():
        assert stored[code] == pop, code


def test_liege_2016_2026_equals_compiled_file(figures, data_dir):
    rows = read_csv_rows(data_dir / "compiled" / "population_observations.csv")
    raw = {int(r["period"]): float(r["value"]) for r in rows
           if r["indicator_id"] == "POPULATION_BY_COMMUNE" and r["geo_id"] == "be:mun:62063"}
    assert raw[2026] == 198_102
    for year, value in raw.items():
        assert figures.value("POPULATION_BY_COMMUNE", "62063", year)[0] == value


def test_age_bands_add_up_to_total_every_commune_year(figures):
    total = figures.values("POPULATION_BY_COMMUNE").set_index(["refnis", "period"])["value"]
    bands = sum(figures.values(i).set_index(["refnis", "period"])["value"]
                for i in ("POPULATION_AGE_0_14", "POPULATION_AGE_15_64", "POPULATION_AGE_65_PLUS"))
    joined = total.to_frame("total").join(bands.rename("bands"), how="inner")
    assert len(joined) > 84 * 18
    assert (joined["total"] == joined["bands"]).all()


def test_fiscal_statbel_file_wins_where_both_sources_exist(figures, config, data_dir):
    """2005–2013: Statbel's own file; 2014–2023: the compiled series.

    PROVENANCE.md counts 6 differing values; reading both files we find 7, all Liège's net taxable income,
    each below 0.10 € (2005: 2 192 378 041 vs 2 192 378 040.95): the Statbel file rounds large totals.
    """
    from mindit_lib.store import Store

    statbel = {(r["CD_MUNTY_REFNIS"], int(r["CD_YEAR"])): float(r["MS_TOT_NET_TAXABLE_INC"])
               for r in _pipe_rows(data_dir / "statbel" / "TF_PSNL_INC_TAX_MUNTY_2005_2013.txt.gz")}
    compiled = {(r["geo_id"][-5:], int(r["period"])): float(r["value"])
                for r in read_csv_rows(data_dir / "compiled" / "fiscal_income_observations.csv")
                if r["indicator_id"] == "FISCAL_TOT_NET_TAXABLE_INC"}
    differing = [k for k in compiled if k in statbel and statbel[k] != compiled[k]]
    assert sorted(differing) == sorted(k for k in differing if k[0] == "62063")
    assert len(differing) == 7
    assert all(abs(statbel[k] - compiled[k]) < 0.1 for k in differing)
    with Store(config.store_path, read_only=True) as store:
        best = store.observations(["FISCAL_TOT_NET_TAXABLE_INC"], ["62063"]).set_index("period")
    for _, year in differing:
        assert best.loc[year, "value"] == statbel[("62063", year)]
        assert best.loc[year, "dataset"] == "statbel_fiscal_2005_2013"
    assert best.loc[2023, "dataset"] == "compiled_fiscal_income"
    assert best.loc[2023, "value"] == compiled[("62063", 2023)]


def test_income_per_inhabitant_uses_statbel_residents(figures, data_dir):
    rows = {(r["CD_MUNTY_REFNIS"], int(r["CD_YEAR"])): r
            for r in _pipe_rows(data_dir / "statbel" / "TF_PSNL_INC_TAX_MUNTY_2005_2013.txt.gz")}
    r = rows[("63013", 2013)]
    expected = float(r["MS_TOT_NET_TAXABLE_INC"]) / float(r["MS_TOT_RESIDENTS"])
    assert figures.value("INCOME_PER_INHABITANT", "63013", 2013)[0] == pytest.approx(expected, rel=1e-12)
    # 2023 income over the population on 1 January 2024
    inc = figures.value("FISCAL_TOT_NET_TAXABLE_INC", "63013", 2023)[0]
    pop = figures.value("POPULATION_BY_COMMUNE", "63013", 2024)[0]
    assert figures.value("INCOME_PER_INHABITANT", "63013", 2023)[0] == pytest.approx(inc / pop, rel=1e-12)


def test_density_uses_cadastral_area(figures, data_dir):
    import geopandas as gpd

    gdf = gpd.read_file(data_dir / "boundaries" / "statbel_2011_municipalities_liege_province_wgs84.geojson")
    area = float(gdf.loc[gdf["CD_MUNTY_REFNIS"] == "62063", "SURFACE_CAD_km2"].iloc[0])
    assert figures.value("DENSITY", "62063", 2026)[0] == pytest.approx(198_102 / area)


def test_wallonia_only_where_every_walloon_commune_is_covered(figures):
    values = figures.values("POPULATION_BY_COMMUNE")
    wal = values[values["refnis"] == "03000"]
    assert sorted(wal["period"]) == list(range(2009, 2016))


def test_every_province_commune_has_every_year(figures):
    values = figures.values("POPULATION_BY_COMMUNE")
    communes = [t.refnis for t in figures.territories.communes_of("60000")]
    assert len(communes) == 84
    sub = values[values["refnis"].isin(communes)]
    assert sub.groupby("refnis")["period"].nunique().eq(18).all()


def _pipe_rows(path):
    import csv
    import gzip

    with gzip.open(path, "rt", encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="|"))


def test_ratio_of_an_unpublished_part_is_unpublished_not_absent():
    import pandas as pd

    from mindit_lib.profile import ratio_values

    num = pd.DataFrame({"refnis": ["62063", "62063"], "period": [2025, 2026], "value": [30_000.0, None],
                        "status": ["final", "confidential"]})
    den = pd.DataFrame({"refnis": ["62063", "62063"], "period": [2025, 2026], "value": [197_323.0, None],
                        "status": ["final", "confidential"]})
    out = ratio_values(num, den, scale=100).set_index("period")
    assert out.loc[2025, "value"] == pytest.approx(100 * 30_000 / 197_323)
    assert out.loc[2026, "status"] == "confidential" and out["value"].isna()[2026]


def test_aggregates_need_every_commune_published():
    import pandas as pd

    from mindit_lib.profile import aggregate_counts

    membership = pd.DataFrame({"commune": ["a", "b", "a", "b"], "refnis": ["a", "b", "P", "P"]})
    obs = pd.DataFrame({"refnis": ["a", "b", "a", "b"], "period": [2025, 2025, 2026, 2026],
                        "value": [10.0, 5.0, 11.0, 7.0], "status": ["final", "provisional", "final", "confidential"]})
    out = aggregate_counts(obs, membership).set_index(["refnis", "period"])
    assert out.loc[("P", 2025), "value"] == 15 and out.loc[("P", 2025), "status"] == "provisional"
    assert ("P", 2026) not in out.index  # b's 2026 value was not published: no sum, never a partial one
    assert out.loc[("b", 2026), "status"] == "confidential" and pd.isna(out.loc[("b", 2026), "value"])
