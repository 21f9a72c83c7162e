"""Private households by type and size per commune (Statbel be.STAT, PROVENANCE 3e; year unconfirmed, 2011).

Rows with empty type and empty size are the commune totals; the one-person households are the rows of size
"1 persoon" summed over household types (an empty cell is 0 or not applicable).

The file's only official aggregate is Belgium: the 17 rows without a commune code and without municipality,
arrondissement, province or region name. They do not become observations; at import each of them (the total
and every type × size cell) is checked against the sum of the communes of the file's commune list (589 communes,
the list before the 2019 mergers, with the store's hierarchy), exactly: 4,727,831 households in both. An empty
cell is empty in Belgium's row and in every commune alike (structural: a one-person household cannot hold a
family nucleus). A row without a commune code that is not a Belgium row (a name of arrondissement, province or
region filled in) stops the import: its level could not be told.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mindit_lib.aggregate_checks import check_aggregates, store_territories
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
    _check_belgium_rows(path, frame, ctx)
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


#: columns that are empty on the Belgium rows (and only there)
PLACE_COLUMNS = ["municipality_nl", "arrondissement_nl", "province_nl", "region_nl"]
BELGIUM = "01000"


def _check_belgium_rows(path: Path, frame: pd.DataFrame, ctx) -> None:
    """The rows without commune code must be Belgium's; each equals the sum of the communes (exact)."""
    no_code = frame["CD_REFNIS"].isna().to_numpy()
    if not no_code.any():
        return
    places = [c for c in PLACE_COLUMNS if c in frame.columns]
    named = frame.loc[no_code, places].notna().any(axis=1) if places else pd.Series(False, index=frame.index[no_code])
    if named.any():
        line = int(named.to_numpy().argmax())
        row = frame.index[no_code][line]
        raise SourceError(f"{path}: line {row + 2} has no CD_REFNIS but names a place "
                          f"({', '.join(str(v) for v in frame.loc[row, places].dropna())}); only the Belgium rows "
                          "may lack a code. Add the code or remove the row.")
    cells = pd.DataFrame({
        "refnis": frame["CD_REFNIS"].fillna(BELGIUM).to_numpy(),
        "type": frame["household_type_nl"].fillna("").str.strip().to_numpy(),
        "size": frame["household_size_nl"].fillna("").str.strip().to_numpy(),
        "value": numeric_column(frame["n_private_households"], path, "n_private_households").to_numpy(),
    })
    cells.loc[~no_code, "refnis"] = refnis_column(cells.loc[~no_code, "refnis"], path, "CD_REFNIS")
    check_aggregates(path, cells[no_code], cells[~no_code], store_territories(ctx, path), ["type", "size"])
