"""Statbel fiscal income statistics per commune (``TF_PSNL_INC_TAX_MUNTY``, pipe-separated, UTF-8 BOM).

The mirror's file (PROVENANCE 3a) holds commune rows only: 589 codes × 9 years, none of an arrondissement,
province, region or Belgium (its ``CD_DSTR_REFNIS``/``CD_PROV_REFNIS``/``CD_RGN_REFNIS`` columns name each
commune's parents, they are not rows of their own). Rows of such codes in another release do not become
observations: every ``MS_*`` value of them is checked against the sum of the communes of the file's commune
list, exactly (declarations, inhabitants and euro amounts to the cent, as the publisher sums them), and any
difference stops the import (:mod:`mindit_lib.aggregate_checks`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mindit_lib.aggregate_checks import check_aggregates, is_aggregate_code, store_territories
from mindit_lib.sources.base import SourceError, numeric_column, read_table, reference_date, refnis_column, whole_column

MEASURES = {
    "MS_TOT_NET_TAXABLE_INC": "FISCAL_TOT_NET_TAXABLE_INC",
    "MS_NBR_NON_ZERO_INC": "FISCAL_NBR_NON_ZERO_INC",
    "MS_NBR_ZERO_INC": "FISCAL_NBR_ZERO_INC",
    "MS_TOT_TAXES": "FISCAL_TOT_TAXES",
    "MS_TOT_MUNICIP_TAXES": "FISCAL_TOT_MUNICIP_TAXES",
    "MS_TOT_RESIDENTS": "FISCAL_RESIDENTS",
}


def read_fiscal_income(path: str | Path, ctx=None) -> dict[str, pd.DataFrame]:
    """Read Statbel's fiscal statistics per commune into observations (period = income year).

    Parameters
    ----------
    path : str or Path
        ``TF_PSNL_INC_TAX_MUNTY*.txt`` (optionally gzipped).
    ctx : ImportContext, optional
        Gives the store's territory hierarchy; needed only when the file holds aggregate rows.

    Returns
    -------
    dict
        ``observation`` rows for the measures in :data:`MEASURES`.
    """
    path = Path(path)
    frame = read_table(path, ["CD_YEAR", "CD_MUNTY_REFNIS", *MEASURES])
    refnis = refnis_column(frame["CD_MUNTY_REFNIS"], path, "CD_MUNTY_REFNIS")
    year = whole_column(frame["CD_YEAR"], path, "CD_YEAR").astype(int)
    upper = is_aggregate_code(refnis).to_numpy()
    if upper.any():
        _check_official_aggregates(path, frame, refnis, year, upper, ctx)
        frame, refnis, year = frame[~upper], refnis[~upper], year[~upper]
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


def _check_official_aggregates(path: Path, frame: pd.DataFrame, refnis: pd.Series, year: pd.Series, upper,
                               ctx) -> None:
    """Every ``MS_*`` value of the aggregate rows against the sum of the commune rows.

    Amounts are published to the cent, so the sum of the communes is exact in cents; the tolerance of half a
    cent only absorbs the floating-point noise of adding decimal cents (any real difference is ≥ 0.01).
    """
    cells = pd.concat([pd.DataFrame({"refnis": refnis.to_numpy(), "year": year.to_numpy(), "measure": column,
                                     "value": numeric_column(frame[column], path, column).round(2).to_numpy()})
                       for column in frame.columns if column.startswith("MS_")], ignore_index=True)
    upper = np.tile(upper, len(cells) // len(frame))
    check_aggregates(path, cells[upper], cells[~upper], store_territories(ctx, path), ["year", "measure"],
                     tolerance=0.005)
