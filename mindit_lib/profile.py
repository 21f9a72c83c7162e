"""Figures for a territory and its parents, computed once from the store and the catalogue.

Commune values come from the store; arrondissement, province, region and country values are
recomputed from their communes — counts are summed only when every commune of the territory has a
value, ratios are built from summed numerators and denominators (never averaged). The PDF report,
the dashboards and the analysts all go through :func:`profile` (after Census Reporter's
``build_item``: one call gives a figure for the commune and every parent).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from mindit_lib.config import Config, load_config
from mindit_lib.formatting import format_value, is_missing
from mindit_lib.indicators import Catalogue, Indicator, load_catalogue
from mindit_lib.store import Store
from mindit_lib.territories import Territories, Territory

#: Roles shown beside a commune, nearest first.
PARENT_ROLES = ("arrondissement", "province", "region")


def aggregate_counts(obs: pd.DataFrame, membership: pd.DataFrame) -> pd.DataFrame:
    """Sum commune values up to every territory that contains the communes, where complete.

    Parameters
    ----------
    obs : DataFrame
        Commune rows: ``refnis, period, value, status``.
    membership : DataFrame
        ``commune, refnis``: each commune and every territory containing it (itself included); with
        ``valid_from, valid_to`` (the commune's dates) when the communes span several code lists (2011,
        2019, 2025).

    Returns
    -------
    DataFrame
        ``refnis, period, value, status, n_communes`` for each territory and period whose communes with a
        published value are exactly the territory's communes in one code list; other territory-periods are
        absent. A period that holds a dissolved commune beside its successor is never summed (that would
        count a territory twice).
    """
    published = obs["status"].isin(["final", "provisional"]) & obs["value"].notna()
    have = obs[published].rename(columns={"refnis": "commune"})
    have = have.assign(provisional=have["status"].eq("provisional"))
    lists = _list_memberships(membership)
    n_all = None
    if len(lists) > 1:
        n_all = (have.merge(membership[["commune", "refnis"]], on="commune")
                 .groupby(["refnis", "period"])["commune"].nunique().rename("n_all"))
    parts = [_complete_sums(have, members, n_all) for members in lists]
    grouped = pd.concat(parts, ignore_index=True).drop_duplicates(["refnis", "period"])
    grouped["status"] = np.where(grouped["provisional"], "provisional", "final")
    missing = obs[~published][["refnis", "period", "status"]].assign(value=np.nan, n_communes=1)
    out = pd.concat([grouped[["refnis", "period", "value", "status", "n_communes"]], missing], ignore_index=True)
    return out.sort_values(["refnis", "period"]).reset_index(drop=True)


def _list_memberships(membership: pd.DataFrame) -> list[pd.DataFrame]:
    """``commune, refnis`` pairs of each code list the communes' dates span (one frame when undated)."""
    if "valid_from" not in membership.columns:
        return [membership[["commune", "refnis"]]]
    start = pd.to_datetime(membership["valid_from"])
    end = pd.to_datetime(membership["valid_to"])
    dates = sorted(set(start.dropna()) | set(end.dropna()))
    if len(dates) <= 1:
        return [membership[["commune", "refnis"]]]
    return [membership.loc[(start.isna() | (start <= d)) & (end.isna() | (d < end)), ["commune", "refnis"]]
            for d in dates]


def _complete_sums(have: pd.DataFrame, members: pd.DataFrame, n_all: pd.Series | None) -> pd.DataFrame:
    """Sums over the territories of one code list whose every commune has a value (and no other commune)."""
    expected = members.groupby("refnis").size().rename("expected")
    merged = have.merge(members, on="commune")
    grouped = merged.groupby(["refnis", "period"]).agg(
        value=("value", "sum"), n_communes=("commune", "nunique"), provisional=("provisional", "max")).reset_index()
    grouped = grouped.join(expected, on="refnis")
    complete = grouped["n_communes"] == grouped["expected"]
    if n_all is not None:
        complete &= grouped.join(n_all, on=["refnis", "period"])["n_all"].to_numpy() == grouped["n_communes"]
    return grouped[complete]


def ratio_values(numerator: pd.DataFrame, denominator: pd.DataFrame, *, scale: float = 1.0,
                 period_offset: int = 0, fixed_period: bool = False) -> pd.DataFrame:
    """Divide two value frames territory by territory.

    Parameters
    ----------
    numerator, denominator : DataFrame
        ``refnis, period, value, status``.
    scale : float
        Multiplier (100 for a percentage).
    period_offset : int
        Use the denominator of ``period + offset`` (e.g. income of year Y over residents on 1/1/Y+1).
    fixed_period : bool
        Use the denominator's latest period for every numerator period (e.g. a fixed area).

    Returns
    -------
    DataFrame
        ``refnis, period, value, status`` where both parts exist and the denominator is not zero.
    """
    if fixed_period:
        den = denominator.dropna(subset=["value"])
        den = den.sort_values("period").groupby("refnis").tail(1)[["refnis", "value", "status"]]
        merged = numerator.merge(den, on="refnis", suffixes=("", "_den"))
    else:
        den = denominator.assign(period=denominator["period"] - period_offset)[["refnis", "period", "value", "status"]]
        merged = numerator.merge(den, on=["refnis", "period"], suffixes=("", "_den"))
    usable = merged["value"].notna() & merged["value_den"].notna() & (merged["value_den"] != 0)
    value = (scale * merged["value"] / merged["value_den"]).where(usable)
    # a part that was not published makes the ratio unpublished, with the same reason (never silently absent)
    status = _status_of_pair(merged["status"], merged["status_den"], usable)
    return pd.DataFrame({"refnis": merged["refnis"].values, "period": merged["period"].values,
                         "value": value.values, "status": status})


def _status_of_pair(left: pd.Series, right: pd.Series, usable: pd.Series) -> np.ndarray:
    """Status of a value computed from two parts: an unpublished part hides it with its reason; a provisional
    part makes it provisional."""
    hidden = np.where(right.isin(["confidential", "not_published"]), right, left)
    provisional = (left == "provisional") | (right == "provisional")
    return np.where(usable, np.where(provisional, "provisional", "final"), hidden)


def sum_values(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Add indicators territory by territory and period (e.g. the 0–14 and the 65+ year-olds).

    Parameters
    ----------
    parts : list of DataFrame
        ``refnis, period, value, status`` each (at least two).

    Returns
    -------
    DataFrame
        ``refnis, period, value, status`` where every part has a row; a missing or unpublished part makes
        the sum missing, with the part's status (never a partial sum).
    """
    out = parts[0][["refnis", "period", "value", "status"]]
    for part in parts[1:]:
        merged = out.merge(part[["refnis", "period", "value", "status"]], on=["refnis", "period"],
                           suffixes=("", "_2"))
        usable = merged["value"].notna() & merged["value_2"].notna()
        out = pd.DataFrame({"refnis": merged["refnis"].values, "period": merged["period"].values,
                            "value": (merged["value"] + merged["value_2"]).where(usable).values,
                            "status": _status_of_pair(merged["status"], merged["status_2"], usable)})
    return out.reset_index(drop=True)


def growth_values(frame: pd.DataFrame, lag: int) -> pd.DataFrame:
    """Change in % over ``lag`` periods: ``100 × (value(p) / value(p − lag) − 1)``, territory by territory.

    A parent's growth comes from its recomputed (summed) values at both ends, never from an average of its
    communes' growth rates.

    Parameters
    ----------
    frame : DataFrame
        ``refnis, period, value, status``.
    lag : int
        Number of periods (years) between the two values.

    Returns
    -------
    DataFrame
        ``refnis, period, value, status`` for every period that has a value ``lag`` periods before.
    """
    earlier = frame.assign(period=frame["period"] + lag)[["refnis", "period", "value", "status"]]
    merged = frame[["refnis", "period", "value", "status"]].merge(earlier, on=["refnis", "period"],
                                                                   suffixes=("", "_0"))
    usable = merged["value"].notna() & merged["value_0"].notna() & (merged["value_0"] != 0)
    value = (100 * (merged["value"] / merged["value_0"] - 1)).where(usable)
    return pd.DataFrame({"refnis": merged["refnis"].values, "period": merged["period"].values,
                         "value": value.values, "status": _status_of_pair(merged["status"], merged["status_0"],
                                                                          usable)})


class Figures:
    """Indicator values for every territory of the store (cached per indicator).

    Parameters
    ----------
    store : Store
        An open store.
    catalogue : Catalogue, optional
        Default: the packaged catalogue.
    """

    def __init__(self, store: Store, catalogue: Catalogue | None = None):
        self.store = store
        self.catalogue = catalogue or load_catalogue()
        self.territories = Territories(store.territories())
        self.membership = self.territories.membership()
        self._cache: dict[str, pd.DataFrame] = {}
        #: per-store memo for other derived frames (e.g. a province's age structure)
        self.memo: dict[tuple, object] = {}

    def values(self, indicator_id: str) -> pd.DataFrame:
        """``refnis, period, value, status`` of an indicator for every territory where it can be given."""
        if indicator_id not in self._cache:
            self._cache[indicator_id] = self._compute(self.catalogue.indicator(indicator_id))
        return self._cache[indicator_id]

    def _compute(self, ind: Indicator) -> pd.DataFrame:
        if ind.kind == "ratio":
            num = self.values(ind.numerator)
            spec = ind.denominator
            den = self.values(spec["indicator"])
            fixed = spec.get("period") == "latest"
            out = ratio_values(num, den, scale=ind.scale, period_offset=int(spec.get("period_offset", 0)),
                               fixed_period=fixed)
            fallback = spec.get("fallback")
            if fallback:
                alt = ratio_values(num, self.values(fallback["indicator"]), scale=ind.scale,
                                   period_offset=int(fallback.get("period_offset", 0)))
                # per territory and period: a published primary value, else a published fallback value, else
                # the primary's "not published" row, else the fallback's
                both = pd.concat([out.assign(_rank=np.where(out["value"].notna(), 0, 2)),
                                  alt.assign(_rank=np.where(alt["value"].notna(), 1, 3))], ignore_index=True)
                out = (both.sort_values("_rank").drop_duplicates(["refnis", "period"], keep="first")
                       .drop(columns="_rank"))
            return out.sort_values(["refnis", "period"]).reset_index(drop=True)
        if ind.kind == "sum":
            out = sum_values([self.values(part) for part in ind.parts])
            return out.sort_values(["refnis", "period"]).reset_index(drop=True)
        if ind.kind == "growth":
            out = growth_values(self.values(ind.of), ind.lag)
            return out.sort_values(["refnis", "period"]).reset_index(drop=True)
        obs = self._commune_observations().get(ind.id)
        if obs is None:
            obs = pd.DataFrame({"refnis": pd.Series(dtype="str"), "period": pd.Series(dtype="int64"),
                                "value": pd.Series(dtype="float64"), "status": pd.Series(dtype="str")})
        if ind.aggregation == "sum":
            return aggregate_counts(obs, self.membership)[["refnis", "period", "value", "status"]]
        return obs.reset_index(drop=True)

    @property
    def checksum(self) -> str:
        """The store's content checksum when these figures were loaded (cached: one query)."""
        if ("checksum",) not in self.memo:
            self.memo[("checksum",)] = self.store.content_checksum()
        return self.memo[("checksum",)]

    def imports(self) -> pd.DataFrame:
        """The store's latest successful import of each dataset (cached)."""
        if ("imports",) not in self.memo:
            self.memo[("imports",)] = self.store.latest_imports()
        return self.memo[("imports",)]

    def _by_territory(self, indicator_id: str) -> dict[str, pd.DataFrame]:
        key = ("by_territory", indicator_id)
        if key not in self.memo:
            frame = self.values(indicator_id).sort_values("period")
            self.memo[key] = {code: part for code, part in frame.groupby("refnis", sort=False)}
        return self.memo[key]

    def _commune_observations(self) -> dict[str, pd.DataFrame]:
        """Every base indicator's commune rows (no dimensions), loaded in one query and split by indicator."""
        key = ("commune_observations",)
        if key not in self.memo:
            base = [i.id for i in self.catalogue.indicators.values() if i.kind == "base" and not i.dimensions]
            communes = {t.refnis for t in self.territories if t.level == 5}
            obs = self.store.observations(base)
            obs = obs[obs["refnis"].isin(communes)][["indicator_id", "refnis", "period", "value", "status",
                                                     "dataset"]]
            self.memo[key] = {ind: part.drop(columns=["indicator_id", "dataset"]).reset_index(drop=True)
                              for ind, part in obs.groupby("indicator_id", sort=False)}
            # which dataset gave each commune value (the catalogue's priority already chose between them)
            self.memo[("provenance",)] = {ind: part[["refnis", "period", "dataset"]].reset_index(drop=True)
                                          for ind, part in obs.groupby("indicator_id", sort=False)}
        return self.memo[key]

    def source_datasets(self, indicator_id: str, periods: Iterable[int] | None = None,
                        territories: Iterable[str] | None = None) -> list[str]:
        """The datasets that provided an indicator's values for some periods (all when ``None``).

        For a derived indicator: those of its inputs, at the periods it uses (a denominator of another year,
        the fallback only for periods the main denominator lacks). ``territories`` restricts to the communes of
        those territories (a parent's value comes from all its communes). An indicator with dimensions or
        without stored rows falls back to the catalogue's datasets.
        """
        ind = self.catalogue.indicator(indicator_id)
        wanted = None if periods is None else {int(p) for p in periods}
        if ind.kind == "base":
            index = self._provenance_index(ind.id)
            members = None if territories is None else self._members(tuple(territories))
            found = {d for period, by_dataset in index.items() if wanted is None or period in wanted
                     for d, communes in by_dataset.items() if members is None or not communes.isdisjoint(members)}
            if not found:
                return list(ind.datasets)
            return [d for d in ind.datasets if d in found] + sorted(found - set(ind.datasets))

        def shifted(offset: int) -> set[int] | None:
            return None if wanted is None else {p + offset for p in wanted}

        uses: list[tuple[str, set[int] | None]] = []
        if ind.kind == "ratio":
            uses.append((ind.numerator, wanted))
            den = ind.denominator
            if den.get("period") == "latest":
                den_values = self.values(den["indicator"]).dropna(subset=["value"])
                latest = {int(den_values["period"].max())} if len(den_values) else None
                uses.append((den["indicator"], latest))
            else:
                main = shifted(int(den.get("period_offset", 0)))
                have = set(self.values(den["indicator"]).dropna(subset=["value"])["period"].astype(int))
                covered = main if main is None else main & have
                if covered is None or covered:
                    uses.append((den["indicator"], covered))
                fallback = den.get("fallback")
                if fallback and (main is None or main - have):
                    offset = int(fallback.get("period_offset", 0))
                    uses.append((fallback["indicator"], None if wanted is None else
                                 {p + offset for p in wanted if p + int(den.get("period_offset", 0)) not in have}))
        elif ind.kind == "sum":
            uses += [(part, wanted) for part in ind.parts]
        elif ind.kind == "growth":
            uses += [(ind.of, wanted), (ind.of, shifted(-ind.lag))]
        out: list[str] = []
        for ref, years in uses:
            out += self.source_datasets(ref, years, territories)
        return list(dict.fromkeys(out))

    def citation(self, indicator_id: str, periods: Iterable[int] | None = None,
                 territories: Iterable[str] | None = None, *, url: bool = False) -> str:
        """The ready-to-cite source line of a figure, exact and reproducible: the datasets that provided its
        values, each with its licence and the day its file was imported into the store (« consulté le »).

        Parameters
        ----------
        indicator_id : str
            The indicator.
        periods : iterable of int, optional
            The periods the figure shows (default: all).
        territories : iterable of str, optional
            REFNIS codes of the territories shown (default: all).
        url : bool
            Add each dataset's official location (exports).

        Returns
        -------
        str
            ``"Source : Population, au 1er janvier 2026 — Statbel, Population au 1er janvier par commune et
            grand groupe d'âge (2016–2026), licence : …, consulté le 3 décembre 2026."``
        """
        periods = None if periods is None else [int(p) for p in periods]
        datasets = self.source_datasets(indicator_id, periods, territories)
        consulted = {d: self.consulted(d) for d in datasets}
        return self.catalogue.citation(indicator_id, periods, datasets=datasets,
                                       consulted={d: day for d, day in consulted.items() if day}, url=url)

    def consulted(self, dataset_id: str) -> date | None:
        """The day the dataset's file was last imported into the store (« consulté le »), None if never."""
        runs = self.imports()
        row = runs[runs["dataset"] == dataset_id]
        return None if row.empty else row["finished"].iloc[0].date()

    def dataset_citation(self, dataset_id: str, *, url: bool = False) -> str:
        """A dataset cited with its licence and import day (see :meth:`Catalogue.dataset_citation`)."""
        return self.catalogue.dataset_citation(dataset_id, self.consulted(dataset_id), url=url)

    def _provenance_index(self, indicator_id: str) -> dict[int, dict[str, frozenset[str]]]:
        """period → dataset → communes it gave values for (built once per indicator)."""
        key = ("provenance_index", indicator_id)
        if key not in self.memo:
            prov = self._provenance().get(indicator_id)
            index: dict[int, dict[str, frozenset[str]]] = {}
            if prov is not None:
                for (period, dataset), part in prov.groupby(["period", "dataset"], sort=False):
                    index.setdefault(int(period), {})[dataset] = frozenset(part["refnis"])
            self.memo[key] = index
        return self.memo[key]

    def _members(self, territories: tuple[str, ...]) -> frozenset[str]:
        """The communes of some territories (each territory's own communes; a commune is its own)."""
        key = ("members", territories)
        if key not in self.memo:
            rows = self.membership[self.membership["refnis"].isin(list(territories))]
            self.memo[key] = frozenset(rows["commune"])
        return self.memo[key]

    def _provenance(self) -> dict[str, pd.DataFrame]:
        if ("provenance",) not in self.memo:
            self.memo.pop(("commune_observations",), None)
            self._commune_observations()
        return self.memo[("provenance",)]

    def value(self, indicator_id: str, refnis: str, period: int | None = None) -> tuple[float | None, int | None,
                                                                                        str | None]:
        """``(value, period, status)`` for one territory: the given period, or the latest one."""
        frame = self._by_territory(indicator_id).get(refnis)
        if frame is None:
            return None, period, None
        if period is not None:
            frame = frame[frame["period"] == period]
        if frame.empty:
            return None, period, None
        row = frame.iloc[-1]
        value = None if is_missing(row["value"]) else float(row["value"])
        return value, int(row["period"]), row["status"]


@dataclass
class Profile:
    """A commune and its parents, with the figures of the catalogue's indicators."""

    commune: Territory
    parents: list[Territory]
    figures: Figures
    notes: list[str] = field(default_factory=list)

    @property
    def catalogue(self) -> Catalogue:
        """The catalogue the figures come from."""
        return self.figures.catalogue

    @property
    def territories(self) -> list[Territory]:
        """The commune then its parents."""
        return [self.commune, *self.parents]

    def series(self, indicator_id: str, roles: tuple[str, ...] | None = None) -> pd.DataFrame:
        """Yearly values: ``refnis, territory, role, period, value, status`` (commune first)."""
        frame = self.figures.values(indicator_id)
        order = {t.refnis: i for i, t in enumerate(self.territories)}
        names = {t.refnis: t.display_name for t in self.territories}
        rolemap = {t.refnis: t.role for t in self.territories}
        out = frame[frame["refnis"].isin(order)].copy()
        out["territory"] = out["refnis"].map(names)
        out["role"] = out["refnis"].map(rolemap)
        if roles:
            out = out[out["role"].isin(roles)]
        out["_o"] = out["refnis"].map(order)
        out = out.sort_values(["_o", "period"]).drop(columns="_o")
        return out[["refnis", "territory", "role", "period", "value", "status"]].reset_index(drop=True)

    def latest(self, indicator_id: str, period: int | None = None) -> pd.DataFrame:
        """The commune's latest period (or ``period``) and each parent's value for that same period.

        Returns
        -------
        DataFrame
            ``territory, role, period, value, status, text`` — ``text`` formatted with unit, or
            ``"n.d. (…)"`` when the value is not available.
        """
        ind = self.catalogue.indicator(indicator_id)
        _, year, _ = self.figures.value(indicator_id, self.commune.refnis, period)
        rows = []
        for t in self.territories:
            value, _, status = self.figures.value(indicator_id, t.refnis, year) if year else (None, None, None)
            rows.append({"territory": t.display_name, "role": t.role, "refnis": t.refnis, "period": year,
                         "value": value, "status": status,
                         "text": format_value(value, ind.unit_short, ind.decimals, status=status)})
        return pd.DataFrame(rows)

    def citation(self, indicator_id: str, periods: Iterable[int] | None = None) -> str:
        """The ready-to-cite source line of a figure of this profile (see :meth:`Figures.citation`)."""
        return self.figures.citation(indicator_id, periods, [t.refnis for t in self.territories])

    def coverage_notes(self, indicator_id: str) -> list[str]:
        """Sentences naming parents that have no value for some periods the commune has."""
        series = self.series(indicator_id)
        own = set(series.loc[(series["role"] == "commune") & series["value"].notna(), "period"])
        notes = []
        for t in self.parents:
            have = set(series.loc[(series["refnis"] == t.refnis) & series["value"].notna(), "period"])
            lacking = sorted(own - have)
            if lacking:
                span = f"{lacking[0]}–{lacking[-1]}" if len(lacking) > 1 else str(lacking[0])
                notes.append(f"{t.display_name} : non calculé pour {span}, la source ne couvre pas toutes "
                             "ses communes pour ces années.")
        return notes


@lru_cache(maxsize=2)
def _open(store_path: str, mtime: float) -> Figures:
    return Figures(Store(store_path, read_only=True))


def figures(config: Config | None = None) -> Figures:
    """The shared :class:`Figures` of the configured store (opened read-only, reopened when it changes)."""
    config = config or load_config()
    path = Path(config.store_path)
    return _open(str(path), path.stat().st_mtime if path.exists() else 0.0)


def profile(refnis: object, config: Config | None = None, *, figures_: Figures | None = None) -> Profile:
    """Figures for a commune, its arrondissement, its province and its region.

    Parameters
    ----------
    refnis : str or int
        Commune code (``"62063"``) or name (``"Liège"``).
    config : Config, optional
        Default: :func:`mindit_lib.config.load_config`.

    Returns
    -------
    Profile

    Raises
    ------
    mindit_lib.territories.TerritoryError
        If the commune is unknown.
    """
    figs = figures_ or figures(config)
    commune = figs.territories.get(refnis, level=5)
    if commune.level != 5:
        raise ValueError(f"{commune.display_name} ({commune.refnis}) is a {commune.role}, not a commune.")
    parents = [a for a in figs.territories.ancestors(commune.refnis) if a.role in PARENT_ROLES]
    return Profile(commune, parents, figs)


def age_structure(prof: Profile, year: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Population by sex and age for the commune and its province.

    Returns
    -------
    tuple
        ``(commune_frame, province_frame, year)``; frames have ``sex, age, value``.
    """
    store = prof.figures.store
    if ("age_years",) not in prof.figures.memo:
        prof.figures.memo[("age_years",)] = store.query(
            "SELECT DISTINCT period FROM observation WHERE indicator_id = 'POPULATION_SEX_AGE' ORDER BY period")
    years = prof.figures.memo[("age_years",)]["period"].tolist()
    if not years:
        raise ValueError("no population by sex and age in the store: run `mindit import`.")
    year = year or int(years[-1])
    province = next(t for t in prof.parents if t.role == "province")
    key = ("age_structure", province.refnis, year)
    if key not in prof.figures.memo:
        communes = [t.refnis for t in prof.figures.territories.communes_of(province.refnis)]
        prof.figures.memo[key] = store.query(
            """SELECT refnis, sex, age, value FROM observation
               WHERE indicator_id = 'POPULATION_SEX_AGE' AND period = ? AND refnis IN (SELECT unnest(?))""",
            [year, communes])
    frame = prof.figures.memo[key]
    own = frame[frame["refnis"] == prof.commune.refnis][["sex", "age", "value"]].reset_index(drop=True)
    prov = frame.groupby(["sex", "age"], as_index=False)["value"].sum()
    return own, prov, year
