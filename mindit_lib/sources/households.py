"""Private households by type and size per commune (Statbel be.STAT, PROVENANCE 3e; year unconfirmed, 2011).

Rows with empty type and empty size are the commune totals; the one-person households are the rows of size
"1 persoon" summed over household types (an empty cell is 0 or not applicable). Rows without a commune code
(Belgium) are left out.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mindit_lib.sources.base import SourceError, numeric_column, read_table, refnis_column
from mindit_lib.sources.building_permits import observations

#: reference period: the source does not state it; the 589-commune geography and Census 2011 categories
#: point to the 2011 census (PROVENANCE 3e)
PERIOD = 2011
ONE_PERSON = "1 persoon"


def read(path: Path, ctx=None) -> dict[str, pd.DataFrame]:
    """Read private households: total and one-person households per commune (period 2011)."""
    path = Path(path)
    frame = read_table(path, ["CD_REFNIS", "household_type_nl", "household_size_nl", "n_private_households"])
    frame = frame[frame["CD_REFNIS"].notna()]
    tidy = pd.DataFrame({
        "refnis": refnis_column(frame["CD_REFNIS"], path, "CD_REFNIS").to_numpy(),
        "type": frame["household_type_nl"].fillna("").str.strip().to_numpy(),
        "size": frame["household_size_nl"].fillna("").str.strip().to_numpy(),
        "value": numeric_column(frame["n_private_households"], path, "n_private_households").fillna(0).to_numpy(),
    })
    if tidy.duplicated(["refnis", "type", "size"]).any():
        first = tidy[tidy.duplicated(["refnis", "type", "size"])].iloc[0]
        raise SourceError(f"{path}: commune {first['refnis']} has two rows for type {first['type']!r}, "
                          f"size {first['size']!r}.")
    totals = tidy[(tidy["type"] == "") & (tidy["size"] == "")].set_index("refnis")["value"]
    if totals.empty:
        raise SourceError(f"{path}: no commune total row (empty household_type_nl and household_size_nl).")
    if ONE_PERSON not in set(tidy["size"]):
        raise SourceError(f"{path}: household_size_nl has no {ONE_PERSON!r} rows; the labels have changed.")
    one = tidy[(tidy["size"] == ONE_PERSON) & (tidy["type"] != "")].groupby("refnis")["value"].sum()
    one = one.reindex(totals.index, fill_value=0.0)
    refnis = pd.Series(totals.index)
    values = {"PRIVATE_HOUSEHOLDS": totals.reset_index(drop=True),
              "PRIVATE_HOUSEHOLDS_ONE_PERSON": one.reset_index(drop=True)}
    return {"observation": observations(refnis, pd.Series(PERIOD, index=refnis.index), values, "fixed")}
