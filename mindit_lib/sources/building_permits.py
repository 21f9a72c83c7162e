"""Statbel building permits per commune (``building_permits_1996_2026_municipalities_be.csv.gz``, PROVENANCE 3c).

One row per commune, year and period: ``CD_PERIOD`` 0 is the annual total, 1…12 the months. Only the annual
rows are kept (months are never added to them); a year with fewer than 12 months published is provisional.

The mirror's file holds commune rows only (``CD_REFNIS_LEVEL`` 5 on all 222,610 rows): it has no official
aggregate. Statbel's own release also publishes arrondissement, province, region and Belgium rows; when a file
has rows of another level, each of their values (every measure, year and period) is checked at import against
the sum of the communes of the file's commune list with the store's hierarchy, exactly, and any difference stops
the import (:mod:`mindit_lib.aggregate_checks`). An empty (unpublished) official cell must have only empty
commune cells under it, and the reverse; a partly published sum is reported, not accepted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mindit_lib.aggregate_checks import check_aggregates, store_territories
from mindit_lib.sources.base import SourceError, numeric_column, read_table, reference_date, refnis_column, whole_column

MEASURES = {
    "MS_BUILDING_RES_NEW": "PERMITS_RES_NEW_BUILDINGS",
    "MS_DWELLING_RES_NEW": "PERMITS_RES_NEW_DWELLINGS",
    "MS_APARTMENT_RES_NEW": "PERMITS_RES_NEW_APARTMENTS",
    "MS_SINGLE_HOUSE_RES_NEW": "PERMITS_RES_NEW_SINGLE_HOUSES",
    "MS_BUILDING_RES_RENOVATION": "PERMITS_RES_RENOVATIONS",
}

def observations(refnis: pd.Series, period: pd.Series, values: dict[str, pd.Series], rule: str,
                 status: str | pd.Series = "final") -> pd.DataFrame:
    """Stack measure columns into observation rows (indicator id → values), on the given periods."""
    parts = [pd.DataFrame({"indicator_id": ind, "refnis": refnis.to_numpy(), "period": period.to_numpy(),
                           "value": vals.to_numpy(),
                           "status": status.to_numpy() if isinstance(status, pd.Series) else status})
             for ind, vals in values.items()]
    obs = pd.concat(parts, ignore_index=True)
    obs["period"] = obs["period"].astype(int)
    dates = {p: reference_date(rule, int(p)) for p in obs["period"].unique()}
    obs["reference_date"] = obs["period"].map(dates)
    obs["vintage"] = None
    return obs


def read(path: Path, ctx=None) -> dict[str, pd.DataFrame]:
    """Read the permits file: annual totals (``CD_PERIOD == 0``) of commune rows (level 5).

    Returns
    -------
    dict
        ``observation`` rows for :data:`MEASURES`; period = calendar year of the permits; the latest year
        (fewer than 12 months published) is ``provisional``. A year without annual row (the file's 2026, four
        months only) gives nothing: months are not added up into a partial year.
    """
    path = Path(path)
    frame = read_table(path, ["REFNIS", "CD_YEAR", "CD_PERIOD", "CD_REFNIS_LEVEL", *MEASURES])
    level = whole_column(frame["CD_REFNIS_LEVEL"], path, "CD_REFNIS_LEVEL")
    period = whole_column(frame["CD_PERIOD"], path, "CD_PERIOD")
    year = whole_column(frame["CD_YEAR"], path, "CD_YEAR")
    if period.isna().any() or year.isna().any() or not period.between(0, 12).all():
        raise SourceError(f"{path}: CD_YEAR must be a year and CD_PERIOD 0 (year) or 1…12 (month).")
    commune = (level == 5).to_numpy()
    refnis = refnis_column(frame["REFNIS"], path, "REFNIS")
    if not commune.all():
        cells = pd.concat([pd.DataFrame({"refnis": refnis.to_numpy(), "year": year.astype(int).to_numpy(),
                                         "period": period.astype(int).to_numpy(), "measure": column,
                                         "value": numeric_column(frame[column], path, column).to_numpy()})
                           for column in MEASURES], ignore_index=True)
        upper = np.tile(~commune, len(MEASURES))
        check_aggregates(path, cells[upper], cells[~upper], store_territories(ctx, path), ["year", "period", "measure"])
    annual = commune & (period == 0).to_numpy()
    if not annual.any():
        raise SourceError(f"{path}: no annual row (CD_PERIOD = 0) for any commune; the layout has changed.")
    keys = pd.DataFrame({"r": refnis[annual].to_numpy(), "y": year[annual].to_numpy()})
    if keys.duplicated().any():
        first = keys[keys.duplicated()].iloc[0]
        raise SourceError(f"{path}: commune {first['r']} has two annual rows for {int(first['y'])}.")
    yr = year[annual]
    # a year with fewer than 12 monthly rows for the commune is partial: its annual row is provisional
    monthly = commune & (period > 0).to_numpy()
    months = (pd.DataFrame({"r": refnis[monthly].to_numpy(), "y": year[monthly].to_numpy()})
              .groupby(["r", "y"]).size().rename("n").reset_index())
    n_months = keys.merge(months, how="left", on=["r", "y"])["n"].fillna(0).to_numpy()
    status = pd.Series(["final" if n >= 12 else "provisional" for n in n_months], index=yr.index)
    values = {}
    for column, ind in MEASURES.items():
        vals = numeric_column(frame.loc[annual, column], path, column)
        values[ind] = vals
    obs = observations(refnis[annual], yr, values, "fixed", status)
    # an empty annual cell is a figure Statbel did not publish (2025: 20 communes, e.g. 63001 Amel), not a zero
    obs.loc[obs["value"].isna(), "status"] = "not_published"
    return {"observation": obs}
