"""Business indicators from the KBO extract per commune, arrondissement and province, with disclosure control.

Every table is computed for the communes of the configured province, summed to their arrondissements and
the province, and protected by :func:`mindit_lib.kbo.disclosure.protect` before it is written to
``kbo_observation``: a cell counting 1 or 2 entities is suppressed, with complementary suppressions so that no
suppressed cell can be computed from the published cells and totals. A suppressed cell has ``value`` NULL
and ``status`` ``confidential`` and is shown as "n.d. (confidentiel)", never as 0. Tables that share their
totals (active enterprises, by sector, by legal form) are protected as one system (:func:`protect_family`): they
publish the same totals, and no suppressed cell can be computed by combining them. There is no table by age class
(see :func:`compute_indicators`).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from mindit_lib.kbo.disclosure import CONFIDENTIAL_TEXT, protect
from mindit_lib.kbo.sector import NOT_REPORTED

TOTAL = "_T"
NATURAL_PERSON = "PP"

INDICATORS = {
    "KBO_ENTERPRISES_ACTIVE": "Entreprises actives (siège ou, pour les personnes physiques, plus ancienne unité)",
    "KBO_ESTABLISHMENT_UNITS": "Unités d'établissement actives",
    "KBO_ENTERPRISES_BY_LEGAL_FORM": "Entreprises actives par forme juridique",
    "KBO_ENTERPRISE_CREATIONS": "Créations d'entreprises encore actives, par année de début",
    "KBO_ENTERPRISE_CESSATIONS": "Cessations d'entreprises (suppressions des extraits de mise à jour)",
    "KBO_ENTERPRISE_NET_CHANGE": "Solde créations − cessations",
    "KBO_NATURAL_PERSON_SHARE": "Part des personnes physiques parmi les entreprises actives (%)",
    "KBO_ENTERPRISE_MEAN_AGE": "Âge moyen des entreprises actives (années)",
}


@dataclass
class Hierarchy:
    """Communes of a province with their arrondissement (ordered: province, arrondissements, communes)."""

    province: str
    communes: dict[str, str]   # commune → arrondissement

    @property
    def arrondissements(self) -> list[str]:
        """Arrondissement codes, sorted."""
        return sorted(set(self.communes.values()))

    @property
    def rows(self) -> list[str]:
        """Every territory of a table: province, arrondissements, communes."""
        return [self.province, *self.arrondissements, *sorted(self.communes)]

    def equations(self, index: dict[str, int]) -> list[tuple[str, list[str]]]:
        """Territory sums: province = Σ arrondissements, arrondissement = Σ its communes."""
        out = [(self.province, self.arrondissements)]
        for arr in self.arrondissements:
            out.append((arr, sorted(c for c, a in self.communes.items() if a == arr)))
        return out


def province_hierarchy(con: duckdb.DuckDBPyConnection, province: str) -> Hierarchy:
    """The province's current communes and their arrondissements from the store's ``territory`` table."""
    rows = con.execute("""
        SELECT DISTINCT c.refnis, c.parent_refnis FROM territory c
        JOIN territory a ON a.refnis = c.parent_refnis AND a.level = 4
        WHERE c.level = 5 AND c.valid_to IS NULL AND a.parent_refnis = ?""", [province]).fetchall()
    if not rows:
        raise LookupError(f"no communes of province {province} in the store's territory table: run `mindit import`.")
    return Hierarchy(province, dict(rows))


def territory_grid(counts: pd.DataFrame, hierarchy: Hierarchy, categories: list[str]) -> pd.DataFrame:
    """Commune counts (``refnis, category, n``) as a territory × category grid summed to the arrondissements and
    the province (rows :attr:`Hierarchy.rows`; communes outside the hierarchy ignored; missing cells 0)."""
    grid = pd.DataFrame(0.0, index=hierarchy.rows, columns=list(categories))
    inside = counts[counts["refnis"].isin(hierarchy.communes) & counts["category"].isin(categories)]
    pivot = inside.pivot_table(index="refnis", columns="category", values="n", aggfunc="sum", fill_value=0)
    grid.loc[pivot.index, pivot.columns] = pivot.to_numpy(dtype=float)
    for arr in hierarchy.arrondissements:
        members = [c for c, a in hierarchy.communes.items() if a == arr]
        grid.loc[arr] = grid.loc[members].sum()
    grid.loc[hierarchy.province] = grid.loc[hierarchy.arrondissements].sum()
    return grid


def protect_table(counts: pd.DataFrame, hierarchy: Hierarchy, categories: list[str], *, with_total: bool,
                  totals: pd.DataFrame | None = None) -> pd.DataFrame:
    """Aggregate commune counts to every territory and protect the table.

    Parameters
    ----------
    counts : DataFrame
        ``refnis, category, n`` for communes (communes outside the hierarchy are ignored).
    categories : list of str
        Columns of the table, in order (missing combinations count 0).
    with_total : bool
        Publish a total column ``_T`` (row sums).
    totals : DataFrame, optional
        ``refnis, value, status`` of the total column as already published by another table: imposed
        (suppressed there ⇒ suppressed here; chosen as a complement here only when nothing else can protect a
        cell — the returned total rows then say so). Tables published together are better protected as one
        system: :func:`protect_family`.

    Returns
    -------
    DataFrame
        ``refnis, category, n, value, status`` (``value`` NULL where ``status`` is ``confidential``).
    """
    rows = hierarchy.rows
    cols = list(categories) + ([TOTAL] if with_total else [])
    grid = territory_grid(counts, hierarchy, categories)
    if with_total:
        grid[TOTAL] = grid[categories].sum(axis=1)
    n_cols = len(cols)
    at = {(r, c): i * n_cols + j for i, r in enumerate(rows) for j, c in enumerate(cols)}
    equations = []
    for col in cols:
        for total, parts in hierarchy.equations({}):
            equations.append((at[(total, col)], [at[(p, col)] for p in parts]))
    if with_total:
        for row in rows:
            equations.append((at[(row, TOTAL)], [at[(row, c)] for c in categories]))
    forced = np.zeros(len(at), dtype=bool)
    eligible = np.ones(len(at), dtype=bool)
    reserve = None
    if totals is not None and with_total:
        imposed = set(totals.loc[totals["status"] == "confidential", "refnis"])
        reserve = np.zeros(len(at), dtype=bool)
        for row in rows:
            eligible[at[(row, TOTAL)]] = False
            reserve[at[(row, TOTAL)]] = True
            forced[at[(row, TOTAL)]] = row in imposed
    suppressed = protect(grid.to_numpy().ravel(), equations, forced=forced, eligible=eligible, reserve=reserve)
    return published(grid, suppressed)


def published(grid: pd.DataFrame, suppressed: np.ndarray) -> pd.DataFrame:
    """A protected territory × category grid as rows ``refnis, category, n, value, status`` (``suppressed``: one
    flag per cell, row by row; ``value`` NULL where ``status`` is ``confidential``)."""
    out = grid.stack().rename("n").reset_index().rename(columns={"level_0": "refnis", "level_1": "category"})
    out["n"] = out["n"].astype(int)
    out["status"] = np.where(suppressed, "confidential", "final")
    out["value"] = out["n"].where(~suppressed)
    return out


def protect_family(total_counts: pd.DataFrame, parts: list[tuple[pd.DataFrame, list[str]]],
                   hierarchy: Hierarchy) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """Protect a totals table and the tables that break it down (by sector, by legal form…) as one system.

    The tables are published together, so an attacker combines them: a total suppressed in one breakdown may be
    computed from another (e.g. a commune whose published sectors give its total, which then gives a suppressed
    legal form). Every cell of every table is one unknown of a single set of equations — each table's territory
    sums, and for each breakdown, total = Σ its categories, the total being the *same* cell for all of them —
    protected at once by :func:`mindit_lib.kbo.disclosure.protect`. So all tables publish the same totals and no
    suppressed cell can be computed (or pinned to its bound) from everything published.

    Parameters
    ----------
    total_counts : DataFrame
        ``refnis, n`` (any ``category``) per commune: the totals.
    parts : list of (DataFrame, list of str)
        Each breakdown's commune counts (``refnis, category, n``) and its categories; per commune they must sum
        to the total.

    Returns
    -------
    tuple
        The protected totals (``refnis, category, n, value, status``, category ``_T``) and each breakdown (same
        columns, without a total column).

    Raises
    ------
    ValueError
        A breakdown whose cells do not sum to the totals.
    """
    totals = territory_grid(total_counts.assign(category=TOTAL), hierarchy, [TOTAL])
    grids = [territory_grid(counts, hierarchy, categories) for counts, categories in parts]
    for k, grid in enumerate(grids):
        diff = (grid.sum(axis=1) - totals[TOTAL]).abs()
        if (diff > 0).any():
            raise ValueError(f"breakdown {k} does not sum to the totals for {list(diff[diff > 0].index)[:5]}")
    tables = [totals, *grids]
    offsets = np.cumsum([0] + [g.size for g in tables])
    rows = hierarchy.rows
    pos = {r: i for i, r in enumerate(rows)}

    def cell(table: int, row: str, col: int) -> int:
        return int(offsets[table] + pos[row] * tables[table].shape[1] + col)

    equations = []
    for k, grid in enumerate(tables):
        for col in range(grid.shape[1]):
            for total, members in hierarchy.equations({}):
                equations.append((cell(k, total, col), [cell(k, m, col) for m in members]))
    for k, grid in enumerate(grids, start=1):
        for row in rows:
            equations.append((cell(0, row, 0), [cell(k, row, col) for col in range(grid.shape[1])]))
    values = np.concatenate([g.to_numpy().ravel() for g in tables])
    suppressed = protect(values, equations)
    out = [published(grid, suppressed[offsets[k]:offsets[k + 1]]) for k, grid in enumerate(tables)]
    return out[0], out[1:]


def display(value: float | None, status: str) -> str:
    """How a cell is shown: the count, or "n.d. (confidentiel)" for a suppressed cell (never 0)."""
    if status == "confidential":
        return CONFIDENTIAL_TEXT
    return f"{value:,.0f}".replace(",", "\u202f") if value is not None and not pd.isna(value) else "n.d."


def _counts(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pd.DataFrame:
    frame = con.execute(sql, params or []).df()
    return frame.astype({"refnis": str, "category": str})


def _snapshot(con: duckdb.DuckDBPyConnection) -> tuple[int, pd.Timestamp]:
    row = con.execute("SELECT extract_number, snapshot_date FROM kbo_extract ORDER BY extract_number DESC "
                      "LIMIT 1").fetchone()
    if row is None:
        raise LookupError("no KBO extract in the store: `mindit import kbo KboOpenData_…_Full.zip` first.")
    return int(row[0]), pd.Timestamp(row[1])


SECTION_SQL = f"""CASE WHEN m.section IS NULL THEN '{NOT_REPORTED}'
                       ELSE CAST(m.nace_version AS VARCHAR) || '-' || m.section END"""


def compute_indicators(con: duckdb.DuckDBPyConnection, province: str, *, creation_years: int = 10) -> pd.DataFrame:
    """Compute, protect and store (``kbo_observation``) every KBO indicator of :data:`INDICATORS`.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The store, after a KBO import (``kbo_location``, ``kbo_main_activity`` built).
    province : str
        REFNIS code of the province (``60000``).
    creation_years : int
        How many calendar years of creations to publish, up to the snapshot's year.

    Returns
    -------
    DataFrame
        ``indicator_id, refnis, period, reference_date, dimension, category, n, value, status, extract_number``
        (``n`` is the unprotected count, kept for checks and never published).
    """
    extract_number, snapshot = _snapshot(con)
    hier = province_hierarchy(con, province)
    year = snapshot.year
    enterprises = """
        FROM kbo_location l JOIN kbo_enterprise_v e ON e.enterprise_number = l.entity_number
        LEFT JOIN kbo_main_activity m ON m.entity_number = e.enterprise_number
        WHERE l.kind = 'enterprise' AND l.refnis IS NOT NULL"""
    sections = _counts(con, f"SELECT l.refnis, {SECTION_SQL} AS category, count(*) AS n {enterprises} GROUP BY ALL")
    # no table of enterprises by age class: its classes line up with the creation years published beside it
    # (exactly when the snapshot is 31 December), which would let suppressed creation cells be solved for; the
    # mean age (not published under 3 enterprises) says how old the firms are
    forms = _counts(con, f"""SELECT l.refnis, CASE WHEN e.type_of_enterprise = '1' THEN '{NATURAL_PERSON}'
                                ELSE coalesce(e.juridical_form_cac, e.juridical_form, 'inconnue') END AS category,
                                count(*) AS n {enterprises} GROUP BY ALL""")
    totals, (by_section, by_form) = protect_family(
        sections, [(sections, sorted(set(sections["category"]))), (forms, sorted(set(forms["category"])))], hier)
    by_form = by_form.assign(indicator_id="KBO_ENTERPRISES_BY_LEGAL_FORM", dimension="legal_form", period=year)
    tables: list[pd.DataFrame] = [
        totals.assign(indicator_id="KBO_ENTERPRISES_ACTIVE", dimension=None, category=None, period=year),
        by_section.assign(indicator_id="KBO_ENTERPRISES_ACTIVE", dimension="nace_section", period=year),
        by_form, _share(by_form, totals, year), _mean_age(con, enterprises, snapshot, hier)]
    units = _counts(con, f"""SELECT l.refnis, {SECTION_SQL} AS category, count(*) AS n
                             FROM kbo_location l LEFT JOIN kbo_main_activity m ON m.entity_number = l.entity_number
                             WHERE l.kind = 'establishment' AND l.refnis IS NOT NULL GROUP BY ALL""")
    unit_totals, (unit_sections,) = protect_family(units, [(units, sorted(set(units["category"])))], hier)
    tables.append(unit_totals.assign(indicator_id="KBO_ESTABLISHMENT_UNITS", dimension=None, category=None,
                                     period=year))
    tables.append(unit_sections.assign(indicator_id="KBO_ESTABLISHMENT_UNITS", dimension="nace_section",
                                       period=year))
    years = [str(y) for y in range(year - creation_years + 1, year + 1)]
    created = _counts(con, f"SELECT l.refnis, CAST(year(e.start_date) AS VARCHAR) AS category, count(*) AS n "
                           f"{enterprises} AND e.start_date IS NOT NULL GROUP BY ALL")
    creations = _by_year(created, hier, years, "KBO_ENTERPRISE_CREATIONS")
    tables.append(creations)
    ceased = _counts(con, """SELECT refnis, CAST(year(snapshot_date) AS VARCHAR) AS category, count(*) AS n
                             FROM kbo_cessation WHERE kind = 'enterprise' AND refnis IS NOT NULL GROUP BY ALL""")
    update_years = sorted({str(y) for (y,) in con.execute(
        "SELECT DISTINCT year(snapshot_date) FROM kbo_extract WHERE extract_type = 'update'").fetchall()})
    if update_years:
        cessations = _by_year(ceased, hier, update_years, "KBO_ENTERPRISE_CESSATIONS")
        tables.append(cessations)
        tables.append(_net(creations, cessations))
    out = pd.concat(tables, ignore_index=True)
    out["reference_date"] = snapshot.date()
    out["extract_number"] = extract_number
    out = out[["indicator_id", "refnis", "period", "reference_date", "dimension", "category", "n", "value",
               "status", "extract_number"]]
    con.register("_kbo_obs", out)
    con.execute("CREATE OR REPLACE TABLE kbo_observation AS SELECT * FROM _kbo_obs")
    con.unregister("_kbo_obs")
    return out


def _by_year(counts: pd.DataFrame, hier: Hierarchy, years: list[str], indicator: str) -> pd.DataFrame:
    table = protect_table(counts, hier, years, with_total=False)
    return table.assign(indicator_id=indicator, dimension=None, period=table["category"].astype(int),
                        category=None)


def _net(creations: pd.DataFrame, cessations: pd.DataFrame) -> pd.DataFrame:
    both = creations.merge(cessations, on=["refnis", "period"], suffixes=("_c", "_s"))
    hidden = (both["status_c"] == "confidential") | (both["status_s"] == "confidential")
    return pd.DataFrame({"indicator_id": "KBO_ENTERPRISE_NET_CHANGE", "refnis": both["refnis"],
                         "period": both["period"], "dimension": None, "category": None,
                         "n": both["n_c"] - both["n_s"],
                         "value": (both["n_c"] - both["n_s"]).where(~hidden),
                         "status": np.where(hidden, "confidential", "final")})


def _share(by_form: pd.DataFrame, totals: pd.DataFrame, year: int) -> pd.DataFrame:
    natural = by_form[by_form["category"] == NATURAL_PERSON].set_index("refnis")
    total = totals.set_index("refnis").reindex(natural.index)
    hidden = (natural["status"] == "confidential") | (total["status"] == "confidential")
    none = (total["n"] == 0) & ~hidden  # no enterprise at all (published as 0): a share has no meaning
    share = (natural["n"] / total["n"].where(total["n"] > 0) * 100).round(1)
    return pd.DataFrame({"indicator_id": "KBO_NATURAL_PERSON_SHARE", "refnis": natural.index, "period": year,
                         "dimension": None, "category": None, "n": natural["n"].to_numpy(),
                         "value": share.where(~hidden & ~none).to_numpy(),
                         "status": np.select([hidden, none], ["confidential", "missing"], "final")})


def _mean_age(con: duckdb.DuckDBPyConnection, enterprises: str, snapshot: pd.Timestamp,
              hier: Hierarchy) -> pd.DataFrame:
    frame = con.execute(f"""SELECT l.refnis, count(*) AS n,
                                   sum(date_diff('day', e.start_date, DATE '{snapshot.date()}')) / 365.25 AS years
                            {enterprises} AND e.start_date IS NOT NULL GROUP BY 1""").df().set_index("refnis")
    frame = frame.reindex(sorted(hier.communes), fill_value=0)
    frame["arr"] = [hier.communes[c] for c in frame.index]
    sums = pd.concat([frame[["n", "years"]], frame.groupby("arr")[["n", "years"]].sum(),
                      frame[["n", "years"]].sum().to_frame(hier.province).T])
    none, hidden = sums["n"] == 0, (sums["n"] > 0) & (sums["n"] < 3)  # none: no enterprise (published as 0)
    return pd.DataFrame({"indicator_id": "KBO_ENTERPRISE_MEAN_AGE", "refnis": sums.index, "period": snapshot.year,
                         "dimension": None, "category": None, "n": sums["n"].astype(int).to_numpy(),
                         "value": (sums["years"] / sums["n"].where(sums["n"] > 0)).round(1).where(~hidden).to_numpy(),
                         "status": np.select([hidden, none], ["confidential", "missing"], "final")})
