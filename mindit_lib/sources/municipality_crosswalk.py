"""A third party's crosswalk of commune codes (``compiled/municipality_crosswalk.csv``, PROVENANCE c6), compared
with the reference table of the repository (:mod:`mindit_lib.crosswalk`).

It must give the same codes, successors and relations as the reference table, or the import stops with the
list of disagreements. Its dates are kept as written; where one differs from the reference table the row
says so in ``differs_from_reference`` (e.g. Bastogne/Bertogne, 2024-12-02 here, first Statbel list 2025-01-01).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mindit_lib.crosswalk import differences
from mindit_lib.sources.base import SourceError, read_table, refnis_column

TRUE, FALSE = {"true", "1", "yes"}, {"false", "0", "no", ""}


def _flag(values: pd.Series, path: Path, column: str) -> pd.Series:
    text = values.fillna("").str.strip().str.lower()
    bad = ~text.isin(TRUE | FALSE)
    if bad.any():
        raise SourceError(f"{path}: line {int(bad.to_numpy().argmax()) + 2}: {column} is "
                          f"{values[bad].iloc[0]!r}; expected true or false.")
    return text.isin(TRUE)


def read(path: Path, ctx=None) -> dict[str, pd.DataFrame]:
    """Read the third-party crosswalk into ``refnis_crosswalk`` rows, checked against the reference table.

    Raises
    ------
    SourceError
        A missing column, garbled text, a bad date or flag, or a code, successor or relation that differs
        from the reference table (all differences listed).
    """
    path = Path(path)
    frame = read_table(path, ["old_nis", "new_nis", "relationship", "has_partial_transfer", "valid_to",
                              "verified", "note"])
    valid_from = pd.to_datetime(frame["valid_to"], format="%Y-%m-%d", errors="coerce")
    if valid_from.isna().any():
        raise SourceError(f"{path}: line {int(valid_from.isna().to_numpy().argmax()) + 2}: valid_to "
                          f"{frame.loc[valid_from.isna(), 'valid_to'].iloc[0]!r} is not a date (YYYY-MM-DD).")
    out = pd.DataFrame({
        "old_refnis": refnis_column(frame["old_nis"], path, "old_nis").to_numpy(),
        "new_refnis": refnis_column(frame["new_nis"], path, "new_nis").to_numpy(),
        "relation": frame["relationship"].str.strip().to_numpy(),
        "valid_from": valid_from.dt.date.to_numpy(),
        "has_partial_transfer": _flag(frame["has_partial_transfer"], path, "has_partial_transfer").to_numpy(),
        "verified": _flag(frame["verified"], path, "verified").to_numpy(),
        "note": frame["note"].to_numpy(),
    })
    diff = differences(out)
    hard = diff[diff["field"] != "valid_from"]
    if not hard.empty:
        listed = "; ".join(f"{r.old_refnis} {r.field}: reference {r.reference}, file {r.other}"
                           for r in hard.itertuples())
        raise SourceError(f"{path}: {len(hard)} disagreement(s) with mindit_lib/reference/refnis_crosswalk.csv "
                          f"({listed}). Check the file, or the reference table against Statbel's code lists.")
    dates = diff.set_index("old_refnis")
    out["differs_from_reference"] = [f"valid_from {dates.loc[c, 'other']} here, {dates.loc[c, 'reference']} in the "
                                     "reference table" if c in dates.index else None for c in out["old_refnis"]]
    return {"refnis_crosswalk": out}
