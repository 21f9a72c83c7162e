"""Statbel population structure (by sex and single year of age) — ``TF_SOC_POP_STRUCT``.

The mirror's files (PROVENANCE 2a, 2b) hold commune rows only (589 and 84 codes, none of an arrondissement,
province, region or Belgium), so they have no official aggregate to check; rows of such codes in another
release are checked against their communes at import (see :func:`read_population_structure`).
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pandas as pd

from mindit_lib.aggregate_checks import check_aggregates, is_aggregate_code, store_territories
from mindit_lib.sources.base import SourceError, numeric_column, read_table, refnis_column

#: Column names used by the layouts seen: the collector's CSV (2a, 2b) and Statbel's own TXT release.
ALIASES = {"CD_MUNTY_REFNIS": "CD_REFNIS"}
AGE_BANDS = {"POPULATION_AGE_0_14": (0, 14), "POPULATION_AGE_15_64": (15, 64), "POPULATION_AGE_65_PLUS": (65, 999)}


def read_population_structure(path: str | Path, year: int | None = None, ctx=None) -> dict[str, pd.DataFrame]:
    """Read a population-structure file into tidy observations.

    Works for the mirror's CSVs (``CD_YEAR`` column; extra breakdowns such as nationality and civil
    status are summed away) and for Statbel's own yearly ``TF_SOC_POP_STRUCT_<year>.txt`` (pipe-separated,
    no ``CD_YEAR``: the year is taken from the file name or ``year``).

    Parameters
    ----------
    path : str or Path
        The file.
    year : int, optional
        Year of the population (1 January) when the file has no ``CD_YEAR`` column.
    ctx : ImportContext, optional
        Gives the store's territory hierarchy; needed only when the file holds aggregate rows.

    Aggregate rows (codes of arrondissements, provinces, regions or Belgium; the mirror's files have none, a
    Statbel release may) do not become observations: each of their values per year, sex and age is checked
    against the sum of the communes of the file's commune list, exactly (absent rows are zeros in this sparse
    table), and any difference stops the import (:mod:`mindit_lib.aggregate_checks`).

    Returns
    -------
    dict
        ``observation``: ``POPULATION_SEX_AGE`` rows (sex, age) plus, per commune and year, the total
        and the three age bands, all on 1 January.
    """
    path = Path(path)
    frame = read_table(path, ["CD_REFNIS", "CD_SEX", "CD_AGE", "MS_POPULATION"], aliases=ALIASES)
    if "CD_YEAR" not in frame.columns:
        found = year or next((int(m) for m in re.findall(r"(?<!\d)(\d{4})(?!\d)", path.name)), None)
        if found is None:
            raise SourceError(f"{path}: no CD_YEAR column and no year in the file name; pass year=.")
        frame["CD_YEAR"] = str(found)
    dupes = frame.duplicated()
    if dupes.any():
        raise SourceError(f"{path}: {int(dupes.sum())} row(s) repeated word for word (first at data row "
                          f"{int(dupes.to_numpy().argmax()) + 1}); a count would be added twice.")
    refnis = refnis_column(frame["CD_REFNIS"], path, "CD_REFNIS")
    sex = frame["CD_SEX"].str.strip().str.upper()
    if not sex.isin(["M", "F"]).all():
        raise SourceError(f"{path}: CD_SEX holds values other than M/F: {sorted(set(sex) - {'M', 'F'})[:5]}")
    age = numeric_column(frame["CD_AGE"], path, "CD_AGE")
    pop = numeric_column(frame["MS_POPULATION"], path, "MS_POPULATION")
    yr = numeric_column(frame["CD_YEAR"], path, "CD_YEAR")
    if age.isna().any() or (age < 0).any() or (age > 120).any():
        raise SourceError(f"{path}: CD_AGE must be whole years 0–120.")
    if pop.isna().any() or (pop < 0).any() or (pop % 1 != 0).any():
        raise SourceError(f"{path}: MS_POPULATION must be whole, non-negative counts.")
    tidy = pd.DataFrame({"refnis": refnis.values, "period": yr.astype(int).values, "sex": sex.values,
                         "age": age.astype(int).values, "value": pop.values})
    detail = tidy.groupby(["refnis", "period", "sex", "age"], as_index=False)["value"].sum()
    # Only communes (level 5) become observations; aggregate rows are checked against them.
    upper = is_aggregate_code(detail["refnis"])
    if upper.any():
        check_aggregates(path, detail[upper], detail[~upper], store_territories(ctx, path),
                         ["period", "sex", "age"], sparse=True)
        detail = detail[~upper].reset_index(drop=True)
    detail["indicator_id"] = "POPULATION_SEX_AGE"
    totals = [detail.groupby(["refnis", "period"], as_index=False)["value"].sum()
              .assign(indicator_id="POPULATION_BY_COMMUNE")]
    for ind, (lo, hi) in AGE_BANDS.items():
        band = detail[(detail["age"] >= lo) & (detail["age"] <= hi)]
        band = band.groupby(["refnis", "period"], as_index=False)["value"].sum()
        # a commune with nobody in a band has no row in the sparse file: that is a real zero
        full = totals[0][["refnis", "period"]].merge(band, how="left", on=["refnis", "period"])
        totals.append(full.fillna({"value": 0.0}).assign(indicator_id=ind))
    obs = pd.concat([detail, *totals], ignore_index=True)
    obs["reference_date"] = [date(int(p), 1, 1) for p in obs["period"]]
    obs["status"] = "final"
    obs["vintage"] = None
    obs["sex"] = obs["sex"].where(obs["indicator_id"] == "POPULATION_SEX_AGE", None)
    obs["age"] = obs["age"].where(obs["indicator_id"] == "POPULATION_SEX_AGE", None).astype("Int64")
    return {"observation": obs}
