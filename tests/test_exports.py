"""`mindit export`: a commune's figures and its parents' with metadata, in xlsx, csv, geojson and parquet."""

from __future__ import annotations

import json

import openpyxl
import pandas as pd
import pyarrow.parquet as pq
import shapely
from shapely.geometry import shape

from mindit_lib.cli import main


def _export(config, tmp_path, name, *extra):
    out = tmp_path / name
    code = main(["export", "--store", str(config.store_path), "--out", str(out), *extra])
    return code, out


def _population_2026(frame):
    row = frame[(frame["refnis"] == "62063") & (frame["indicator_id"] == "POPULATION_BY_COMMUNE")
                & (frame["period"].astype(str) == "2026")]
    assert len(row) == 1
    return row.iloc[0]


def _check_rows(frame):
    row = _population_2026(frame)
    assert float(row["value"]) == 198102
    assert row["label_fr"] == "Population" and row["unit"] == "habitants"
    assert row["reference_date"] == "au 1er janvier 2026" and row["status"] == "final"
    assert row["territory"] == "Liège" and row["level"] == "commune"
    # parents where they have values: Wallonia only 2009–2015 for the population, never a 0 for 2026
    pop = frame[frame["indicator_id"] == "POPULATION_BY_COMMUNE"]
    assert set(pop["refnis"]) == {"62063", "62000", "60000", "03000"}
    wallonia = pop[pop["refnis"] == "03000"]
    assert sorted(wallonia["period"].astype(int)) == list(range(2009, 2016))
    assert (wallonia["territory"] == "Région wallonne").all()
    assert "POPULATION_SEX_AGE" not in set(frame["indicator_id"])


def _check_metadata(meta):
    pop = next(i for i in meta["indicators"] if i["id"] == "POPULATION_BY_COMMUNE")
    assert "Statbel" in pop["sources"] and pop["sources"].startswith("Source : ")
    assert pop["unit"] == "habitants" and pop["reference_date_rule"] == "january_1"
    assert len(meta["store_checksum"]) >= 12 and meta["export_date"]


def test_csv_for_excel_users(config, tmp_path, figures):
    code, out = _export(config, tmp_path, "liege.csv", "--commune", "62063", "--format", "csv", "--decimal-comma")
    assert code == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    header = raw[3:].decode("utf-8").splitlines()[0]
    assert header == "refnis;territory;level;indicator_id;label_fr;unit;period;reference_date;value;status"
    frame = pd.read_csv(out, sep=";", dtype=str, encoding="utf-8-sig", keep_default_na=False)
    _check_rows(frame)
    assert _population_2026(frame)["value"] == "198102"
    density = frame[(frame["refnis"] == "62063") & (frame["indicator_id"] == "DENSITY") & (frame["period"] == "2026")]
    assert density["value"].tolist() == ["2854,8"]
    assert (frame["refnis"].str.len() == 5).all() and "03000" in set(frame["refnis"])
    meta = json.loads((tmp_path / "liege.csv.metadata.json").read_text(encoding="utf-8"))
    _check_metadata(meta)
    assert meta["url"] == "liege.csv" and meta["dialect"]["delimiter"] == ";"
    columns = {c["name"]: c for c in meta["tableSchema"]["columns"]}
    assert columns["refnis"]["datatype"] == "string" and columns["value"]["datatype"]["decimalChar"] == ","
    assert any("Statbel" in s for s in meta["dc:source"])
    assert meta["store_checksum"] == figures.checksum


def test_csv_with_a_decimal_point_by_default(config, tmp_path):
    code, out = _export(config, tmp_path, "d.csv", "--commune", "Liège", "--indicator", "DENSITY", "--no-with-parents")
    assert code == 0
    frame = pd.read_csv(out, sep=";", dtype=str, encoding="utf-8-sig")
    assert set(frame["refnis"]) == {"62063"} and set(frame["indicator_id"]) == {"DENSITY"}
    assert frame.loc[frame["period"] == "2026", "value"].tolist() == ["2854.8"]


def test_xlsx_has_data_and_metadata_sheets(config, tmp_path):
    code, out = _export(config, tmp_path, "liege.xlsx", "--commune", "Luik", "--format", "xlsx")
    assert code == 0 and not (tmp_path / "liege.xlsx.metadata.json").exists()
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["Données", "Métadonnées"]
    frame = pd.read_excel(out, sheet_name="Données", dtype={"refnis": str})
    _check_rows(frame)
    codes = [c.value for c in book["Données"]["A"][1:]]
    assert all(isinstance(c, str) and len(c) == 5 for c in codes) and "03000" in codes
    meta = pd.read_excel(out, sheet_name="Métadonnées")
    assert {"id", "label_fr", "label_de", "definition_fr", "unit", "decimals", "polarity", "reference_date_rule",
            "formula", "method_note_fr", "sources", "export_date", "store_checksum"} <= set(meta.columns)
    _check_metadata({"indicators": meta.to_dict("records"), "store_checksum": meta["store_checksum"].iloc[0],
                     "export_date": meta["export_date"].iloc[0]})
    assert meta["id"].is_unique and set(meta["id"]) == set(frame["indicator_id"])


def test_parquet_keeps_types_and_metadata(config, tmp_path):
    code, out = _export(config, tmp_path, "liege.parquet", "--commune", "62063")  # format from the suffix
    assert code == 0
    table = pq.read_table(out)
    frame = table.to_pandas()
    _check_rows(frame)
    assert str(table.schema.field("refnis").type) in ("string", "large_string")
    assert str(table.schema.field("period").type) == "int64"
    _check_metadata(json.loads(table.schema.metadata[b"mindit"]))
    _check_metadata(json.loads((tmp_path / "liege.parquet.metadata.json").read_text(encoding="utf-8")))


def test_geojson_is_one_commune_feature_with_latest_values(config, tmp_path):
    code, out = _export(config, tmp_path, "liege.geojson", "--commune", "62063", "--format", "geojson")
    assert code == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection" and len(data["features"]) == 1
    feature = data["features"][0]
    geom = shape(feature["geometry"])
    assert geom.geom_type in ("Polygon", "MultiPolygon") and shapely.is_valid(geom) and not geom.is_empty
    minx, miny, maxx, maxy = geom.bounds
    assert 5.4 < minx < maxx < 5.8 and 50.5 < miny < maxy < 50.8  # Liège, WGS84
    props = feature["properties"]
    assert props["refnis"] == "62063" and props["name"] == "Liège"
    assert props["POPULATION_BY_COMMUNE"] == 198102 and props["POPULATION_BY_COMMUNE_year"] == 2026
    assert props["DENSITY"] == 2854.8
    _check_metadata(json.loads((tmp_path / "liege.geojson.metadata.json").read_text(encoding="utf-8")))


def test_missing_value_is_empty_with_its_status_never_zero(config, tmp_path):
    # Amblève (63001): 2025 building permits not published; the province then has no 2025 total
    code, out = _export(config, tmp_path, "ambleve.csv", "--commune", "63001", "--indicator",
                        "PERMITS_RES_NEW_BUILDINGS")
    assert code == 0
    frame = pd.read_csv(out, sep=";", dtype=str, encoding="utf-8-sig", keep_default_na=False)
    row = frame[(frame["refnis"] == "63001") & (frame["period"] == "2025")]
    assert row["value"].tolist() == [""] and row["status"].tolist() == ["not_published"]
    assert frame[(frame["refnis"] == "60000") & (frame["period"] == "2025")].empty
    assert (frame.loc[frame["value"] != "", "status"].isin(["final", "provisional"])).all()
    xlsx = tmp_path / "ambleve.xlsx"
    assert main(["export", "--store", str(config.store_path), "--out", str(xlsx), "--commune", "63001",
                 "--indicator", "PERMITS_RES_NEW_BUILDINGS"]) == 0
    sheet = pd.read_excel(xlsx, sheet_name="Données", dtype={"refnis": str})
    cell = sheet[(sheet["refnis"] == "63001") & (sheet["period"] == 2025)]
    assert cell["value"].isna().all() and cell["status"].tolist() == ["not_published"]


def test_default_path_under_the_output_folder(config, tmp_path, monkeypatch):
    monkeypatch.setenv("MINDIT_OUTPUT", str(tmp_path / "out"))
    assert main(["export", "--store", str(config.store_path), "--commune", "62063", "--format", "csv",
                 "--indicator", "POPULATION_BY_COMMUNE"]) == 0
    files = sorted(p.name for p in (tmp_path / "out" / "exports").iterdir())
    assert len(files) == 2 and files[0].startswith("62063_liege_") and files[0].endswith(".csv")
    assert files[1] == files[0] + ".metadata.json"


def test_errors_exit_2_and_write_nothing(config, tmp_path, capsys):
    cases = [
        (["--commune", "62063", "--indicator", "NO_SUCH_INDICATOR", "--format", "csv"], "unknown indicator"),
        (["--commune", "Nowhereville", "--format", "csv"], "no territory named"),
        (["--commune", "62063", "--format", "shp"], "unknown export format"),
        (["--commune", "60000", "--format", "csv"], "not a commune"),
        (["--commune", "62063", "--indicator", "POPULATION_SEX_AGE", "--format", "csv"], "dimensions"),
    ]
    for args, message in cases:
        out = tmp_path / "x" / "export.csv"
        assert main(["export", "--store", str(config.store_path), "--out", str(out), *args]) == 2, args
        err = capsys.readouterr().err
        assert err.startswith("mindit: error: ") and message in err, (args, err)
        assert not out.parent.exists() or not any(out.parent.iterdir()), args
