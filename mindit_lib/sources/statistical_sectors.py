"""Statbel statistical sectors of 2011: codes, names and commune (``boundaries/
statbel_2011_statistical_sectors_hierarchy_be.csv.gz``, PROVENANCE 1c). No geometry. Sector codes changed in
later Statbel releases: use these for names and counts only."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mindit_lib.sources.base import SourceError, read_table, refnis_column


def read(path: Path, ctx=None) -> dict[str, pd.DataFrame]:
    """Read the sector hierarchy into ``statistical_sector`` rows (sector code, names, commune).

    Raises
    ------
    SourceError
        A missing column, garbled text, a sector code that does not start with its commune's code, a
        sector given twice.
    """
    path = Path(path)
    frame = read_table(path, ["CD_REFNIS_SECTOR", "CD_SECTOR", "TX_SECTOR_DESCR_NL", "TX_SECTOR_DESCR_FR",
                              "CD_MUNTY_REFNIS"])
    refnis = refnis_column(frame["CD_MUNTY_REFNIS"], path, "CD_MUNTY_REFNIS")
    sector = frame["CD_REFNIS_SECTOR"].fillna("").str.strip()
    bad = (sector.str.len() != 9) | (sector.str[:5] != refnis) | (sector.str[5:] != frame["CD_SECTOR"].str.strip())
    if bad.any():
        line = int(bad.to_numpy().argmax()) + 2
        raise SourceError(f"{path}: line {line}: sector {sector[bad].iloc[0]!r} is not its commune's code "
                          f"({refnis[bad].iloc[0]}) followed by CD_SECTOR ({frame.loc[bad, 'CD_SECTOR'].iloc[0]!r}).")
    if sector.duplicated().any():
        raise SourceError(f"{path}: sector {sector[sector.duplicated()].iloc[0]} appears twice.")
    return {"statistical_sector": pd.DataFrame({
        "sector_refnis": sector.to_numpy(), "sector_code": frame["CD_SECTOR"].str.strip().to_numpy(),
        "name_fr": frame["TX_SECTOR_DESCR_FR"].to_numpy(), "name_nl": frame["TX_SECTOR_DESCR_NL"].to_numpy(),
        "refnis": refnis.to_numpy()})}
