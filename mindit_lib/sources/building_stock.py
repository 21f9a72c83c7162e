"""Statbel building stock on 1 January (``building_stock_2025_be.csv.gz``, PROVENANCE 3d).

The file holds every level (1 Belgium … 5 commune); only commune rows (``CD_REFNIS_LVL`` 5) become observations,
so no count is taken twice. There is no total over building types: R1…R6 are summed.

The official rows of levels 1–4 (Belgium, 3 regions, 10 provinces, 43 arrondissements) are checked at import,
every statistic and building type of them, against the sum of their communes of the file's commune list (565
communes, the list of 1 January 2025, with the store's hierarchy): any difference stops the import
(:mod:`mindit_lib.aggregate_checks`). All 7,866 aggregate values of the 2025 file agree exactly. Empty cells
(ground surface, central heating, bathrooms and garages for some building types) are empty at every level
alike: an empty official cell must have only empty commune cells under it, and the reverse.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mindit_lib.aggregate_checks import check_aggregates, store_territories
from mindit_lib.sources.base import SourceError, numeric_column, read_table, refnis_column, whole_column
from mindit_lib.sources.building_permits import observations

#: statistic type → indicator
STAT_TYPES = {"T1": "BUILDING_STOCK_BUILDINGS", "T8": "BUILDING_STOCK_DWELLINGS"}
BUILDING_TYPES = {"R1", "R2", "R3", "R4", "R5", "R6"}


def read(path: Path, ctx=None) -> dict[str, pd.DataFrame]:
    """Read the building stock: buildings (T1) and dwellings (T8) per commune, summed over building types.

    Parameters
    ----------
    path : Path
        ``building_stock_<year>_be.csv(.gz)``.
    ctx : ImportContext, optional
        Gives the store's territory hierarchy, needed to check the rows of levels 1–4 (a file without them
        reads without it).

    Returns
    -------
    dict
        ``observation`` rows, period = year of the stock (1 January).

    Raises
    ------
    SourceError
        A layout problem, or an official aggregate value that differs from the sum of its communes.
    """
    path = Path(path)
    required = ["CD_YEAR", "CD_REFNIS", "CD_REFNIS_LVL", "CD_STAT_TYPE", "CD_BUILDING_TYPE", "MS_VALUE"]
    frame = read_table(path, required)
    level = whole_column(frame["CD_REFNIS_LVL"], path, "CD_REFNIS_LVL")
    if level.isna().any() or not level.isin([1, 2, 3, 4, 5]).all():
        raise SourceError(f"{path}: CD_REFNIS_LVL must be 1 (Belgium) … 5 (commune) on every row.")
    _check_official_aggregates(path, frame, level, ctx)
    frame = frame[(level == 5).to_numpy() & frame["CD_STAT_TYPE"].str.strip().isin(STAT_TYPES).to_numpy()]
    if frame.empty:
        raise SourceError(f"{path}: no commune row (CD_REFNIS_LVL 5) with CD_STAT_TYPE T1 or T8.")
    btype = frame["CD_BUILDING_TYPE"].str.strip()
    unknown = sorted(set(btype.dropna()) - BUILDING_TYPES)
    if unknown or btype.isna().any():
        raise SourceError(f"{path}: CD_BUILDING_TYPE holds {unknown or ['(empty)']}; expected R1…R6 only "
                          "(a total row would be counted twice).")
    tidy = pd.DataFrame({
        "refnis": refnis_column(frame["CD_REFNIS"], path, "CD_REFNIS").to_numpy(),
        "year": whole_column(frame["CD_YEAR"], path, "CD_YEAR").to_numpy(),
        "stat": frame["CD_STAT_TYPE"].str.strip().to_numpy(), "btype": btype.to_numpy(),
        "value": numeric_column(frame["MS_VALUE"], path, "MS_VALUE").to_numpy(),
    })
    dupes = tidy.duplicated(["refnis", "year", "stat", "btype"])
    if dupes.any():
        first = tidy[dupes].iloc[0]
        raise SourceError(f"{path}: commune {first['refnis']} has two rows for {first['stat']} {first['btype']} "
                          f"in {int(first['year'])}.")
    if tidy["value"].isna().any():
        raise SourceError(f"{path}: MS_VALUE is empty on {int(tidy['value'].isna().sum())} commune row(s).")
    sums = tidy.pivot_table(index=["refnis", "year"], columns="stat", values="value", aggfunc="sum").reset_index()
    missing = [t for t in STAT_TYPES if t not in sums.columns]
    if missing:
        raise SourceError(f"{path}: no commune row for CD_STAT_TYPE {', '.join(missing)}.")
    values = {ind: sums[stat] for stat, ind in STAT_TYPES.items()}
    return {"observation": observations(sums["refnis"], sums["year"], values, "january_1")}


def _check_official_aggregates(path: Path, frame: pd.DataFrame, level: pd.Series, ctx) -> None:
    """Every value of the rows of levels 1–4 against the sum of the commune rows (exact: counts)."""
    upper = (level < 5).to_numpy()
    if not upper.any():
        return
    cells = pd.DataFrame({
        "refnis": refnis_column(frame["CD_REFNIS"], path, "CD_REFNIS").to_numpy(),
        "year": frame["CD_YEAR"].str.strip().to_numpy(), "stat": frame["CD_STAT_TYPE"].str.strip().to_numpy(),
        "btype": frame["CD_BUILDING_TYPE"].str.strip().to_numpy(),
        "value": numeric_column(frame["MS_VALUE"], path, "MS_VALUE").to_numpy(),
    })
    check_aggregates(path, cells[upper], cells[~upper], store_territories(ctx, path), ["year", "stat", "btype"])
