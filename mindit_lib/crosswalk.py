"""The dated crosswalk of commune codes (REFNIS 2011 → 2019 → 2025) and harmonisation of values through it.

The table is ``mindit_lib/reference/refnis_crosswalk.csv``; its README cites the official source (Statbel's
REFNIS code lists) and says what the mirror can and cannot confirm.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path

import pandas as pd

CROSSWALK_FILE = Path(__file__).resolve().parent / "reference" / "refnis_crosswalk.csv"
CROSSWALK_COLUMNS = ["old_refnis", "old_name_fr", "old_name_nl", "new_refnis", "new_name_fr", "new_name_nl",
                     "valid_from", "relation", "evidence"]
RELATIONS = {"merged", "recoded", "absorbed"}


class CrosswalkError(ValueError):
    """Codes cannot be carried from one geography to another; the message lists the codes."""


@lru_cache(maxsize=1)
def _load(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    missing = [c for c in CROSSWALK_COLUMNS if c not in frame.columns]
    if missing:
        raise CrosswalkError(f"{path}: missing column(s) {', '.join(missing)}.")
    bad = frame[~frame["old_refnis"].str.fullmatch(r"\d{5}") | ~frame["new_refnis"].str.fullmatch(r"\d{5}")]
    if not bad.empty:
        raise CrosswalkError(f"{path}: line {bad.index[0] + 2}: codes must be 5 digits.")
    if not set(frame["relation"]) <= RELATIONS:
        raise CrosswalkError(f"{path}: relation must be one of {sorted(RELATIONS)}.")
    if frame["old_refnis"].duplicated().any():
        raise CrosswalkError(f"{path}: {frame.loc[frame['old_refnis'].duplicated(), 'old_refnis'].iloc[0]} "
                             "has two successors.")
    frame["valid_from"] = pd.to_datetime(frame["valid_from"], format="%Y-%m-%d").dt.date
    return frame


def load_crosswalk(path: str | Path | None = None) -> pd.DataFrame:
    """The crosswalk: one row per code that disappeared, with its successor and the date of the change.

    Parameters
    ----------
    path : str or Path, optional
        Another table in the same layout (default: the one shipped in ``mindit_lib/reference``).

    Returns
    -------
    DataFrame
        ``old_refnis, old_name_fr, old_name_nl, new_refnis, new_name_fr, new_name_nl, valid_from (date),
        relation, evidence``.
    """
    return _load(Path(path) if path else CROSSWALK_FILE).copy()


def successor(code: str, at: date, crosswalk: pd.DataFrame | None = None) -> str:
    """The code that holds a commune's territory on a date (the code itself when it did not change).

    Follows chains (a 2011 code recoded in 2019 and merged in 2025 gives the 2025 code).
    """
    cw = load_crosswalk() if crosswalk is None else crosswalk
    step = {r.old_refnis: (r.new_refnis, r.valid_from) for r in cw.itertuples()}
    seen = set()
    while code in step and step[code][1] <= at:
        if code in seen:
            raise CrosswalkError(f"the crosswalk loops at {code}.")
        seen.add(code)
        code = step[code][0]
    return code


def successor_map(codes: pd.Series | list[str], at: date, crosswalk: pd.DataFrame | None = None) -> dict[str, str]:
    """``{code: successor(code, at)}`` for every distinct code given."""
    cw = load_crosswalk() if crosswalk is None else crosswalk
    return {c: successor(c, at, cw) for c in pd.unique(pd.Series(codes, dtype="string").dropna())}


def harmonise(frame: pd.DataFrame, from_date: date, to_date: date, *, value_columns: list[str] | None = None,
              code_column: str = "refnis", crosswalk: pd.DataFrame | None = None) -> pd.DataFrame:
    """Carry additive values from the communes of one date to those of a later date, summing merged ones.

    Parameters
    ----------
    frame : DataFrame
        One row per commune (and per value of any other key column, e.g. ``period``): ``code_column``,
        the ``value_columns`` (counts, totals — never rates or per-inhabitant values) and key columns.
    from_date : date
        The geography the frame's codes belong to (e.g. ``date(2011, 1, 1)`` for 589 communes).
    to_date : date
        The geography wanted (e.g. ``date(2025, 1, 1)``); not earlier than ``from_date``.
    value_columns : list of str, optional
        Columns to sum (default: ``["value"]``).
    code_column : str
        The column of REFNIS codes.
    crosswalk : DataFrame, optional
        Default: :func:`load_crosswalk`.

    Returns
    -------
    DataFrame
        Same columns, codes of ``to_date``; merged communes are summed. A merged commune one of whose
        parts has no value gets no value (a partial sum is not the commune's value).

    Raises
    ------
    CrosswalkError
        ``to_date`` before ``from_date`` (merged values cannot be split back), or codes that do not
        belong to the geography of ``from_date`` (gone before it, or created after it: the frame mixes
        geographies and a sum would count a territory twice). The message lists every such code.
    """
    cw = load_crosswalk() if crosswalk is None else crosswalk
    if to_date < from_date:
        raise CrosswalkError(f"cannot harmonise {from_date:%Y-%m-%d} values to the earlier geography of "
                             f"{to_date:%Y-%m-%d}: merged communes cannot be split back into the old ones.")
    values = value_columns or ["value"]
    keys = [c for c in frame.columns if c not in values and c != code_column]
    codes = set(frame[code_column].dropna())
    gone = cw.loc[cw["valid_from"] <= from_date, "old_refnis"]
    created = cw.loc[(cw["valid_from"] > from_date) & (cw["relation"] != "absorbed"), "new_refnis"]
    foreign = sorted(codes & (set(gone) | set(created)))
    if foreign:
        raise CrosswalkError(f"code(s) {', '.join(foreign)} do not belong to the communes of "
                             f"{from_date:%Y-%m-%d} (gone before, or created after): the frame mixes geographies.")
    mapped = frame.assign(**{code_column: frame[code_column].map(successor_map(list(codes), to_date, cw))})
    group = [code_column, *keys]
    out = mapped.groupby(group, dropna=False, sort=True)[values].sum(min_count=1)
    incomplete = mapped[values].isna().groupby([mapped[c] for c in group], dropna=False).any()
    out = out.mask(incomplete.reindex(out.index).astype(bool))
    return out.reset_index()[frame.columns.tolist()]


def code_list_problems(lists: dict[date, set[str]], crosswalk: pd.DataFrame | None = None) -> list[str]:
    """Check the crosswalk against official commune code lists; return the problems found (none: ``[]``).

    Parameters
    ----------
    lists : dict
        Date of each list → its commune codes (e.g. 2011 → 589 codes, 2019 → 581, 2025 → 565).

    Returns
    -------
    list of str
        One sentence per problem: a disappearing code missing from the table or dated wrongly, a successor
        absent from the later list, a new code no row leads to, a relation the lists contradict, a row
        that no pair of lists explains.
    """
    cw = load_crosswalk() if crosswalk is None else crosswalk
    rows = cw.set_index("old_refnis")
    problems: list[str] = []
    dates = sorted(lists)
    explained: set[str] = set()
    for before, after in zip(dates, dates[1:], strict=False):
        old, new = lists[before], lists[after]
        for code in sorted(old - new):
            explained.add(code)
            if code not in rows.index:
                problems.append(f"{code} is in the {before:%Y} list, not in the {after:%Y} list, and not in the table")
                continue
            row = rows.loc[code]
            if row["valid_from"] != after:
                problems.append(f"{code}: valid_from {row['valid_from']} but it disappears in the {after:%Y} list")
            if row["new_refnis"] not in new:
                problems.append(f"{code}: successor {row['new_refnis']} is not in the {after:%Y} list")
            n_before = int((cw["new_refnis"] == row["new_refnis"]).sum())
            expected = ("absorbed" if row["new_refnis"] in old else "merged" if n_before > 1 else "recoded")
            if row["relation"] != expected:
                problems.append(f"{code}: relation {row['relation']}, the lists say {expected}")
        for code in sorted(new - old):
            if not ((cw["new_refnis"] == code) & (cw["valid_from"] == after)).any():
                problems.append(f"{code} appears in the {after:%Y} list but no row of the table leads to it")
    for code in sorted(set(rows.index) - explained):
        problems.append(f"{code} is in the table but no pair of lists shows it disappearing")
    return problems


def differences(other: pd.DataFrame, crosswalk: pd.DataFrame | None = None) -> pd.DataFrame:
    """Compare another crosswalk (e.g. a third party's) with the reference table, row by row.

    Parameters
    ----------
    other : DataFrame
        ``old_refnis, new_refnis, relation, valid_from`` (date of the change).

    Returns
    -------
    DataFrame
        ``old_refnis, field, reference, other``: one row per code missing on one side (field ``row``) and
        per differing successor, relation or date. Empty when both agree.
    """
    cw = load_crosswalk() if crosswalk is None else crosswalk
    merged = cw.merge(other, on="old_refnis", how="outer", suffixes=("_ref", "_other"), indicator=True)
    rows = []
    for r in merged.to_dict("records"):
        if r["_merge"] == "left_only":
            rows.append((r["old_refnis"], "row", "present", "absent"))
            continue
        if r["_merge"] == "right_only":
            rows.append((r["old_refnis"], "row", "absent", "present"))
            continue
        for field in ("new_refnis", "relation", "valid_from"):
            a, b = r[f"{field}_ref"], r[f"{field}_other"]
            if str(a) != str(b):
                rows.append((r["old_refnis"], field, str(a), str(b)))
    return pd.DataFrame(rows, columns=["old_refnis", "field", "reference", "other"])


def mixed_geographies(obs: pd.DataFrame, crosswalk: pd.DataFrame | None = None) -> pd.DataFrame:
    """Rows where one indicator and period hold a value for a dissolved commune and for its new code.

    A commune absorbed by one that keeps its code (Borsbeek 11007 → Antwerpen 11002) is not counted: before
    the reform both codes rightly have values.

    Parameters
    ----------
    obs : DataFrame
        ``indicator_id, refnis, period, value``.

    Returns
    -------
    DataFrame
        ``indicator_id, period, old_refnis, new_refnis``; empty when no period mixes two code lists.
    """
    cw = load_crosswalk() if crosswalk is None else crosswalk
    cw = cw.loc[cw["relation"] != "absorbed", ["old_refnis", "new_refnis"]]
    have = obs.loc[obs["value"].notna(), ["indicator_id", "period", "refnis"]].drop_duplicates()
    old = have.merge(cw, left_on="refnis", right_on="old_refnis")
    both = old.merge(have.rename(columns={"refnis": "new_refnis"}), on=["indicator_id", "period", "new_refnis"])
    return both[["indicator_id", "period", "old_refnis", "new_refnis"]].reset_index(drop=True)
