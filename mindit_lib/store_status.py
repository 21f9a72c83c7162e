"""What ``mindit status`` prints: each dataset with its role, and each indicator's coverage by code list."""

from __future__ import annotations

import pandas as pd

from mindit_lib.indicators import Catalogue
from mindit_lib.store import Store
from mindit_lib.territories import Territories

#: reference tables and what one row is
REFERENCE_TABLES = {"postal_code": "postal code–commune pairs", "nace_label": "NACE-BEL codes",
                    "code_label": "KBO/BCE codes", "statistical_sector": "statistical sectors",
                    "refnis_crosswalk": "code changes"}


def dataset_lines(store: Store, catalogue: Catalogue) -> list[str]:
    """One line per catalogue dataset: id, rows, last import, checksum, file, and plainly what it gives."""
    runs = store.latest_imports().set_index("dataset")
    held = {table: store.query(f"SELECT dataset, count(*) AS n FROM {table} GROUP BY 1").set_index("dataset")["n"]
            for table in REFERENCE_TABLES}
    diffs = store.query("SELECT dataset, count(*) AS n, string_agg(old_refnis || ' → ' || new_refnis || ' ' || "
                        "differs_from_reference, '; ' ORDER BY old_refnis) AS what FROM refnis_crosswalk "
                        "WHERE differs_from_reference IS NOT NULL GROUP BY 1").set_index("dataset")
    width = max(len(d) for d in catalogue.datasets) + 1
    lines = []
    for ds in catalogue.datasets.values():
        if ds.role == "register":
            lines.extend(register_lines(store, ds.id, ds.mirror_path, width))
            continue
        if ds.id not in runs.index:
            lines.append(f"{ds.id:<{width}} not imported  ({ds.mirror_path})")
            continue
        r = runs.loc[ds.id]
        what = {"observations": "observations", "territories": "territories, names and shapes"}.get(ds.role, ds.role)
        if ds.role == "reference":
            what = "reference table " + ", ".join(f"{t} ({int(held[t][ds.id]):,} {REFERENCE_TABLES[t]})"
                                                  for t in REFERENCE_TABLES if ds.id in held[t].index)
            if ds.id in diffs.index:
                what += (f"; {int(diffs.loc[ds.id, 'n'])} date(s) differ from mindit_lib/reference/"
                         f"refnis_crosswalk.csv: {diffs.loc[ds.id, 'what']}")
        elif ds.role == "verification":
            what = (f"check only: its {int(r['rows'])} communes are identical to {ds.verifies} "
                    "(codes, names, attributes, shapes); adds no data")
        lines.append(f"{ds.id:<{width}} {int(r['rows']):>9} rows  imported {r['finished']:%Y-%m-%d %H:%M}  "
                     f"sha256 {r['sha256'][:12]}  {ds.mirror_path}\n{'':<{width}} → {what}")
    return lines


def register_lines(store: Store, dataset_id: str, folder: str, width: int) -> list[str]:
    """The KBO extracts applied (newest first) and the indicators computed from them."""
    tables = set(store.query("SELECT table_name FROM information_schema.tables")["table_name"])
    if "kbo_extract" not in tables or store.query("SELECT count(*) AS n FROM kbo_extract")["n"].iloc[0] == 0:
        return [f"{dataset_id:<{width}} no extract  ({folder}/KboOpenData_…_Full.zip; optional: the economy "
                "sections use Statbel's establishment units)"]
    rows = store.query("SELECT * FROM kbo_extract ORDER BY extract_number DESC, applied DESC")
    first = rows.iloc[0]
    lines = [f"{dataset_id:<{width}} {int(first['rows']):>9} rows  imported {first['applied']:%Y-%m-%d %H:%M}  "
             f"sha256 {str(first['sha256'])[:12]}  {first['file']}\n{'':<{width}} → register: {len(rows)} extract(s) "
             f"applied, latest n° {int(first['extract_number'])} ({first['extract_type']}) of "
             f"{first['snapshot_date']:%d-%m-%Y}"]
    if "kbo_observation" in tables:
        held = store.query("""SELECT max(extract_number) AS n, count(DISTINCT indicator_id) AS k,
                                     count_if(status = 'confidential') AS c, count(*) AS cells FROM kbo_observation""")
        h = held.iloc[0]
        stale = ("" if h["n"] == first["extract_number"] else
                 f" — NOT from the latest extract applied (n° {int(first['extract_number'])}): the last computation "
                 "failed (see its import_run row, dataset bce_kbo_indicators); run `mindit update` again")
        lines.append(f"{'':<{width}} → indicators: {int(h['k'])} from extract n° {int(h['n'])}, {int(h['cells'])} "
                     f"cells of which {int(h['c'])} confidential{stale}")
    return lines


def coverage(store: Store, territories: Territories, communes: list[str]) -> pd.DataFrame:
    """Per indicator and period: communes with a value in Belgium and among ``communes``, and the code lists
    (2011, 2019, 2025) all those communes belong to.

    Returns
    -------
    DataFrame
        ``indicator_id, period, all_communes, province_communes, lists`` (``lists`` is text such as
        ``"2025"`` or ``"2011/2019/2025"``, ``"MIXED"`` when a period holds a dissolved commune beside its
        successor, which a national count would take twice).
    """
    obs = store.query("SELECT DISTINCT indicator_id, period, refnis FROM observation WHERE value IS NOT NULL")
    own = set(communes)
    rows = []
    for (ind, period), part in obs.groupby(["indicator_id", "period"], sort=True):
        codes = set(part["refnis"])
        dates = [d for d in territories.lists_holding(codes) if d is not None]
        years = sorted({max(d.year, 2011) for d in dates})
        lists = "/".join(str(y) for y in years) if dates else "MIXED"
        rows.append((ind, int(period), len(codes), len(codes & own), lists))
    return pd.DataFrame(rows, columns=["indicator_id", "period", "all_communes", "province_communes", "lists"])


STATUS_WHY = {"not_published": "non publié par la source", "confidential": "confidentiel",
              "provisional": "provisoire, sans valeur"}


def province_gaps(store: Store, territories: Territories, communes: list[str]) -> dict[str, str]:
    """Per indicator whose latest year misses some of ``communes``: which ones and why, as one line of text.

    "Why" is the observation's status when the source has a row without a value (not published,
    confidential…), else "absent du fichier" (the source has no row for that commune and year).
    """
    own = list(communes)
    rows = store.query("""
        SELECT indicator_id, period, refnis, max(value) AS value, min(status) AS status
        FROM observation WHERE refnis IN (SELECT unnest(?)) AND sex IS NULL AND age IS NULL
        GROUP BY 1, 2, 3""", [own])
    lines: dict[str, str] = {}
    for ind, part in rows.groupby("indicator_id"):
        last = int(part["period"].max())
        latest = part[part["period"] == last].set_index("refnis")
        with_value = set(latest.index[latest["value"].notna()])
        missing = [c for c in own if c not in with_value]
        if not missing:
            continue
        why = []
        for code in missing:
            reason = (STATUS_WHY.get(latest.at[code, "status"], latest.at[code, "status"]) if code in latest.index
                      else "absent du fichier")
            why.append(f"{territories.get(code).display_name} ({code}) : {reason}")
        lines[ind] = f"missing in {last}: " + "; ".join(why)
    return lines


def derived_lines(figures, communes: list[str]) -> list[str]:
    """One line per derived indicator (ratios, sums, growth rates computed by :mod:`mindit_lib.profile`): its
    years and the communes of ``communes`` with a value in the first and the latest year, then which ones miss
    the latest year and why (the reason carried by the computed row: an unpublished or missing input)."""
    own = set(communes)
    lines = []
    for ind in sorted((i for i in figures.catalogue.indicators.values() if i.kind != "base"), key=lambda i: i.id):
        values = figures.values(ind.id)
        part = values[values["refnis"].isin(own)]
        filled = part[part["value"].notna()]
        if filled.empty:
            lines.append(f"{ind.id:<40} ({ind.kind}) no value for these communes: its inputs are not in the store")
            continue
        first, last = int(filled["period"].min()), int(filled["period"].max())
        count = filled.groupby("period")["refnis"].nunique()
        lines.append(f"{ind.id:<40} {first}–{last}  ({ind.kind}) province {count[first]} → {count[last]}")
        missing = sorted(own - set(filled.loc[filled["period"] == last, "refnis"]))
        if missing:
            rows = part[part["period"] == last].set_index("refnis")["status"]
            why = [f"{figures.territories.get(c).display_name} ({c}) : "
                   f"{STATUS_WHY.get(rows.get(c), rows.get(c)) if c in rows.index else 'une donnée source manque'}"
                   for c in missing]
            lines.append(f"{'':<40} missing in {last}: " + "; ".join(why))
    return lines


def kbo_indicator_lines(store: Store, communes: list[str]) -> list[str]:
    """Per KBO indicator (no breakdown): its periods and, among ``communes``, how many have a published value
    and how many are confidential (suppressed by disclosure control)."""
    tables = set(store.query("SELECT table_name FROM information_schema.tables")["table_name"])
    if "kbo_observation" not in tables:
        return []
    rows = store.query("""
        SELECT indicator_id, min(period) AS first, max(period) AS last,
               count(DISTINCT refnis) FILTER (WHERE value IS NOT NULL AND period = p.last_period) AS published,
               count(DISTINCT refnis) FILTER (WHERE status = 'confidential' AND period = p.last_period) AS hidden
        FROM kbo_observation JOIN (SELECT indicator_id, max(period) AS last_period FROM kbo_observation
                                   GROUP BY 1) p USING (indicator_id)
        WHERE dimension IS NULL AND refnis IN (SELECT unnest(?))
        GROUP BY 1 ORDER BY 1""", [list(communes)])
    return [f"{r.indicator_id:<40} {r.first}–{r.last}  (BCE/KBO) province {r.published} published, {r.hidden} "
            f"confidential (n.d.) in {r.last}" for r in rows.itertuples()]
