"""General importer for tidy observation files (``indicator_id, geo_id, period, value, status, …``).

Only commune rows (``be:mun:62063``) become observations; parents are recomputed from them. Rows of higher
levels (``be:arr:``, ``be:prov:``, ``be:reg:``, ``be:nat:`` followed by the REFNIS code; the mirror's compiled
files have none) are the publisher's aggregates: for an indicator the catalogue sums (``aggregation: sum``)
each published one is checked against the sum of its communes of the file's commune list, and any difference
stops the import (:mod:`mindit_lib.aggregate_checks`); where some of its communes are withheld (confidential,
not published) the official value must be at least the sum of the published ones. Aggregate rows of rates and
per-inhabitant values (not summed) cannot be recomputed from the communes and are left out.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mindit_lib.aggregate_checks import check_aggregates, store_territories
from mindit_lib.sources.base import (
    SourceError,
    numeric_column,
    read_table,
    reference_date,
    refnis_column,
    whole_column,
)

TIDY_COLUMNS = ["indicator_id", "geo_id", "period", "vintage", "value", "status"]
LATEST_VALUES = {"1", "true", "yes"}
NOT_LATEST_VALUES = {"0", "false", "no"}
STATUS_MAP = {"final": "final", "provisional": "provisional", "suppressed": "confidential",
              "confidential": "confidential", "not_published": "not_published", "missing": "not_published"}


def read_tidy_observations(path: str | Path, indicators: set[str], reference_rules: dict[str, str],
                           summed: set[str] | frozenset[str] = frozenset(), ctx=None) -> dict[str, pd.DataFrame]:
    """Read a tidy observation file, keeping the indicators the catalogue assigns to this dataset.

    Parameters
    ----------
    path : str or Path
        CSV with at least ``indicator_id, geo_id, period, vintage, value, status``.
    indicators : set of str
        Indicator ids to keep (the catalogue's indicators that list this dataset).
    reference_rules : dict
        Indicator id → reference-date rule (``january_1``, ``income_year``…).
    summed : set of str
        Indicators whose parents are sums of their communes: their aggregate rows are checked.
    ctx : ImportContext, optional
        Gives the store's territory hierarchy; needed only when the file has aggregate rows to check.

    Returns
    -------
    dict
        ``observation`` frame; commune rows only (``be:mun:`` geo ids).

    Raises
    ------
    SourceError
        If a column is missing, a status is unknown, a value is not numeric, none of the catalogue's
        indicators is in the file, or an official aggregate differs from the sum of its communes.
    """
    path = Path(path)
    frame = read_table(path, TIDY_COLUMNS)
    if "is_latest" in frame.columns:
        latest = frame["is_latest"].fillna("1").str.strip().str.lower()
        unknown = sorted(set(latest) - LATEST_VALUES - NOT_LATEST_VALUES)
        if unknown:
            raise SourceError(f"{path}: is_latest holds {unknown}; expected 1/0 or true/false.")
        frame = frame[latest.isin(LATEST_VALUES)]
    geo = frame["geo_id"].fillna("").str.strip().str.lower()
    if (geo == "").any():
        raise SourceError(f"{path}: {int((geo == '').sum())} row(s) without geo_id (first at data row "
                          f"{int((geo == '').to_numpy().argmax()) + 1}).")
    commune = geo.str.fullmatch(r"(be:mun:)?\d{4,5}")
    other_level = geo.str.fullmatch(r"be:(nat|reg|prov|arr):.*")
    strange = ~(commune | other_level)
    if strange.any():
        raise SourceError(f"{path}: geo_id {frame.loc[strange, 'geo_id'].iloc[0]!r} is neither a commune "
                          "(be:mun:62063) nor a higher level (be:prov:…).")
    # commune rows only; parents are recomputed from communes (higher-level rows are checked, never summed)
    upper = frame[other_level].assign(geo_id=geo[other_level])
    frame = frame[commune].assign(geo_id=geo[commune])
    present = set(frame["indicator_id"].unique())
    keep = present & indicators
    if not keep:
        raise SourceError(f"{path}: none of the catalogue's indicators {sorted(indicators)} is in the file "
                          f"(found {sorted(present)[:8]}). Add the file's indicators to catalogue.yml.")
    frame = frame[frame["indicator_id"].isin(keep)]
    status = frame["status"].str.strip().str.lower().map(STATUS_MAP)
    if status.isna().any():
        bad = sorted(set(frame.loc[status.isna(), "status"]))
        raise SourceError(f"{path}: unknown status value(s) {bad}; expected one of {sorted(STATUS_MAP)}.")
    value = numeric_column(frame["value"], path, "value")
    if (value.isna() & status.isin(["final", "provisional"])).any():
        raise SourceError(f"{path}: empty value on a row marked final/provisional.")
    # a value under a "suppressed"/"not published" status was not published: it is never stored or summed
    value = value.where(status.isin(["final", "provisional"]))
    period = whole_column(frame["period"], path, "period").astype(int)
    rules = frame["indicator_id"].map(lambda i: reference_rules.get(i, "january_1"))
    obs = pd.DataFrame({
        "indicator_id": frame["indicator_id"].values,
        "refnis": refnis_column(frame["geo_id"], path, "geo_id").values,
        "period": period.values,
        "reference_date": [reference_date(r, p) for p, r in zip(period, rules, strict=True)],
        "value": value.values, "status": status.values, "vintage": frame["vintage"].values,
    })
    dupes = obs.duplicated(["indicator_id", "refnis", "period"])
    if dupes.any():
        raise SourceError(f"{path}: {int(dupes.sum())} duplicate (indicator, commune, period) rows.")
    _check_official_aggregates(path, upper[upper["indicator_id"].isin(keep & set(summed))], obs, ctx)
    return {"observation": obs}


def _check_official_aggregates(path: Path, upper: pd.DataFrame, obs: pd.DataFrame, ctx) -> None:
    """The published aggregate rows of summed indicators against the sums of the commune observations."""
    if upper.empty:
        return
    status = upper["status"].str.strip().str.lower().map(STATUS_MAP)
    upper = upper[status.isin(["final", "provisional"])]
    if upper.empty:
        return
    code = upper["geo_id"].str.extract(r"^be:(?:nat|reg|prov|arr):(\d{5})$")[0]
    if code.isna().any():
        raise SourceError(f"{path}: aggregate geo_id {upper.loc[code.isna(), 'geo_id'].iloc[0]!r} does not end in a "
                          "5-digit REFNIS code (be:prov:60000), so it cannot be checked against its communes.")
    official = pd.DataFrame({"refnis": code.to_numpy(), "indicator_id": upper["indicator_id"].to_numpy(),
                             "period": whole_column(upper["period"], path, "period").astype(int).to_numpy(),
                             "value": numeric_column(upper["value"], path, "value").to_numpy()})
    communes = obs[obs["indicator_id"].isin(set(official["indicator_id"]))][["refnis", "indicator_id", "period",
                                                                              "value"]]
    check_aggregates(path, official, communes, store_territories(ctx, path), ["indicator_id", "period"],
                     tolerance=0.005, bound_when_empty=True)
