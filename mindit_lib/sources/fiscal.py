"""Statbel fiscal income statistics per commune (``TF_PSNL_INC_TAX_MUNTY``, pipe-separated, UTF-8 BOM)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mindit_lib.sources.base import SourceError, numeric_column, read_table, reference_date, refnis_column, whole_column

MEASURES = {
    "MS_TOT_NET_TAXABLE_INC": "FISCAL_TOT_NET_TAXABLE_INC",
    "MS_NBR_NON_ZERO_INC": "FISCAL_NBR_NON_ZERO_INC",
    "MS_NBR_ZERO_INC": "FISCAL_NBR_ZERO_INC",
    "MS_TOT_TAXES": "FISCAL_TOT_TAXES",
    "MS_TOT_MUNICIP_TAXES": "FISCAL_TOT_MUNICIP_TAXES",
    "MS_TOT_RESIDENTS": "FISCAL_RESIDENTS",
}


def read_fiscal_income(path: str | Path) -> dict[str, pd.DataFrame]:
    """Read Statbel's fiscal statistics per commune into observations (period = income year).

    Parameters
    ----------
    path : str or Path
        ``TF_PSNL_INC_TAX_MUNTY*.txt`` (optionally gzipped).

    Returns
    -------
    dict
        ``observation`` rows for the measures in :data:`MEASURES`.
    """
    path = Path(path)
    frame = read_table(path, ["CD_YEAR", "CD_MUNTY_REFNIS", *MEASURES])
    refnis = refnis_column(frame["CD_MUNTY_REFNIS"], path, "CD_MUNTY_REFNIS")
    year = whole_column(frame["CD_YEAR"], path, "CD_YEAR").astype(int)
    if refnis.duplicated().any() and frame.assign(r=refnis.values).duplicated(["r", "CD_YEAR"]).any():
        raise SourceError(f"{path}: a commune appears twice for the same year.")
    parts = []
    for column, indicator in MEASURES.items():
        parts.append(pd.DataFrame({
            "indicator_id": indicator, "refnis": refnis.values, "period": year.values,
            "value": numeric_column(frame[column], path, column).values,
        }))
    obs = pd.concat(parts, ignore_index=True)
    if obs["value"].isna().any():
        raise SourceError(f"{path}: empty measure cells; the Statbel file is complete for every commune.")
    obs["reference_date"] = [reference_date("income_year", int(p)) for p in obs["period"]]
    obs["status"] = "final"
    obs["vintage"] = None
    return {"observation": obs}
