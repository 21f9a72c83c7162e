"""Locator map of a commune in its province, drawn with Altair from inline GeoJSON (no tiles, no network).

Shapes are simplified for display in a metric projection (Belgian Lambert 72) and drawn in
Mercator, which keeps Belgium's proportions at this scale. Like :mod:`mindit_lib.charts`, the
functions take frames and never query the store.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import altair as alt
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from mindit_lib.charts import FONT, HIGHLIGHT, TEXT_COLOUR, configure_fr
from mindit_lib.codes import normalize_refnis

__all__ = ["simplify_for_display", "locator_map", "DISPLAY_CRS", "METRIC_CRS"]

#: Drawing CRS (longitude/latitude, as GeoJSON expects).
DISPLAY_CRS = "EPSG:4326"
#: Belgian Lambert 72: metres, for simplification tolerances.
METRIC_CRS = "EPSG:31370"
#: Coordinates sent to Vega are rounded to 5 decimals (about 1 m): smaller specs, same drawing.
COORD_DECIMALS = 5

COMMUNE_FILL = "#dcdcdc"
COMMUNE_STROKE = "#ffffff"
ARRONDISSEMENT_STROKE = "#8c8c8c"
PROVINCE_STROKE = "#333333"


def _polygons_only(geoms: np.ndarray) -> np.ndarray:
    """Keep the polygonal part of each geometry (make_valid can add stray lines or points)."""
    out = []
    for geom in geoms:
        if geom is None or geom.is_empty or geom.geom_type in ("Polygon", "MultiPolygon"):
            out.append(geom)
            continue
        parts = [g for g in getattr(geom, "geoms", [geom]) if g.geom_type in ("Polygon", "MultiPolygon")]
        out.append(shapely.union_all(parts) if parts else shapely.Polygon())
    return np.array(out, dtype=object)


def simplify_for_display(gdf: gpd.GeoDataFrame, tolerance_m: float = 50) -> gpd.GeoDataFrame:
    """Validate, simplify in metres and return shapes in EPSG:4326 for drawing.

    Parameters
    ----------
    gdf : gpd.GeoDataFrame
        Polygons in any declared CRS.
    tolerance_m : float, default 50
        Douglas–Peucker tolerance in metres (in EPSG:31370). 50 m is invisible on a province map
        printed 16 cm wide (one pixel is about 250 m there) and removes most vertices.

    Returns
    -------
    gpd.GeoDataFrame
        A copy with valid, non-empty polygonal geometries in EPSG:4326 (other columns untouched).
        Each shape is simplified on its own, so neighbours may no longer share edges exactly;
        that is fine for drawing, not for analysis.

    Raises
    ------
    ValueError
        If the frame has no CRS, or a geometry becomes empty.
    """
    if gdf.crs is None:
        raise ValueError("simplify_for_display: the frame has no CRS; set it (e.g. gdf.set_crs('EPSG:4326')).")
    if tolerance_m < 0:
        raise ValueError(f"simplify_for_display: tolerance_m must be >= 0, got {tolerance_m}.")
    out = gdf.copy()
    out = out.set_geometry(_polygons_only(shapely.make_valid(out.geometry.values)), crs=gdf.crs)
    out = out.to_crs(METRIC_CRS)
    simplified = shapely.simplify(out.geometry.values, tolerance_m, preserve_topology=True)
    out = out.set_geometry(simplified, crs=METRIC_CRS).to_crs(DISPLAY_CRS)
    geoms = out.geometry.values
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():  # reprojection can leave tiny self-touches
        geoms = np.array(geoms, dtype=object)
        geoms[invalid] = _polygons_only(shapely.make_valid(geoms[invalid]))
        out = out.set_geometry(geoms, crs=DISPLAY_CRS)
    empty = out.geometry.is_empty | out.geometry.isna()
    if empty.any():
        raise ValueError(f"simplify_for_display: {int(empty.sum())} geometry(ies) became empty "
                         f"(tolerance {tolerance_m} m is too large for them).")
    return out


def _prepare(gdf: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    if "refnis" not in gdf.columns:
        raise ValueError(f"locator_map: {what} lacks the column 'refnis' (has {', '.join(map(str, gdf.columns))}).")
    if gdf.crs is None:
        raise ValueError(f"locator_map: {what} has no CRS (EPSG:4326 expected).")
    frame = gdf.to_crs(DISPLAY_CRS) if not gdf.crs.equals(DISPLAY_CRS) else gdf
    columns = ["refnis"] + (["name"] if "name" in frame.columns else [])
    frame = frame[columns + [frame.geometry.name]].copy()
    frame["refnis"] = frame["refnis"].map(normalize_refnis)
    if "name" in frame.columns:
        frame["name"] = frame["name"].astype("string").fillna("").astype(object)
    return frame


def _features(frame: gpd.GeoDataFrame) -> list[dict]:
    """GeoJSON features with rounded coordinates (inline data values for Vega)."""
    rounded = shapely.transform(frame.geometry.values, lambda xy: np.round(xy, COORD_DECIMALS))
    props = frame.drop(columns=frame.geometry.name)
    return [{"type": "Feature", "properties": dict(row), "geometry": shapely.geometry.mapping(geom)}
            for row, geom in zip(props.to_dict("records"), rounded, strict=True)]


def _layer(frame: gpd.GeoDataFrame | list[dict] | str, **mark) -> alt.Chart:
    """A geoshape layer over inline features, or over a named dataset when ``frame`` is its name."""
    if isinstance(frame, str):
        return alt.Chart(alt.NamedData(name=frame)).mark_geoshape(**mark)
    values = frame if isinstance(frame, list) else _features(frame)
    return alt.Chart(alt.Data(values=values)).mark_geoshape(**mark)


@dataclass(frozen=True)
class LocatorBase:
    """The parts of a locator map that do not depend on the chosen commune, prepared once per province
    (a batch draws the same province for every commune)."""

    communes: gpd.GeoDataFrame
    commune_features: list[dict]
    arrondissement_features: list[dict]
    province_features: list[dict]
    province_bounds: tuple[float, float, float, float]

    @property
    def datasets(self) -> dict[str, list[dict]]:
        """The shared layers as Vega-Lite named datasets (see :func:`locator_map_spec`)."""
        return {"mindit_communes": self.commune_features, "mindit_arrondissements": self.arrondissement_features,
                "mindit_province": self.province_features}


def locator_base(communes: gpd.GeoDataFrame, arrondissements: gpd.GeoDataFrame,
                 province: gpd.GeoDataFrame) -> LocatorBase:
    """Prepare the shared layers of :func:`locator_map` (same frames and checks as that function)."""
    communes = _prepare(communes, "communes")
    province = _prepare(province, "province")
    return LocatorBase(communes, _features(communes), _features(_prepare(arrondissements, "arrondissements")),
                       _features(province), tuple(province.total_bounds))


def _aspect(bounds: tuple[float, float, float, float]) -> float:
    """Height/width of a lon/lat box in Mercator."""
    minx, miny, maxx, maxy = bounds

    def merc(lat: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    return (merc(maxy) - merc(miny)) / max(math.radians(maxx - minx), 1e-9)


def locator_map(communes: gpd.GeoDataFrame | LocatorBase, arrondissements: gpd.GeoDataFrame | None = None,
                province: gpd.GeoDataFrame | None = None, refnis: str = "", *, title: str,
                width: int = 420, named_data: bool = False) -> alt.LayerChart:
    """Map locating one commune among the communes and arrondissements of its province.

    Parameters
    ----------
    communes : gpd.GeoDataFrame or LocatorBase
        The communes of the province, or a :func:`locator_base` prepared once (then the two next
        arguments are ``None``): ``refnis`` (5-character string, or anything
        :func:`mindit_lib.codes.normalize_refnis` accepts), optional ``name``, ``geometry``.
    arrondissements : gpd.GeoDataFrame
        The arrondissements of the province: ``refnis``, optional ``name``, ``geometry``.
    province : gpd.GeoDataFrame
        The province (one row, or several parts): ``refnis``, optional ``name``, ``geometry``.
    refnis : str
        Code of the commune to highlight.
    title : str
        Map title.
    width : int, default 420
        Width in pixels; the height follows the province's proportions.
    named_data : bool, default False
        Refer to the shared layers by name (``mindit_communes``…) instead of carrying them inline; the
        caller attaches ``LocatorBase.datasets`` (what :func:`locator_map_spec` does).

    Geometries should be in EPSG:4326 (others are reprojected) and simplified first with
    :func:`simplify_for_display`: the shapes travel inline in the spec.

    Returns
    -------
    alt.LayerChart
        Configured chart, Mercator projection fitted to the layers, no axes: communes in light grey
        with white borders, arrondissement boundaries thicker, the commune in :data:`charts.HIGHLIGHT`
        (labelled with its ``name`` when given), the province outlined.

    Raises
    ------
    ValueError
        If ``refnis`` is not among ``communes`` or a frame lacks ``refnis`` or a CRS.
    """
    code = normalize_refnis(refnis)
    base = communes if isinstance(communes, LocatorBase) else locator_base(communes, arrondissements, province)
    communes = base.communes
    chosen = communes[communes["refnis"] == code]
    if chosen.empty:
        sample = ", ".join(sorted(communes["refnis"])[:5])
        raise ValueError(f"locator_map: commune {code} is not among the {len(communes)} communes given "
                         f"(e.g. {sample}…).")

    shared = dict(base.datasets) if not named_data else {k: k for k in base.datasets}
    layers = [
        _layer(shared["mindit_communes"], fill=COMMUNE_FILL, stroke=COMMUNE_STROKE, strokeWidth=0.6),
        _layer(shared["mindit_arrondissements"], filled=False, stroke=ARRONDISSEMENT_STROKE, strokeWidth=1.3),
        _layer(chosen, fill=HIGHLIGHT, stroke=HIGHLIGHT, strokeWidth=0.8),
        _layer(shared["mindit_province"], filled=False, stroke=PROVINCE_STROKE, strokeWidth=1.6),
    ]
    if "name" in chosen.columns and chosen["name"].iloc[0]:
        shape = shapely.union_all(chosen.geometry.values)
        point = shape.representative_point()
        # Label beside the commune (outside its bounding box, on the side with more room), with a white halo.
        minx, _, maxx, _ = base.province_bounds
        c_minx, _, c_maxx, _ = shape.bounds
        right = point.x < (minx + maxx) / 2
        spot = pd.DataFrame({"lon": [c_maxx if right else c_minx], "lat": [point.y],
                             "label": [chosen["name"].iloc[0]]})
        text = {"align": "left" if right else "right", "dx": 5 if right else -5, "fontSize": 12,
                "fontWeight": "bold", "font": FONT}
        for halo in (True, False):
            extra = {"stroke": "white", "strokeWidth": 3, "strokeJoin": "round"} if halo else {}
            layers.append(alt.Chart(spot).mark_text(color=TEXT_COLOUR, **text, **extra).encode(
                longitude="lon:Q", latitude="lat:Q", text="label:N"))
    height = round(width * _aspect(base.province_bounds))
    chart = alt.layer(*layers).project(type="mercator").properties(
        title=alt.Title(text=title), width=width, height=height,
        usermeta={"mindit": {"refnis": code, "communes": len(communes)}})
    return configure_fr(chart)


def locator_map_spec(base: LocatorBase, refnis: str, *, title: str, width: int = 420) -> dict:
    """The Vega-Lite spec of :func:`locator_map` built fast for batches: the shared layers (about 3,000
    points) are attached as named datasets instead of being walked by Altair for every commune.

    Returns
    -------
    dict
        A complete spec, ready for :func:`mindit_lib.charts.to_svg`.
    """
    spec = locator_map(base, refnis=refnis, title=title, width=width, named_data=True).to_dict()
    spec["datasets"] = {**spec.get("datasets", {}), **base.datasets}
    return spec
