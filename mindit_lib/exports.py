"""Exports of a commune's figures (and its parents') with their metadata: xlsx, csv, geojson, parquet.

Every export carries its metadata beside the data: a "Métadonnées" sheet in xlsx, a JSON sidecar
``<file>.metadata.json`` otherwise (CSVW-style ``tableSchema`` for CSV). Values are rounded to the
catalogue's decimals; a missing or unpublished value is an empty cell (``null``) with its status, never 0.
Files are written to a temporary file in the target folder and moved in place, so a failed export leaves
nothing behind.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import pandas as pd

from mindit_lib.atomic_files import atomic_paths
from mindit_lib.indicators import Indicator
from mindit_lib.indicators.catalogue import CatalogueError
from mindit_lib.profile import PARENT_ROLES, Figures
from mindit_lib.territories import Territory

FORMATS = ("xlsx", "csv", "geojson", "parquet")
METADATA_SHEET = "Métadonnées"
DATA_SHEET = "Données"
GEOMETRY_SET = "statbel2011"

#: Columns of the tidy export and their description (CSVW ``tableSchema``, parquet sidecar).
COLUMNS = {
    "refnis": ("string", "Code REFNIS du territoire (texte, 5 caractères, zéros initiaux conservés)"),
    "territory": ("string", "Nom officiel du territoire"),
    "level": ("string", "Niveau : commune, arrondissement, province, region"),
    "indicator_id": ("string", "Identifiant de l'indicateur dans le catalogue Mind it"),
    "label_fr": ("string", "Libellé de l'indicateur"),
    "unit": ("string", "Unité"),
    "period": ("integer", "Année"),
    "reference_date": ("string", "Date de référence de la valeur"),
    "value": ("decimal", "Valeur, arrondie aux décimales du catalogue ; vide si non disponible"),
    "status": ("string", "final, provisional, confidential, not_published…"),
}

METADATA_FIELDS = ("id", "label_fr", "label_de", "definition_fr", "unit", "decimals", "polarity",
                   "reference_date_rule", "formula", "method_note_fr", "sources")


class ExportError(ValueError):
    """An export cannot be made (unknown commune, indicator or format, nothing to export)."""


def resolve_format(fmt: str | None, out: str | Path | None) -> str:
    """The export format: ``fmt``, else the suffix of ``out``; an unknown one is an :class:`ExportError`."""
    if fmt is None and out is not None and Path(out).suffix:
        fmt = Path(out).suffix.lstrip(".")
    if fmt is None:
        raise ExportError(f"give --format ({', '.join(FORMATS)}).")
    fmt = fmt.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}.")
    return fmt


def commune_of(figs: Figures, commune: object) -> Territory:
    """The commune named by code or any spelling (an arrondissement or province is refused)."""
    territory = figs.territories.get(commune, level=5)
    if territory.level != 5:
        raise ExportError(f"{territory.display_name} ({territory.refnis}) is a {territory.role}, not a commune.")
    return territory


def select_indicators(figs: Figures, commune: Territory, indicator_ids: Iterable[str] | None) -> list[Indicator]:
    """The indicators asked for (checked), or every indicator without dimensions that the commune has."""
    catalogue = figs.catalogue
    if indicator_ids:
        chosen = []
        for ind_id in dict.fromkeys(indicator_ids):
            try:
                ind = catalogue.indicator(ind_id)
            except CatalogueError as exc:
                raise ExportError(exc.args[0]) from None
            if ind.dimensions:
                raise ExportError(f"indicator {ind_id} has dimensions ({', '.join(ind.dimensions)}); it cannot "
                                  "be exported as one value per territory and year.")
            chosen.append(ind)
        return chosen
    return [ind for ind in catalogue.indicators.values()
            if not ind.dimensions and (figs.values(ind.id)["refnis"] == commune.refnis).any()]


def export_rows(figs: Figures, commune: Territory, indicators: list[Indicator], *,
                with_parents: bool = True) -> pd.DataFrame:
    """Tidy rows: ``refnis, territory, level, indicator_id, label_fr, unit, period, reference_date, value,
    status`` for the commune (then its arrondissement, province and region where they have values)."""
    territories = [commune]
    if with_parents:
        territories += [a for a in figs.territories.ancestors(commune.refnis) if a.role in PARENT_ROLES]
    order = {t.refnis: i for i, t in enumerate(territories)}
    parts = []
    for rank, ind in enumerate(indicators):
        frame = figs.values(ind.id)
        frame = frame[frame["refnis"].isin(order)].copy()
        if frame.empty:
            continue
        frame["value"] = frame["value"].astype("float64").round(ind.decimals)
        frame["indicator_id"] = ind.id
        frame["label_fr"] = ind.label_fr
        frame["unit"] = ind.unit
        frame["reference_date"] = [ind.reference_date_text(int(p)) for p in frame["period"]]
        frame["_i"] = rank
        parts.append(frame)
    columns = list(COLUMNS)
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="float64" if c == "value" else "int64" if c == "period"
                                          else "str") for c in columns})
    out = pd.concat(parts, ignore_index=True)
    by_code = {t.refnis: t for t in territories}
    out["territory"] = out["refnis"].map(lambda c: by_code[c].display_name)
    out["level"] = out["refnis"].map(lambda c: by_code[c].role)
    out["_t"] = out["refnis"].map(order)
    out = out.sort_values(["_i", "_t", "period"]).reset_index(drop=True)
    out["period"] = out["period"].astype("int64")
    out["refnis"] = out["refnis"].astype("str")
    return out[columns]


def export_territories(figs: Figures, commune: Territory) -> list[str]:
    """REFNIS codes of what an export shows: the commune, then its arrondissement, province and region."""
    return [commune.refnis, *(a.refnis for a in figs.territories.ancestors(commune.refnis) if a.role in PARENT_ROLES)]


def indicator_metadata(figs: Figures, ind: Indicator, commune: Territory | None = None) -> dict[str, object]:
    """One indicator's metadata row (catalogue fields and the ready-to-cite sources: the datasets that gave the
    exported values, with licence, official location and import day — the same line as the reports)."""
    territories = export_territories(figs, commune) if commune is not None else None
    return {"id": ind.id, "label_fr": ind.label_fr, "label_de": ind.label_de, "definition_fr": ind.definition_fr,
            "unit": ind.unit, "decimals": ind.decimals, "polarity": ind.polarity,
            "reference_date_rule": ind.reference_date_rule, "formula": ind.formula,
            "method_note_fr": ind.method_note_fr,
            "sources": figs.citation(ind.id, territories=territories, url=True)}


def export_metadata(figs: Figures, commune: Territory, indicators: list[Indicator], *, fmt: str,
                    export_date: date, file_name: str, decimal_comma: bool = False) -> dict[str, object]:
    """The metadata document written beside the data (JSON sidecar; the xlsx sheet holds its indicator rows)."""
    rows_meta = [indicator_metadata(figs, ind, commune) for ind in indicators]
    meta: dict[str, object] = {}
    if fmt == "csv":
        meta["@context"] = ["http://www.w3.org/ns/csvw", {"@language": "fr"}]
        meta["url"] = file_name
        meta["dialect"] = {"delimiter": ";", "encoding": "utf-8", "header": True,
                           "doubleQuote": True}
    meta.update({
        "dc:title": f"Mind it — {commune.display_name} ({commune.refnis})",
        "dc:created": export_date.isoformat(),
        "dc:source": list(dict.fromkeys(row["sources"] for row in rows_meta)),
        "export_date": export_date.isoformat(),
        "store_checksum": figs.checksum,
        "commune": {"refnis": commune.refnis, "name": commune.display_name},
        "format": fmt,
        "notes_fr": ("Valeurs arrondies aux décimales du catalogue. Une valeur manquante ou non publiée est "
                     "vide, avec son statut ; jamais 0. Les territoires parents sont recalculés à partir de "
                     "leurs communes et n'apparaissent que si toutes leurs communes ont une valeur."),
    })
    if fmt in ("csv", "parquet"):
        decimal = {"decimalChar": ","} if decimal_comma and fmt == "csv" else {}
        meta["tableSchema"] = {"columns": [
            {"name": name, "titles": name, "datatype": {"base": dtype, **decimal} if dtype == "decimal" else dtype,
             "dc:description": text} for name, (dtype, text) in COLUMNS.items()],
            "primaryKey": ["refnis", "indicator_id", "period"]}
    meta["indicators"] = rows_meta
    return meta


def _text_value(value: float, decimals: int, decimal_comma: bool) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = f"{value:.{decimals}f}"
    return text.replace(".", ",") if decimal_comma else text


def _write_csv(rows: pd.DataFrame, decimals: dict[str, int], decimal_comma: bool, tmp: Path) -> None:
    frame = rows.copy()
    frame["value"] = [_text_value(v, decimals[i], decimal_comma)
                      for v, i in zip(frame["value"], frame["indicator_id"], strict=True)]
    frame.to_csv(tmp, sep=";", index=False, encoding="utf-8-sig", lineterminator="\r\n")


def _write_xlsx(rows: pd.DataFrame, meta: dict[str, object], decimals: dict[str, int], tmp: Path) -> None:
    sheet_meta = pd.DataFrame([{**row, "export_date": meta["export_date"], "store_checksum": meta["store_checksum"]}
                               for row in meta["indicators"]])
    with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
        rows.to_excel(writer, sheet_name=DATA_SHEET, index=False)
        sheet_meta.to_excel(writer, sheet_name=METADATA_SHEET, index=False)
        data = writer.sheets[DATA_SHEET]
        value_col = list(rows.columns).index("value") + 1
        for r, ind_id in enumerate(rows["indicator_id"], start=2):
            d = decimals[ind_id]
            data.cell(row=r, column=value_col).number_format = "#,##0" + ("." + "0" * d if d else "")
        for ws, frame in ((data, rows), (writer.sheets[METADATA_SHEET], sheet_meta)):
            ws.freeze_panes = "A2"
            for c, name in enumerate(frame.columns, start=1):
                longest = max([len(str(name)), *(len(str(v)) for v in frame[name].head(200))])
                ws.column_dimensions[ws.cell(row=1, column=c).column_letter].width = min(max(10, longest + 2), 60)


def _write_parquet(rows: pd.DataFrame, meta: dict[str, object], tmp: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(rows, preserve_index=False)
    schema_meta = dict(table.schema.metadata or {})
    schema_meta[b"mindit"] = json.dumps(meta, ensure_ascii=False).encode("utf-8")
    pq.write_table(table.replace_schema_metadata(schema_meta), tmp)


def geojson_features(figs: Figures, commune: Territory, rows: pd.DataFrame) -> dict[str, object]:
    """A FeatureCollection with the commune's shape and, per indicator, its latest value as properties
    ``<ID>`` (null when not available), ``<ID>_year`` and ``<ID>_status``."""
    import shapely

    shapes = figs.store.geometry(GEOMETRY_SET, 5)
    shapes = shapes[shapes["refnis"] == commune.refnis]
    if shapes.empty:
        raise ExportError(f"no {GEOMETRY_SET} shape for {commune.display_name} ({commune.refnis}) in the store.")
    geom = shapes.geometry.iloc[0]
    geom = shapely.set_precision(geom, 1e-6)
    if not shapely.is_valid(geom):
        geom = shapely.make_valid(geom)
    props: dict[str, object] = {"refnis": commune.refnis, "name": commune.display_name}
    own = rows[rows["refnis"] == commune.refnis]
    for ind_id, part in own.groupby("indicator_id", sort=False):
        published = part[part["value"].notna()]
        row = (published if not published.empty else part).sort_values("period").iloc[-1]
        value = None if pd.isna(row["value"]) else float(row["value"])
        props[ind_id] = int(value) if value is not None and value.is_integer() else value
        props[f"{ind_id}_year"] = int(row["period"])
        props[f"{ind_id}_status"] = row["status"]
    return {"type": "FeatureCollection",
            "features": [{"type": "Feature", "id": commune.refnis, "properties": props,
                          "geometry": shapely.geometry.mapping(geom)}]}


def default_path(output_dir: str | Path, commune: Territory, fmt: str, export_date: date) -> Path:
    """``<output_dir>/exports/<refnis>_<slug>_<date>.<ext>``."""
    return Path(output_dir) / "exports" / f"{commune.refnis}_{commune.slug}_{export_date.isoformat()}.{fmt}"


def sidecar_path(path: Path) -> Path:
    """``<file>.metadata.json`` beside an export."""
    return path.with_name(path.name + ".metadata.json")


def export_commune(figs: Figures, commune: object, *, fmt: str | None = None, out: str | Path | None = None,
                   output_dir: str | Path | None = None, indicators: Iterable[str] | None = None,
                   with_parents: bool = True, decimal_comma: bool = False,
                   export_date: date | None = None) -> list[Path]:
    """Write one commune's export and its metadata.

    Parameters
    ----------
    figs : Figures
        Figures of the store.
    commune : str or int
        Code or any spelling of the commune's name.
    fmt : str, optional
        ``xlsx``, ``csv``, ``geojson`` or ``parquet``; default: the suffix of ``out``.
    out : path, optional
        The file to write (an existing folder receives the default file name); default:
        ``<output_dir>/exports/<refnis>_<slug>_<date>.<fmt>``.
    indicators : list of str, optional
        Indicator ids; default: every indicator without dimensions that has a value for the commune.
    with_parents : bool
        Add the arrondissement, province and region rows where they have values.
    decimal_comma : bool
        CSV only: write ``12,5`` instead of ``12.5``.

    Returns
    -------
    list of Path
        The data file, then the metadata sidecar when there is one.

    Raises
    ------
    ExportError, mindit_lib.territories.TerritoryError
        Before anything is written.
    """
    export_date = export_date or date.today()
    fmt = resolve_format(fmt, out if out is not None and not Path(out).is_dir() else None)
    territory = commune_of(figs, commune)
    chosen = select_indicators(figs, territory, indicators)
    rows = export_rows(figs, territory, chosen, with_parents=with_parents)
    if rows.empty:
        raise ExportError(f"no values for {territory.display_name} ({territory.refnis}) "
                          f"in {', '.join(i.id for i in chosen) or 'the catalogue'}.")
    if out is None:
        if output_dir is None:
            raise ExportError("give an output file or folder.")
        path = default_path(output_dir, territory, fmt, export_date)
    else:
        path = Path(out)
        if path.is_dir():
            path = path / default_path(".", territory, fmt, export_date).name
    path = path.resolve()
    decimals = {ind.id: ind.decimals for ind in chosen}
    meta = export_metadata(figs, territory, chosen, fmt=fmt, export_date=export_date, file_name=path.name,
                           decimal_comma=decimal_comma)
    if fmt == "xlsx":
        targets = [path]
    else:
        targets = [path, sidecar_path(path)]  # data before sidecar: the sidecar lands first
    with atomic_paths(*targets) as tmps:
        if fmt == "xlsx":
            _write_xlsx(rows, meta, decimals, tmps[0])
        elif fmt == "csv":
            _write_csv(rows, decimals, decimal_comma, tmps[0])
        elif fmt == "parquet":
            _write_parquet(rows, meta, tmps[0])
        else:
            collection = geojson_features(figs, territory, rows)
            tmps[0].write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
        if fmt != "xlsx":
            tmps[1].write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
    return targets
