"""Locator map on the real Statbel 2011 boundaries of the province of Liège.

The boundary files come from the source mirror: ``$MINDIT_SOURCE_DIR`` if set, else ``<repo>/../shared/data``.
If they are missing the tests fail (they are part of what CI must have), they do not skip.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from mindit_lib import charts, maps

REPO_ROOT = Path(__file__).resolve().parent.parent
PROVINCE = 60000
ARRONDISSEMENTS = {"61000", "62000", "63000", "64000"}
AMAY = "61003"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _boundaries_dir() -> Path:
    root = Path(os.environ.get("MINDIT_SOURCE_DIR") or REPO_ROOT.parent / "shared" / "data")
    folder = root / "boundaries"
    assert folder.is_dir(), f"boundary files not found in {folder} (set MINDIT_SOURCE_DIR to the source mirror)"
    return folder


@pytest.fixture(scope="module")
def raw() -> dict[str, gpd.GeoDataFrame]:
    folder = _boundaries_dir()
    communes = gpd.read_file(folder / "statbel_2011_municipalities_liege_province_wgs84.geojson")
    communes = communes.assign(refnis=communes["CD_MUNTY_REFNIS"].astype(str).str.zfill(5),
                               name=communes["TX_MUNTY_DESCR_FR"])
    gpkg = folder / "statbel_2011_admin_be_wgs84.gpkg"
    arrondissements = gpd.read_file(gpkg, layer="arrondissements")
    arrondissements = arrondissements[arrondissements["CD_PROV_REFNIS"] == PROVINCE]
    arrondissements = arrondissements.assign(refnis=arrondissements["CD_DSTR_REFNIS"].astype(str),
                                             name=arrondissements["TX_ADM_DSTR_DESCR_FR"])
    province = gpd.read_file(gpkg, layer="provinces")
    province = province[province["CD_PROV_REFNIS"] == PROVINCE]
    province = province.assign(refnis=province["CD_PROV_REFNIS"].astype(str), name=province["TX_PROV_DESCR_FR"])
    return {"communes": communes, "arrondissements": arrondissements, "province": province}


@pytest.fixture(scope="module")
def simple(raw) -> dict[str, gpd.GeoDataFrame]:
    return {key: maps.simplify_for_display(frame) for key, frame in raw.items()}


def test_source_files_are_the_expected_ones(raw):
    assert len(raw["communes"]) == 84
    assert set(raw["arrondissements"]["refnis"]) == ARRONDISSEMENTS
    assert len(raw["province"]) == 1
    assert raw["communes"].crs.to_epsg() == 4326


def test_simplify_reduces_vertices_and_keeps_valid_shapes(raw, simple):
    for key, frame in raw.items():
        out = simple[key]
        before = shapely.get_num_coordinates(frame.geometry.values).sum()
        after = shapely.get_num_coordinates(out.geometry.values).sum()
        print(f"{key}: {before} → {after} vertices")
        assert after < before / 2
        assert out.crs.to_epsg() == 4326
        assert len(out) == len(frame)
        assert out.geometry.is_valid.all()
        assert not out.geometry.is_empty.any()
        assert set(out.geometry.geom_type) <= {"Polygon", "MultiPolygon"}
        assert list(out["refnis"]) == list(frame["refnis"])
    # shapes barely move: areas within 1 % (computed in Lambert 72)
    area_before = raw["communes"].to_crs(maps.METRIC_CRS).area.to_numpy()
    area_after = simple["communes"].to_crs(maps.METRIC_CRS).area.to_numpy()
    assert abs(area_after / area_before - 1).max() < 0.01


def test_simplify_requires_a_crs(raw):
    with pytest.raises(ValueError, match="CRS"):
        maps.simplify_for_display(raw["province"].set_crs(None, allow_override=True))


def test_locator_map_spec(simple):
    chart = maps.locator_map(simple["communes"], simple["arrondissements"], simple["province"], AMAY,
                             title="Amay dans la province de Liège")
    spec = chart.to_dict()
    layers = spec["layer"]
    shapes = [layer for layer in layers if layer["mark"]["type"] == "geoshape"]
    communes, arrondissements, chosen, province = shapes
    assert len(communes["data"]["values"]) == 84
    assert communes["mark"]["fill"] == maps.COMMUNE_FILL and communes["mark"]["stroke"] == "#ffffff"
    assert len(arrondissements["data"]["values"]) == 4
    assert arrondissements["mark"]["filled"] is False
    assert arrondissements["mark"]["strokeWidth"] > communes["mark"]["strokeWidth"]
    assert [f["properties"]["refnis"] for f in chosen["data"]["values"]] == [AMAY]
    assert chosen["mark"]["fill"] == charts.HIGHLIGHT
    assert [f["properties"]["refnis"] for f in province["data"]["values"]] == ["60000"]
    labels = [layer for layer in layers if layer["mark"]["type"] == "text"]
    label_rows = [row for layer in labels for row in spec["datasets"][layer["data"]["name"]]]
    assert {row["label"] for row in label_rows} == {"Amay"}
    assert spec["projection"]["type"] == "mercator"
    assert spec["width"] == 420 and 250 < spec["height"] < 420  # the province is wider than tall
    assert "axis" not in str(spec["layer"])
    assert spec["usermeta"]["mindit"] == {"refnis": AMAY, "communes": 84}


def test_locator_map_renders(simple):
    chart = maps.locator_map(simple["communes"], simple["arrondissements"], simple["province"], 63087,
                             title="Burg-Reuland dans la province de Liège")
    start = time.perf_counter()
    svg = charts.to_svg(chart)
    print(f"map to SVG in {time.perf_counter() - start:.2f} s, {len(svg) // 1024} KiB")
    assert "Burg-Reuland dans la province de Liège" in svg
    assert charts.HIGHLIGHT in svg.lower()
    png = charts.to_png(chart)
    assert png.startswith(PNG_SIGNATURE) and len(png) > 10_000


def test_locator_map_unknown_commune(simple):
    with pytest.raises(ValueError, match="21004 is not among the 84 communes"):
        maps.locator_map(simple["communes"], simple["arrondissements"], simple["province"], "21004", title="x")
    with pytest.raises(ValueError, match="refnis"):
        maps.locator_map(simple["communes"].drop(columns="refnis"), simple["arrondissements"],
                         simple["province"], AMAY, title="x")


def test_fast_spec_draws_the_same_map_as_the_altair_chart(simple):
    """The batch path (named datasets attached to the spec) renders exactly what locator_map renders."""
    from mindit_lib.charts import to_svg
    from mindit_lib.maps import locator_base, locator_map, locator_map_spec

    base = locator_base(simple["communes"], simple["arrondissements"], simple["province"])
    spec = locator_map_spec(base, "63013", title="Bütgenbach")
    assert set(spec["datasets"]) >= {"mindit_communes", "mindit_arrondissements", "mindit_province"}
    assert len(spec["datasets"]["mindit_communes"]) == 84
    assert to_svg(spec) == to_svg(locator_map(base, refnis="63013", title="Bütgenbach"))
