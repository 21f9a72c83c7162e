"""Establishment units per commune, 4th quarter of each year (Statbel be.STAT, PROVENANCE 3f).

The file holds no official aggregate (no arrondissement, province, region or Belgium row), so there is nothing
to check parents against. Its rows without a commune code are not aggregates either: they are the units whose
location is unknown (``region_nl`` "Onbepaalde locatie", 9,233 at Q4 2023), which be.STAT lists beside the
communes and places in no commune, province or region. They are left out of the commune values, on purpose: a
Belgian total recomputed from the communes does not include them (parents below Belgium are unaffected). Any other row
without a commune code stops the import (its place could not be told). The 2023 rows appear twice, word for
word, in the file: exact repeats are kept once; two different values for one commune and quarter stop the import.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from mindit_lib.sources.base import SourceError, numeric_column, read_table, refnis_column
from mindit_lib.sources.building_permits import observations

#: ``region_nl`` of the units without known location (no commune code; not a sum of communes)
UNKNOWN_LOCATION = "Onbepaalde locatie"
QUARTER = re.compile(r"^\s*4de kwartaal (\d{4})\s*$")


def read(path: Path, ctx=None) -> dict[str, pd.DataFrame]:
    """Read the number of establishment units at the 4th quarter, per commune; period = the year."""
    path = Path(path)
    frame = read_table(path, ["CD_REFNIS", "quarter_nl", "n_establishment_units"])
    no_code = frame["CD_REFNIS"].isna()
    region = frame["region_nl"].fillna("").str.strip() if "region_nl" in frame.columns else pd.Series("", frame.index)
    stray = no_code & (region != UNKNOWN_LOCATION)
    if stray.any():
        row = int(stray.to_numpy().argmax())
        raise SourceError(f"{path}: line {row + 2} has no CD_REFNIS and is not an unknown-location row "
                          f"(region_nl {UNKNOWN_LOCATION!r}); add the commune code or remove the row.")
    frame = frame[~no_code]
    year = frame["quarter_nl"].fillna("").str.extract(QUARTER)[0]
    if year.isna().any():
        bad = frame.loc[year.isna(), "quarter_nl"].iloc[0]
        raise SourceError(f"{path}: quarter_nl {bad!r} is not a 4th quarter ('4de kwartaal 2023').")
    tidy = pd.DataFrame({
        "refnis": refnis_column(frame["CD_REFNIS"], path, "CD_REFNIS").to_numpy(),
        "year": year.astype(int).to_numpy(),
        "value": numeric_column(frame["n_establishment_units"], path, "n_establishment_units").to_numpy(),
    }).drop_duplicates()
    clash = tidy.duplicated(["refnis", "year"])
    if clash.any():
        first = tidy[clash].iloc[0]
        raise SourceError(f"{path}: commune {first['refnis']} has two different values for Q4 {first['year']}.")
    if tidy["value"].isna().any():
        raise SourceError(f"{path}: n_establishment_units is empty on {int(tidy['value'].isna().sum())} row(s).")
    values = {"ESTABLISHMENT_UNITS": tidy["value"]}
    return {"observation": observations(tidy["refnis"], tidy["year"], values, "fixed")}
