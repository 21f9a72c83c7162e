"""One main NACE-BEL code per KBO entity, and its section and division.

Priority (documented choice, issue 5): among an entity's rows of ``activity.csv``, the newest
``NaceVersion`` first (2025, then 2008, then 2003); then ``Classification`` MAIN before SECO before ANCI;
then ``ActivityGroup`` in code order (001 TVA, 002 EDRL, 003, … 006 ONSS, 007); then the smallest code, so
the choice never depends on row order. An entity with no activity row has no main code: it is counted under
"non renseigné" (:data:`NOT_REPORTED`).

Sections come from the divisions (the first two digits) through the official structure of each
nomenclature — NACE-BEL 2003 (NACE Rev. 1.1), 2008 (NACE Rev. 2) and 2025 (NACE Rev. 2.1) — because the
NACE-BEL label file gives divisions no parent section (PROVENANCE 5a). Labels come from the store's
``nace_label`` table (FR/NL/DE).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from mindit_lib.kbo.geography import require_tables

NOT_REPORTED = "NR"
NOT_REPORTED_LABEL = {"fr": "non renseigné", "nl": "niet opgegeven", "de": "nicht angegeben"}

#: section → (first division, last division), per NACE-BEL version (Eurostat NACE Rev. 1.1, Rev. 2, Rev. 2.1)
SECTION_DIVISIONS: dict[int, dict[str, tuple[int, int]]] = {
    2003: {"A": (1, 2), "B": (5, 5), "C": (10, 14), "D": (15, 37), "E": (40, 41), "F": (45, 45), "G": (50, 52),
           "H": (55, 55), "I": (60, 64), "J": (65, 67), "K": (70, 74), "L": (75, 75), "M": (80, 80),
           "N": (85, 85), "O": (90, 93), "P": (95, 97), "Q": (99, 99)},
    2008: {"A": (1, 3), "B": (5, 9), "C": (10, 33), "D": (35, 35), "E": (36, 39), "F": (41, 43), "G": (45, 47),
           "H": (49, 53), "I": (55, 56), "J": (58, 63), "K": (64, 66), "L": (68, 68), "M": (69, 75),
           "N": (77, 82), "O": (84, 84), "P": (85, 85), "Q": (86, 88), "R": (90, 93), "S": (94, 96),
           "T": (97, 98), "U": (99, 99)},
    2025: {"A": (1, 3), "B": (5, 9), "C": (10, 33), "D": (35, 35), "E": (36, 39), "F": (41, 43), "G": (46, 47),
           "H": (49, 53), "I": (55, 56), "J": (58, 60), "K": (61, 63), "L": (64, 66), "M": (68, 68),
           "N": (69, 75), "O": (77, 82), "P": (84, 84), "Q": (85, 85), "R": (86, 88), "S": (90, 93),
           "T": (94, 96), "U": (97, 98), "V": (99, 99)},
}

CLASSIFICATION_ORDER = {"MAIN": 0, "SECO": 1, "ANCI": 2}


def section_of(version: int, division: str) -> str | None:
    """The section letter of a two-digit division in a NACE-BEL version (None when no section holds it)."""
    number = int(division)
    for section, (first, last) in SECTION_DIVISIONS[int(version)].items():
        if first <= number <= last:
            return section
    return None


def division_sections(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every division of the store's ``nace_label`` with its section: ``version, division, section``.

    Raises
    ------
    ValueError
        A division of the label table falls in no section (the structure above would be wrong).
    """
    require_tables(con, {"nace_label": "import the NACE-BEL labels first (`mindit import --dataset "
                                       "nacebel_labels`)."})
    frame = con.execute("SELECT DISTINCT version, code AS division FROM nace_label "
                       "WHERE regexp_full_match(code, '[0-9]{2}') ORDER BY 1, 2").df()
    frame["section"] = [section_of(v, d) for v, d in zip(frame["version"], frame["division"], strict=True)]
    orphans = frame[frame["section"].isna()]
    if not orphans.empty:
        raise ValueError(f"NACE-BEL {orphans.iloc[0]['version']} division {orphans.iloc[0]['division']} is in no "
                         "section of mindit_lib/kbo/sector.py SECTION_DIVISIONS.")
    return frame


def main_activities(con: duckdb.DuckDBPyConnection) -> None:
    """Build ``kbo_main_activity(entity_number, nace_version, nace_code, division, section)``: one row per
    entity with at least one activity, chosen by the priority of this module's docstring."""
    con.register("_kbo_division_frame", division_sections(con))
    con.execute("CREATE OR REPLACE TEMP TABLE _kbo_division AS SELECT * FROM _kbo_division_frame")
    con.unregister("_kbo_division_frame")
    order = " ".join(f"WHEN '{k}' THEN {v}" for k, v in CLASSIFICATION_ORDER.items())
    # -version, spelled out for the documented versions (the same values as -CAST(nace_version AS INTEGER),
    # without casting 35 million strings); the pick as a struct (cheaper to carry than a list)
    newest = " ".join(f"WHEN '{v}' THEN -{v}" for v in sorted(SECTION_DIVISIONS, reverse=True))
    con.execute(f"""
        CREATE OR REPLACE TABLE kbo_main_activity AS
        WITH best AS (
            SELECT entity_number,
                   arg_min({{'version': nace_version, 'code': nace_code}},
                           (CASE nace_version {newest} ELSE -CAST(nace_version AS INTEGER) END,
                            CASE classification {order} ELSE 9 END, activity_group, nace_code)) AS pick
            FROM kbo_activity GROUP BY entity_number)
        SELECT b.entity_number, CAST(pick.version AS INTEGER) AS nace_version, pick.code AS nace_code,
               substr(pick.code, 1, 2) AS division, d.section
        FROM best b LEFT JOIN _kbo_division d
          ON d.version = CAST(pick.version AS INTEGER) AND d.division = substr(pick.code, 1, 2)""")
    con.execute("DROP TABLE _kbo_division")


def section_labels(con: duckdb.DuckDBPyConnection, lang: str = "fr") -> dict[tuple[int, str], str]:
    """(version, section letter) → label, plus (0, ``NR``) → "non renseigné"."""
    rows = con.execute(f"SELECT version, code, label_{lang} FROM nace_label WHERE level = 1").fetchall()
    labels = {(int(v), c): label for v, c, label in rows}
    labels[(0, NOT_REPORTED)] = NOT_REPORTED_LABEL[lang]
    return labels
