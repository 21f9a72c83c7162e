"""Figures of the « Économie locale » section: from the BCE/KBO register when an extract is in the store, from
Statbel's establishment units otherwise — always with the source and its date.

The KBO figures are read as published by :mod:`mindit_lib.kbo.indicators` (``kbo_observation``): commune,
arrondissement and province values after disclosure control. They are never recomputed here: a parent summed
from communes whose small cells were suppressed would be wrong, and a suppressed cell is shown as
« n.d. (confidentiel) », never as 0. :mod:`mindit_lib.sections` draws these frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from mindit_lib.formatting import format_date, format_value
from mindit_lib.profile import Profile

DATASET = "bce_kbo_open_data"
#: stocks at the extract's date, then flows of the last complete calendar year
KBO_STOCKS = ("KBO_ENTERPRISES_ACTIVE", "KBO_ESTABLISHMENT_UNITS", "KBO_NATURAL_PERSON_SHARE",
              "KBO_ENTERPRISE_MEAN_AGE")
KBO_FLOWS = ("KBO_ENTERPRISE_CREATIONS", "KBO_ENTERPRISE_CESSATIONS", "KBO_ENTERPRISE_NET_CHANGE")
KBO_FIGURES = (*KBO_STOCKS, *KBO_FLOWS)
#: the Statbel series used without an extract
STATBEL_FIGURES = ("ESTABLISHMENT_UNITS", "ESTABLISHMENT_UNITS_PER_1000_INHABITANTS")


@dataclass(frozen=True)
class KboSnapshot:
    """The extract the stored KBO indicators come from."""

    number: int
    kind: str
    snapshot_date: date
    applied: date  # the day it was imported into the store (« consulté le »)

    @property
    def text(self) -> str:
        """``"extrait n° 140 du 3 octobre 2025"``."""
        return f"extrait n° {self.number} du {format_date(self.snapshot_date)}"


def kbo_extract_without_indicators(prof: Profile) -> int | None:
    """The number of the latest extract in the store when no KBO indicator was computed for the commune's
    province (another province configured when they were, or the computation failed), else None."""
    store = prof.figures.store
    tables = set(store.query("SELECT table_name FROM information_schema.tables")["table_name"])
    if "kbo_extract" not in tables or kbo_snapshot(prof) is not None:
        return None
    latest = store.query("SELECT max(extract_number) AS n FROM kbo_extract")["n"].iloc[0]
    return None if pd.isna(latest) else int(latest)


def kbo_snapshot(prof: Profile) -> KboSnapshot | None:
    """The extract behind the store's KBO indicators for the commune's province, None when there is none
    (the section then uses Statbel's series)."""
    key = ("kbo_snapshot", _province(prof))
    if key not in prof.figures.memo:
        store = prof.figures.store
        tables = set(store.query("SELECT table_name FROM information_schema.tables")["table_name"])
        snap = None
        if {"kbo_observation", "kbo_extract"} <= tables:
            row = store.query("""
                SELECT e.extract_number, e.extract_type, e.snapshot_date, e.applied
                FROM kbo_extract e WHERE e.extract_number = (
                    SELECT max(extract_number) FROM kbo_observation WHERE refnis = ?)
                ORDER BY e.applied DESC LIMIT 1""", [_province(prof)])
            if not row.empty:
                r = row.iloc[0]
                snap = KboSnapshot(int(r["extract_number"]), str(r["extract_type"]),
                                   pd.Timestamp(r["snapshot_date"]).date(), pd.Timestamp(r["applied"]).date())
        prof.figures.memo[key] = snap
    return prof.figures.memo[key]


def _province(prof: Profile) -> str:
    """REFNIS code of the commune's province."""
    return next(t.refnis for t in prof.parents if t.role == "province")


def _kbo_cells(prof: Profile, snap: KboSnapshot) -> pd.DataFrame:
    key = ("kbo_cells", snap.number, prof.commune.refnis)
    if key not in prof.figures.memo:
        prof.figures.memo[key] = prof.figures.store.query(
            """SELECT indicator_id, refnis, period, dimension, category, value, status FROM kbo_observation
               WHERE extract_number = ? AND refnis IN (SELECT unnest(?))""",
            [snap.number, [t.refnis for t in prof.territories]])
    return prof.figures.memo[key]


def kbo_territories(prof: Profile) -> list:
    """The commune and the parents the KBO indicators are published for (arrondissement, province)."""
    return [t for t in prof.territories if t.role in ("commune", "arrondissement", "province")]


def update_coverage(prof: Profile) -> dict[int, tuple[date | None, date, bool]]:
    """Per calendar year of the update extracts applied: the span their deletions cover — from the snapshot of
    the extract before the year's first update (None when the store does not hold it) to the year's last
    update — and whether that span covers the whole year (from 1 January or before, to 31 December or after)."""
    key = ("kbo_updates",)
    if key not in prof.figures.memo:
        rows = prof.figures.store.query("""SELECT extract_number, extract_type, snapshot_date FROM kbo_extract
                                           ORDER BY extract_number, applied""")
        snaps = {int(r.extract_number): pd.Timestamp(r.snapshot_date).date() for r in rows.itertuples()}
        spans: dict[int, tuple[date | None, date, bool]] = {}
        for r in rows[rows["extract_type"] == "update"].itertuples():
            end = pd.Timestamp(r.snapshot_date).date()
            start = snaps.get(int(r.extract_number) - 1)
            if end.year in spans:
                first, _, _ = spans[end.year]
                start = first
            complete = start is not None and start <= date(end.year, 1, 1) and end >= date(end.year, 12, 31)
            spans[end.year] = (start, end, complete)
        prof.figures.memo[key] = spans
    return prof.figures.memo[key]


#: French plural units that take the singular with 0 and 1 (« 0 entreprise »)
SINGULAR = {"entreprises": "entreprise"}


def _text(value: float | None, status: str | None, unit: str, decimals: int) -> str:
    if value is not None and abs(value) < 2 and unit in SINGULAR:
        unit = SINGULAR[unit]
    return format_value(value, unit, decimals, status=status)


def kbo_table(prof: Profile, snap: KboSnapshot) -> pd.DataFrame:
    """One row per KBO figure: ``indicator_id, label, period, when`` and one text column per territory
    (French format with unit; « n.d. (confidentiel) » for a suppressed cell, « n.d. (non disponible) » when the
    extracts do not give it).

    Stocks are at the extract's date; creations are those of the last complete calendar year; cessations are
    those of the latest year with update extracts, with the span the updates cover; the net change only for a
    year the updates cover whole (otherwise it would set a partial count of cessations against a year of
    creations)."""
    cells = _kbo_cells(prof, snap)
    cells = cells[cells["dimension"].isna()]
    terrs = kbo_territories(prof)
    coverage = update_coverage(prof)
    last_full = snap.snapshot_date.year - 1
    rows = []
    for ind_id in KBO_FIGURES:
        ind = prof.catalogue.indicator(ind_id)
        own = cells[cells["indicator_id"] == ind_id]
        if ind_id in KBO_STOCKS:
            period, when = snap.snapshot_date.year, f"au {format_date(snap.snapshot_date)}"
        elif ind_id == "KBO_ENTERPRISE_CREATIONS":
            period, when = last_full, f"année {last_full}"
        elif ind_id == "KBO_ENTERPRISE_CESSATIONS":
            period = max(coverage) if coverage else None
            if period is None:
                when = "aucun extrait de mise à jour appliqué"
            else:
                start, end, complete = coverage[period]
                when = (f"année {period}" if complete else
                        f"du {format_date(start)} au {format_date(end)}" if start else f"jusqu'au {format_date(end)}")
        else:  # net change: a year of creations against a whole year of cessations only
            complete = [y for y, (_, _, whole) in coverage.items() if whole and y <= last_full]
            period = max(complete) if complete else None
            when = f"année {period}" if period else "aucune année entière couverte par les mises à jour"
        row = {"indicator_id": ind_id, "label": ind.label_fr, "period": period, "when": when}
        for t in terrs:
            hit = own[(own["refnis"] == t.refnis) & (own["period"] == period)] if period else own.iloc[0:0]
            if hit.empty:
                row[t.display_name] = _text(None, None, ind.unit_short, ind.decimals)
            else:
                value, status = hit["value"].iloc[0], hit["status"].iloc[0]
                row[t.display_name] = _text(None if pd.isna(value) else float(value), status, ind.unit_short,
                                            ind.decimals)
        rows.append(row)
    return pd.DataFrame(rows)


def kbo_sectors(prof: Profile, snap: KboSnapshot, lang: str = "fr") -> pd.DataFrame:
    """Active enterprises of the commune by NACE section (the section of each one's main activity), largest
    first: ``section, label, commune`` (text), ``commune_share`` and ``province_share`` (% of the enterprises
    of the territory; NaN where the cell is suppressed)."""
    from mindit_lib.kbo.sector import NOT_REPORTED, NOT_REPORTED_LABEL

    cells = _kbo_cells(prof, snap)
    cells = cells[(cells["indicator_id"] == "KBO_ENTERPRISES_ACTIVE") & (cells["dimension"] == "nace_section")]
    labels = _section_labels(prof, lang)
    out = []
    totals = {r: cells.loc[cells["refnis"] == r, "value"].sum(min_count=1) for r in (prof.commune.refnis,
                                                                                      _province(prof))}
    total_rows = _kbo_cells(prof, snap)
    total_rows = total_rows[(total_rows["indicator_id"] == "KBO_ENTERPRISES_ACTIVE") & total_rows["dimension"].isna()]
    for refnis in totals:
        hit = total_rows[total_rows["refnis"] == refnis]
        totals[refnis] = hit["value"].iloc[0] if not hit.empty else None
    own = cells[cells["refnis"] == prof.commune.refnis]
    prov = cells[cells["refnis"] == _province(prof)].set_index("category")
    for r in own.itertuples():
        if r.status != "confidential" and r.value == 0:  # a section without enterprise here: not listed
            continue
        version, _, section = str(r.category).partition("-")
        label = NOT_REPORTED_LABEL[lang] if r.category == NOT_REPORTED else labels.get((version, section), section)
        value = None if pd.isna(r.value) else float(r.value)
        pv = prov["value"].get(r.category)

        def share(v, total):
            return None if v is None or pd.isna(v) or not total or pd.isna(total) else 100 * float(v) / float(total)

        out.append({"section": r.category, "label": label,
                    "commune": _text(value, r.status, "", 0), "n": value,
                    "commune_share": share(value, totals[prof.commune.refnis]),
                    "province_share": share(pv, totals[_province(prof)])})
    frame = pd.DataFrame(out, columns=["section", "label", "commune", "n", "commune_share", "province_share"])
    frame["_order"] = frame["n"].fillna(-1)
    frame.loc[frame["section"] == NOT_REPORTED, "_order"] = -2  # "non renseigné" last
    return frame.sort_values(["_order", "section"], ascending=[False, True]).drop(columns="_order").reset_index(
        drop=True)


def _section_labels(prof: Profile, lang: str) -> dict[tuple[str, str], str]:
    key = ("nace_sections", lang)
    if key not in prof.figures.memo:
        rows = prof.figures.store.query(f"SELECT version, code, label_{lang} AS label FROM nace_label WHERE level = 1")
        prof.figures.memo[key] = {(str(v), c): sentence_case(label) for v, c, label in rows.itertuples(index=False)}
    return prof.figures.memo[key]


def sentence_case(label: str) -> str:
    """NACE-BEL section titles are in capitals in the label file: ``"CONSTRUCTION"`` → ``"Construction"``
    (labels already in mixed case are kept)."""
    return label[:1] + label[1:].lower() if label.isupper() else label


def kbo_citation(prof: Profile, snap: KboSnapshot, what: str) -> str:
    """``"Source : <what> — SPF Economie, Banque-Carrefour des Entreprises (BCE/KBO), …, licence : …, extrait
    n° 140 du 3 octobre 2025, consulté le 4 décembre 2026."``"""
    ds = prof.catalogue.dataset(DATASET)
    return (f"Source : {what} — {ds.publisher}, {ds.title_fr}, licence : {ds.licence}, {snap.text}, consulté le "
            f"{format_date(snap.applied)}.")
