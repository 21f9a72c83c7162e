"""Statbel land use according to the cadastre (``TF_EAE_LAND_OCCUPTN``, PROVENANCE 3b).

Rows carry a detailed rubric (``CD_RUB_LVL_3``) and its parents (levels 2, 1, 0). Only detailed rows are
summed: a row whose own code is the parent code of another row of the same commune and year is a subtotal and
is left out. Built-up area = the rubrics under ``2TOT`` ("Parcelles bâties", level 2 of the file).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mindit_lib.sources.base import SourceError, numeric_column, read_table, refnis_column, whole_column
from mindit_lib.sources.building_permits import observations

LEVELS = ["CD_RUB_LVL_3", "CD_RUB_LVL_2", "CD_RUB_LVL_1", "CD_RUB_LVL_0"]
BUILT_UP = "2TOT"


def read(path: Path, ctx=None) -> dict[str, pd.DataFrame]:
    """Read land use: total area, built-up area (hectares) and number of parcels per commune and year.

    Returns
    -------
    dict
        ``observation`` rows, period = year of the cadastral situation (1 January).
    """
    path = Path(path)
    frame = read_table(path, ["CD_YEAR", "CD_REFNIS", *LEVELS, "MS_NUM_PRCL", "MS_TOT_SUR"])
    codes = {c: frame[c].fillna("").str.strip() for c in LEVELS}
    tidy = pd.DataFrame({
        "refnis": refnis_column(frame["CD_REFNIS"], path, "CD_REFNIS").to_numpy(),
        "year": whole_column(frame["CD_YEAR"], path, "CD_YEAR").to_numpy(),
        "rubric": codes["CD_RUB_LVL_3"].to_numpy(), "lvl2": codes["CD_RUB_LVL_2"].to_numpy(),
        "parcels": numeric_column(frame["MS_NUM_PRCL"], path, "MS_NUM_PRCL").to_numpy(),
        "area": numeric_column(frame["MS_TOT_SUR"], path, "MS_TOT_SUR").to_numpy(),
    })
    if (tidy["rubric"] == "").any() or tidy["year"].isna().any():
        raise SourceError(f"{path}: rows without CD_RUB_LVL_3 or CD_YEAR.")
    # subtotal rows: their code is a parent (level 2, 1 or 0) of another row of the same commune and year
    parents = pd.concat([pd.DataFrame({"refnis": tidy["refnis"], "year": tidy["year"], "rubric": codes[c].to_numpy(),
                                       "own": tidy["rubric"]}) for c in LEVELS[1:]])
    parents = parents[parents["rubric"] != parents["own"]].drop_duplicates(["refnis", "year", "rubric"])
    marked = tidy.merge(parents[["refnis", "year", "rubric"]].assign(subtotal=True), how="left",
                        on=["refnis", "year", "rubric"])
    detail = tidy[marked["subtotal"].isna().to_numpy()]
    dupes = detail.duplicated(["refnis", "year", "rubric"])
    if dupes.any():
        first = detail[dupes].iloc[0]
        raise SourceError(f"{path}: commune {first['refnis']} has two rows for rubric {first['rubric']} "
                          f"in {int(first['year'])}.")
    if detail[["parcels", "area"]].isna().any().any():
        raise SourceError(f"{path}: MS_NUM_PRCL or MS_TOT_SUR is empty on a detailed row.")
    keys = ["refnis", "year"]
    total = detail.groupby(keys, as_index=False)[["area", "parcels"]].sum()
    built = detail[detail["lvl2"] == BUILT_UP].groupby(keys)["area"].sum().rename("built").reset_index()
    total = total.merge(built, how="left", on=keys).fillna({"built": 0.0})
    values = {"LAND_TOTAL_AREA_HA": total["area"], "LAND_BUILT_UP_AREA_HA": total["built"],
              "LAND_PARCELS": total["parcels"]}
    return {"observation": observations(total["refnis"], total["year"], values, "january_1")}
