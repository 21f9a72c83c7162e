"""Province extracts of the boundary files (PROVENANCE 1b, 1d): GeoJSON copies of one province's rows of a
GeoPackage that is already imported. They add nothing to the store: the import checks that they hold
exactly the same communes, attributes and shapes as the GeoPackage they were cut from (and as the
territories the store took from it). Any difference is an import error: one of the two files is not what
PROVENANCE.md says.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from mindit_lib.codes import normalize_refnis
from mindit_lib.sources.base import SourceError

#: code and French name columns of each layout
LAYOUTS = {"CD_MUNTY_REFNIS": ("TX_MUNTY_DESCR_FR", "CD_PROV_REFNIS"), "nis": ("name_fr", "prov_nis")}
#: shapes may differ by float noise and by Polygon vs one-part MultiPolygon; not by more than this (degrees)
TOLERANCE_DEGREES = 1e-9


def _read(path: Path, layer: str | None = None) -> gpd.GeoDataFrame:
    if not path.is_file():
        raise SourceError(f"{path}: file not found. Check `paths.source_dir` in mindit.toml.")
    try:
        return gpd.read_file(path, layer=layer) if layer else gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types
        raise SourceError(f"{path}: cannot be read as a GeoJSON/GeoPackage layer ({exc}).") from None


def _same(a: pd.Series, b: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
        x, y = a.to_numpy(dtype="float64"), b.to_numpy(dtype="float64")
        return np.isclose(x, y, rtol=1e-12, atol=0) | (np.isnan(x) & np.isnan(y))
    x, y = a.astype("string"), b.astype("string")
    return ((x == y) | (x.isna() & y.isna())).fillna(False).to_numpy(dtype=bool)


def compare(extract: gpd.GeoDataFrame, full: gpd.GeoDataFrame, path: Path, reference: Path) -> list[str]:
    """Differences between a province extract and its GeoPackage (empty list: identical).

    Parameters
    ----------
    extract, full : GeoDataFrame
        The extract and the GeoPackage's ``municipalities`` layer.
    path, reference : Path
        Their files, for the messages.

    Returns
    -------
    list of str
        Missing or extra communes, columns, attribute values and shapes that differ (each names the commune).
    """
    code_col = next((c for c in LAYOUTS if c in extract.columns), None)
    if code_col is None or code_col not in full.columns:
        return [f"{path}: no commune code column ({' or '.join(LAYOUTS)})."]
    name_col, prov_col = LAYOUTS[code_col]
    problems = []
    columns = [c for c in full.columns if c != "geometry"]
    missing_cols = sorted(set(columns) - set(extract.columns))
    extra_cols = sorted(set(extract.columns) - set(full.columns))
    if missing_cols or extra_cols:
        problems.append(f"columns differ: missing {missing_cols}, extra {extra_cols}")
    codes = extract[code_col].map(normalize_refnis)
    full = full.assign(_code=full[code_col].map(normalize_refnis)).set_index("_code")
    if codes.duplicated().any():
        problems.append(f"commune(s) given twice: {sorted(set(codes[codes.duplicated()]))}")
    provinces = set(extract[prov_col].dropna().map(normalize_refnis))
    expected = set(full.index[full[prov_col].notna() & full[prov_col].map(
        lambda v: normalize_refnis(v) if pd.notna(v) else None).isin(provinces)])
    if set(codes) != expected:
        problems.append(f"communes differ from province {sorted(provinces)} in {reference.name}: missing "
                        f"{sorted(expected - set(codes))}, extra {sorted(set(codes) - expected)}")
    both = codes[codes.isin(full.index)]
    ext, ref = extract.loc[both.index].reset_index(drop=True), full.loc[both.to_numpy()].reset_index(drop=True)
    for col in (c for c in columns if c in extract.columns):
        diff = ~_same(ext[col], ref[col])
        if diff.any():
            i = int(diff.argmax())
            problems.append(f"{col} differs for {int(diff.sum())} commune(s), e.g. {both.iloc[i]}: "
                            f"{ext[col].iloc[i]!r} here, {ref[col].iloc[i]!r} in {reference.name}")
    distance = shapely.hausdorff_distance(ext.geometry.to_numpy(), ref.geometry.to_numpy())
    far = ~(distance <= TOLERANCE_DEGREES)
    if far.any():
        i = int(far.argmax())
        problems.append(f"shapes differ for {int(far.sum())} commune(s), e.g. {both.iloc[i]} "
                        f"({ext[name_col].iloc[i]}) by {distance[i]:.2g}°")
    return problems


def read(path: Path, ctx) -> dict[str, pd.DataFrame]:
    """Check a province extract against the GeoPackage it was cut from and against the store.

    Returns
    -------
    dict
        ``boundary_check``: one row per commune found identical (code, dataset compared with, number of
        attribute columns compared).

    Raises
    ------
    SourceError
        Any difference (all listed), or the GeoPackage's dataset not imported yet.
    """
    path = Path(path)
    ds = ctx.catalogue.dataset(ctx.dataset_id)
    if not ds.verifies or ctx.source_dir is None:
        raise SourceError(f"dataset {ctx.dataset_id}: catalogue entry lacks `verifies` (the dataset it copies).")
    reference = ctx.source_dir / ctx.catalogue.dataset(ds.verifies).mirror_path
    extract, full = _read(path), _read(reference, "municipalities")
    problems = compare(extract, full, path, reference)
    code_col = next(c for c in LAYOUTS if c in extract.columns)
    codes = extract[code_col].map(normalize_refnis)
    if ctx.store is not None:
        problems += _compare_with_store(ctx.store, ds.verifies, extract, codes)
    if problems:
        raise SourceError(f"{path}: not the same as the province's rows of {reference.name} (dataset "
                          f"{ds.verifies}): " + "; ".join(problems) + ". One of the two files is damaged or "
                          "from another release: download both again.")
    return {"boundary_check": pd.DataFrame({"refnis": codes.to_numpy(), "against_dataset": ds.verifies,
                                            "columns_compared": len(extract.columns) - 1})}


def _compare_with_store(store, dataset: str, extract: gpd.GeoDataFrame, codes: pd.Series) -> list[str]:
    """The store's shapes of ``dataset`` must be those of the extract; its 2011 names those of the file."""
    stored = store.query("SELECT refnis, wkb FROM geometry WHERE dataset = ? AND level = 5", [dataset])
    if stored.empty:
        return [f"dataset {dataset} is not imported yet (import it first: `mindit import --dataset {dataset}`)"]
    shapes = dict(zip(stored["refnis"], shapely.from_wkb(stored["wkb"].map(bytes).to_numpy()), strict=True))
    absent = sorted(set(codes) - set(shapes))
    if absent:
        return [f"commune(s) {absent} have no shape of {dataset} in the store"]
    # the store keeps shapes made valid (shapely.make_valid), so they are compared by area, not vertex by vertex
    mine = shapely.area(extract.geometry.to_numpy())
    theirs = shapely.area(np.array([shapes[c] for c in codes]))
    off = ~np.isclose(mine, theirs, rtol=1e-9)
    problems = [f"the store's {dataset} shape of {codes.iloc[int(off.argmax())]} has another area"] if off.any() else []
    if "TX_MUNTY_DESCR_FR" in extract.columns:
        names = store.query("SELECT refnis, name_fr FROM territory WHERE dataset = ?", [dataset])
        names = dict(zip(names["refnis"], names["name_fr"], strict=True))
        wrong = [c for c, n in zip(codes, extract["TX_MUNTY_DESCR_FR"], strict=True) if names.get(c) != n]
        if wrong:
            problems.append(f"the store's names of {wrong[:5]} differ from the file's TX_MUNTY_DESCR_FR")
    return problems
