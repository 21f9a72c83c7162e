"""KBO geography, main sector, indicators and disclosure control (issue 5, steps 2–4), on a fixture extract in
the published format imported into a copy of the session store (real postal-code, NACE-BEL and territory
tables from the mirror)."""

from __future__ import annotations

import shutil

import duckdb
import numpy as np
import pytest

from mindit_lib.kbo.disclosure import CONFIDENTIAL_TEXT, equation_matrix
from mindit_lib.kbo.fixtures import meta_rows, write_extract
from mindit_lib.kbo.indicators import compute_indicators, display, protect_table, province_hierarchy
from mindit_lib.kbo.load import import_extract
from mindit_lib.kbo.sector import division_sections, section_of


def addr(number, kind, zipcode, fr, nl=None, country=None, struck=None):
    return (number, kind, country, country, zipcode, nl or fr, fr, "Rue", "Rue", "1", "", "", struck)


def extract_files() -> dict[str, list]:
    enterprises = [
        ("0200.065.765", "AC", "000", "2", "014", None, "01-02-2003"),   # seat Liège, units in 3 communes
        ("0200.068.636", "AC", "000", "1", None, None, "15-06-1990"),    # natural person, units Eupen + Liège
        ("0300.000.003", "AC", "000", "1", None, None, "01-01-2024"),    # natural person, no unit at all
        ("0400.000.004", "AC", "000", "2", "610", None, "01-01-2020"),   # 1050 Elsene: shared code, by name
        ("0400.000.005", "AC", "000", "2", "610", None, "01-01-2020"),   # 1050 Sint-Gillis: not one of them
        ("0400.000.006", "AC", "000", "2", "610", None, "01-01-2020"),   # 4999: no such postal code
        ("0400.000.007", "AC", "000", "2", "610", None, "01-01-2020"),   # seat struck off
        ("0400.000.008", "AC", "000", "2", "610", None, "01-01-2020"),   # seat in France
        ("0400.000.009", "AC", "000", "2", "610", None, "01-01-2021"),   # 4780 Sankt Vith
        ("0400.000.010", "AC", "000", "2", "610", None, "01-01-2020"),   # seat without postal code
    ]
    address = [
        addr("0200.065.765", "REGO", "4000", "Liège", "Luik"),
        addr("0400.000.004", "REGO", "1050", "Ixelles", "Elsene"),
        addr("0400.000.005", "REGO", "1050", "Saint-Gilles", "Sint-Gillis"),
        addr("0400.000.006", "REGO", "4999", "Nulle part"),
        addr("0400.000.007", "REGO", "4000", "Liège", struck="01-01-2020"),
        addr("0400.000.008", "REGO", "62000", "Arras", country="France"),
        addr("0400.000.009", "REGO", "4780", "Saint-Vith", "Sankt Vith"),
        addr("0400.000.010", "REGO", None, "Liège"),
        addr("2.000.000.101", "BAET", "4800", "Verviers"),
        addr("2.000.000.102", "BAET", "4500", "Huy", "Hoei"),
        addr("2.000.000.103", "BAET", "4300", "Waremme", "Borgworm"),
        addr("2.000.000.201", "BAET", "4700", "Eupen"),
        addr("2.000.000.202", "BAET", "4000", "Liège", "Luik"),
    ]
    establishments = [("2.000.000.101", "01-01-2005", "0200.065.765"), ("2.000.000.102", "01-01-2006", "0200.065.765"),
                      ("2.000.000.103", "01-01-2007", "0200.065.765"), ("2.000.000.201", "01-01-1990", "0200.068.636"),
                      ("2.000.000.202", "01-01-2010", "0200.068.636")]
    activity = [
        ("0200.065.765", "001", "2008", "62010", "MAIN"), ("0200.065.765", "001", "2025", "47110", "SECO"),
        ("0200.065.765", "001", "2025", "62010", "MAIN"),                 # newest version, MAIN → 2025 K
        ("2.000.000.101", "001", "2003", "52110", "MAIN"), ("2.000.000.101", "001", "2008", "47110", "MAIN"),
        ("2.000.000.103", "001", "2025", "10711", "ANCI"), ("2.000.000.103", "006", "2025", "56101", "SECO"),
        ("0200.068.636", "006", "2025", "84130", "MAIN"), ("0200.068.636", "001", "2025", "68121", "MAIN"),
    ]
    # a few more legal persons so that some cells are published: 6 seats in Liège, 4 in Verviers, 3 in Huy
    for i, (zipcode, name, n) in enumerate([("4000", "Liège", 6), ("4800", "Verviers", 4), ("4500", "Huy", 3)]):
        for j in range(n):
            number = f"0500.00{i}.00{j}"
            enterprises.append((number, "AC", "000", "2", "014", None, f"01-03-{2016 + j}"))
            address.append(addr(number, "REGO", zipcode, name))
            activity.append((number, "001", "2025", "43210", "MAIN"))   # 2025 F
    return {"meta": meta_rows(140, "full", "03-10-2025"), "code": [("Status", "AC", "FR", "Actif")],
            "enterprise": enterprises, "establishment": establishments, "denomination": [], "address": address,
            "contact": [], "activity": activity, "branch": []}


@pytest.fixture(scope="module")
def store(config, tmp_path_factory):
    """A copy of the session store with the fixture extract imported."""
    path = tmp_path_factory.mktemp("kbo") / "store.duckdb"
    shutil.copy(config.store_path, path)
    con = duckdb.connect(str(path))
    report = import_extract(con, write_extract(path.parent / "KboOpenData_0140_2025_10_Full.zip", extract_files()))
    yield con, report
    con.close()


def location(con, kind):
    return dict(con.execute("SELECT entity_number, refnis FROM kbo_location WHERE kind = ?", [kind]).fetchall())


def test_addresses_resolved_counted_never_guessed(store):
    con, report = store
    assert report.geography["addresses"] == {"postal_code": 20, "name": 1, "ambiguous": 1, "unknown_postal_code": 1,
                                             "struck_off": 1, "abroad": 1, "no_postal_code": 1}
    res = dict(con.execute("SELECT entity_number, refnis FROM kbo_address_commune").fetchall())
    assert res["0400.000.004"] == "21009"          # 1050 = Bruxelles or Ixelles; "Elsene" is Ixelles
    assert res["0400.000.005"] is None and res["0400.000.006"] is None and res["0400.000.008"] is None
    assert res["0400.000.009"] == "63067"
    assert "non localisées" in report.summary() and "code postal partagé, nom de commune non reconnu 1" \
        in report.summary()


def test_enterprise_by_seat_units_by_their_address(store):
    con, report = store
    enterprises, units = location(con, "enterprise"), location(con, "establishment")
    assert enterprises["0200.065.765"] == "62063"   # seat Liège: counted once, there
    assert {units[n] for n in ("2.000.000.101", "2.000.000.102", "2.000.000.103")} == {"63079", "61031", "64074"}
    assert enterprises["0200.068.636"] == "63023"   # natural person: its oldest unit (Eupen, 1990)
    assert "0300.000.003" in enterprises and enterprises["0300.000.003"] is None   # kept, counted as not located
    assert enterprises["0400.000.007"] is None      # its only seat address is struck off
    assert report.geography["enterprises"] == {"seat": 16, "establishment": 1, "establishment_unresolved": 1,
                                               "no_seat": 1, "seat_unresolved": 4}
    assert report.geography["establishments"] == {"address": 5}


def test_one_main_nace_per_entity_by_priority(store):
    con, _ = store
    main = {r[0]: r[1:] for r in con.execute("SELECT entity_number, nace_version, nace_code, section "
                                             "FROM kbo_main_activity").fetchall()}
    assert main["0200.065.765"] == (2025, "62010", "K")     # 2025 before 2008, MAIN before SECO
    assert main["2.000.000.101"] == (2008, "47110", "G")    # 2008 before 2003
    assert main["2.000.000.103"] == (2025, "56101", "I")    # SECO before ANCI
    assert main["0200.068.636"] == (2025, "68121", "M")     # same version and class: group 001 before 006
    assert "2.000.000.102" not in main                       # no activity: "non renseigné" in the tables


def test_every_division_of_the_labels_has_a_section(store):
    con, _ = store
    frame = division_sections(con)
    # NACE Rev. 1.1 has 62 divisions (the 2003 file's 78 level-2 rows include 16 subsections CA, DA…)
    assert frame.groupby("version")["division"].count().to_dict() == {2003: 62, 2008: 88, 2025: 87}
    assert (section_of(2008, "47"), section_of(2025, "47"), section_of(2003, "52")) == ("G", "G", "G")
    assert (section_of(2008, "62"), section_of(2025, "62")) == ("J", "K")


def test_indicators_per_territory_with_confidential_cells(store, config):
    con, _ = store
    obs = compute_indicators(con, config.province)
    active = obs[(obs["indicator_id"] == "KBO_ENTERPRISES_ACTIVE") & obs["dimension"].isna()].set_index("refnis")
    assert active.loc["62063", "value"] == 7
    # arr. Verviers 6 = Verviers 4 + Eupen 1 + Sankt Vith 1: with the 6 published, 6 − 4 = 2 over two suppressed
    # cells of at least 1 each would give both away; the tables by sector and by legal form are protected with the
    # totals as one system, which suppresses the arrondissement's 6 and with it the province's 16 (16 − 3 − 7)
    assert active.loc["63079", "value"] == 4
    assert active.loc["63000", "status"] == "confidential" and active.loc["63000", "n"] == 6
    assert active.loc["60000", "status"] == "confidential" and active.loc["60000", "n"] == 16
    assert active.loc["61031", "value"] == 3 and active.loc["62000", "value"] == 7 and active.loc["61000", "value"] == 3
    # everything published about active enterprises (totals, by sector, by legal form) together gives nothing away
    tables = [obs[(obs["indicator_id"] == "KBO_ENTERPRISES_ACTIVE") & obs["dimension"].isna()].assign(category="_T")]
    breakdowns = (("KBO_ENTERPRISES_ACTIVE", "nace_section"), ("KBO_ENTERPRISES_BY_LEGAL_FORM", "legal_form"))
    tables += [obs[(obs["indicator_id"] == i) & (obs["dimension"] == d)] for i, d in breakdowns]
    tables = [t.reset_index(drop=True) for t in tables]
    matrix, n, hidden = family_system(province_hierarchy(con, config.province), tables[0], tables[1:])
    assert determined(matrix, hidden) == [] and pinned(matrix, hidden, n) == []
    for refnis in ("63023", "63067"):                      # 1 enterprise each: suppressed, both in arr. Verviers
        assert active.loc[refnis, "status"] == "confidential" and np.isnan(active.loc[refnis, "value"])
        assert display(active.loc[refnis, "value"], "confidential") == CONFIDENTIAL_TEXT
    assert active.loc["64074", "value"] == 0 and active.loc["64074", "status"] == "final"
    units = obs[(obs["indicator_id"] == "KBO_ESTABLISHMENT_UNITS") & obs["dimension"].isna()].set_index("refnis")
    # 5 units, one each in Verviers, Huy, Waremme, Eupen and Liège: every commune and arrondissement cell is
    # suppressed, and so is the province (5 = the sum of five cells of at least 1 would give each away)
    assert units.loc["60000", "n"] == 5 and units.loc["60000", "status"] == "confidential"
    sections = obs[(obs["indicator_id"] == "KBO_ENTERPRISES_ACTIVE") & (obs["dimension"] == "nace_section")]
    province = sections[sections["refnis"] == "60000"].set_index("category")["n"].to_dict()
    assert province == {"2025-F": 13, "2025-K": 1, "2025-M": 1, "NR": 1}
    share = obs[obs["indicator_id"] == "KBO_NATURAL_PERSON_SHARE"].set_index("refnis")
    assert share.loc["60000", "n"] == 1 and share.loc["60000", "status"] == "confidential"
    created = obs[obs["indicator_id"] == "KBO_ENTERPRISE_CREATIONS"].set_index(["refnis", "period"])
    # 2016: one creation each in Liège, Verviers and Huy — all suppressed, the province's 3 with them (3 cells of
    # at least 1); a year without creation is published as 0
    assert created.loc[("60000", 2016), "n"] == 3 and created.loc[("60000", 2016), "status"] == "confidential"
    assert created.loc[("60000", 2024), "value"] == 0 and created.loc[("60000", 2024), "status"] == "final"
    mean_age = obs[obs["indicator_id"] == "KBO_ENTERPRISE_MEAN_AGE"].set_index("refnis")
    assert mean_age.loc["61031", "value"] == pytest.approx(8.6, abs=0.05)   # 2016, 2017, 2018 → 03-10-2025
    stored = con.execute("SELECT count(*) FROM kbo_observation WHERE status = 'confidential' AND value IS NOT NULL")
    assert stored.fetchone()[0] == 0


def determined(matrix: np.ndarray, suppressed: np.ndarray) -> list[int]:
    """The attacker: suppressed cells fixed by the published ones, i.e. whose unit vector lies in the row space
    of the equations restricted to the suppressed cells (projection onto that space keeps it whole)."""
    cols = np.flatnonzero(suppressed)
    _, sing, vt = np.linalg.svd(matrix[:, cols], full_matrices=False)
    basis = vt[sing > 1e-9 * sing.max()]
    return [int(cell) for k, cell in enumerate(cols) if np.isclose((basis[:, k] ** 2).sum(), 1.0)]


def pinned(matrix: np.ndarray, suppressed: np.ndarray, n: np.ndarray) -> list[int]:
    """The attacker who also knows the bounds (zeros are published, so every suppressed cell holds at least 1):
    suppressed cells whose smallest and largest whole value, given the published cells, are equal (integer
    programmes, one min and one max per cell)."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    cols = np.flatnonzero(suppressed)
    rows = np.any(matrix[:, cols] != 0, axis=1)
    a = matrix[rows][:, cols]
    b = -matrix[rows][:, ~suppressed] @ n[~suppressed]
    lower = np.where(n[cols] >= 1, 1, 0)
    cons, bounds, whole = LinearConstraint(a, b, b), Bounds(lower, np.inf), np.ones(cols.size)
    out = []
    for k, cell in enumerate(cols):
        goal = np.eye(cols.size)[k]
        low = milp(goal, constraints=cons, bounds=bounds, integrality=whole)
        high = milp(-goal, constraints=cons, bounds=bounds, integrality=whole)
        assert low.success   # the true values are a solution; no maximum (unbounded above) is not pinned
        if high.success and round(low.fun) == round(-high.fun):
            out.append(int(cell))
    return out


def table_system(table, hier, with_total):
    rows, cats = hier.rows, [c for c in dict.fromkeys(table["category"])]
    at = {(r, c): i for i, (r, c) in enumerate(zip(table["refnis"], table["category"], strict=True))}
    equations = [(at[(t, c)], [at[(p, c)] for p in parts]) for c in cats for t, parts in hier.equations({})]
    if with_total:
        parts = [c for c in cats if c != "_T"]
        equations += [(at[(r, "_T")], [at[(r, c)] for c in parts]) for r in rows]
    return equation_matrix(len(table), equations)


def test_no_suppressed_cell_can_be_recovered(config, store):
    con, _ = store
    hier = province_hierarchy(con, config.province)
    rng = np.random.default_rng(5)
    communes = sorted(hier.communes)
    import pandas as pd
    counts = pd.DataFrame([(c, s, int(rng.choice([0, 1, 2, 3, 5, 8, 20], p=[.3, .2, .1, .1, .1, .1, .1])))
                           for c in communes for s in "ABCDEFG"], columns=["refnis", "category", "n"])
    table = protect_table(counts, hier, list("ABCDEFG"), with_total=True)
    matrix = table_system(table, hier, True)
    hidden = (table["status"] == "confidential").to_numpy()
    n = table["n"].to_numpy()
    assert hidden[(n > 0) & (n < 3)].all()                          # every small cell is suppressed
    assert determined(matrix, hidden) == []                          # none can be solved for
    assert pinned(matrix, hidden, n) == []                           # not even knowing each is at least 1
    assert (n[hidden] > 0).all()
    primary = (n > 0) & (n < 3)
    assert determined(matrix, primary) != []                         # without complements, the attacker wins
    assert hidden.sum() > primary.sum()


def test_cell_pinned_through_its_arrondissement_and_the_province_is_freed_there():
    """Column A: one enterprise in each of 61001, 61002 (arr. 61000 = 2) and 62001, 62002 (arr. 62000 = 2);
    the province's 4 is published. 4 = 2 + 2 with each arrondissement cell the sum of two suppressed cells of at
    least 1 pins all six cells: the commune rows have nothing to do with it (their totals are shared with the
    table of totals, so they stay published). The fix moves the province cell of A against another province
    cell — a cycle through the province, its arrondissements and the communes — instead of suppressing the
    commune rows' 300 and 1 500 (and then refusing: « cell … cannot be protected »)."""
    import pandas as pd

    from mindit_lib.kbo.indicators import Hierarchy

    hier = Hierarchy("60000", {"61001": "61000", "61002": "61000", "61003": "61000",
                               "62001": "62000", "62002": "62000", "62003": "62000"})
    cats = list("ABCDE")
    grid = {"61001": [1, 5, 5, 40, 300], "61002": [1, 5, 40, 5, 1500], "61003": [0, 5, 5, 5, 5],
            "62001": [1, 0, 0, 300, 8], "62002": [1, 8, 0, 0, 40], "62003": [0, 0, 0, 8, 8]}
    counts = pd.DataFrame([(c, k, n) for c, row in grid.items() for k, n in zip(cats, row, strict=True)],
                          columns=["refnis", "category", "n"])
    row_total = {c: sum(row) for c, row in grid.items()}
    arr = {a: sum(row_total[c] for c in hier.communes if hier.communes[c] == a) for a in hier.arrondissements}
    total = {"60000": sum(arr.values()), **arr, **row_total}
    totals = pd.DataFrame({"refnis": list(total), "category": "_T", "n": list(total.values()),
                           "value": list(total.values()), "status": "final"})
    table = protect_table(counts, hier, cats, with_total=True, totals=totals)
    matrix = table_system(table, hier, True)
    hidden = (table["status"] == "confidential").to_numpy()
    n = table["n"].to_numpy()
    primary = (n > 0) & (n < 3)
    assert primary.sum() == 6 and hidden[primary].all()
    assert determined(matrix, hidden) == []
    assert pinned(matrix, hidden, n) == []
    shown = {(r, c): s == "final" for r, c, s in zip(table["refnis"], table["category"], table["status"], strict=True)}
    # the binding equation is the province's column A: its 4 is suppressed, and one province cell beside it
    assert not shown[("60000", "A")] and not shown[("60000", "B")]
    # the large cells of the pinned cells' rows stay published; no total, no zero is suppressed
    assert all(shown[(r, c)] for r, row in grid.items() for c, v in zip(cats, row, strict=True) if v >= 300)
    assert all(shown[(r, "_T")] for r in hier.rows) and (n[hidden] > 0).all()
    assert sorted((r, c) for (r, c), s in shown.items() if not s) == [
        ("60000", "A"), ("60000", "B"), ("61000", "A"), ("61000", "B"), ("61001", "A"), ("61001", "B"),
        ("61002", "A"), ("61002", "B"), ("62000", "A"), ("62000", "B"), ("62001", "A"), ("62001", "E"),
        ("62002", "A"), ("62002", "B"), ("62002", "E")]


def family_system(hier, totals, breakdowns):
    """Everything a family publishes as one system for the attacker: the totals (one unknown per territory, shared
    by every table), each breakdown's cells, their territory sums and total = Σ categories per breakdown."""
    cells = [totals, *breakdowns]
    at, n, hidden, offset = {}, [], [], 0
    for k, table in enumerate(cells):
        for r, c, v, s in zip(table["refnis"], table["category"], table["n"], table["status"], strict=True):
            at[(k, r, c)] = offset
            n.append(v)
            hidden.append(s == "confidential")
            offset += 1
    equations = []
    for k, table in enumerate(cells):
        for c in dict.fromkeys(table["category"]):
            equations += [(at[(k, t, c)], [at[(k, p, c)] for p in parts]) for t, parts in hier.equations({})]
    for k, table in enumerate(breakdowns, start=1):
        cats = list(dict.fromkeys(table["category"]))
        equations += [(at[(0, r, "_T")], [at[(k, r, c)] for c in cats]) for r in hier.rows]
    return equation_matrix(offset, equations), np.array(n, dtype=float), np.array(hidden)


def frame_of(grid: dict, cats: list[str]):
    import pandas as pd

    return pd.DataFrame([(c, k, v) for c, row in grid.items() for k, v in zip(cats, row, strict=True)],
                        columns=["refnis", "category", "n"])


@pytest.mark.parametrize("communes, grids", [
    # found by a fuzzer: each table was safe alone, but combining them pinned (1) or determined (2) cells
    ({"63001": "63000", "63002": "63000"},
     [{"63001": [4, 3], "63002": [1, 1]}, {"63001": [0, 3, 1, 3], "63002": [2, 0, 0, 0]}]),
    ({"61001": "61000", "63002": "63000", "63004": "63000", "63005": "63000"},
     [{"61001": [0, 1], "63002": [0, 2], "63004": [1, 0], "63005": [2, 3]},
      {"61001": [0, 1, 0], "63002": [0, 1, 1], "63004": [1, 0, 0], "63005": [5, 0, 0]}]),
    # found by a second fuzzer: tables sharing totals are not totally unimodular — a fractional second solution
    # ([1, 1.5]) hid five cells that can only be 1 as whole numbers
    ({"62003": "62000", "63005": "63000", "63006": "63000", "64001": "64000", "64008": "64000"},
     [{"62003": [1, 2, 0], "63005": [0, 1, 0], "63006": [0, 0, 1], "64001": [0, 0, 2], "64008": [0, 2, 0]},
      {"62003": [1, 2], "63005": [1, 0], "63006": [0, 1], "64001": [2, 0], "64008": [1, 1]}]),
    # random sparse counts: 3 arrondissements of 4 communes, 5 sectors and 4 legal forms of the same firms
    (None, "random"),
])
def test_a_family_of_tables_is_safe_together(communes, grids):
    from mindit_lib.kbo.indicators import Hierarchy, protect_family

    if grids == "random":
        rng = np.random.default_rng(11)
        communes = {f"6{a}00{c}": f"6{a}000" for a in (1, 2, 3) for c in (1, 2, 3, 4)}
        by_sector = {c: [int(v) for v in rng.choice([0, 0, 1, 2, 3, 6, 15], size=5)] for c in communes}
        by_form = {}
        for c, row in by_sector.items():   # the same firms spread over 4 legal forms
            by_form[c] = [int(v) for v in rng.multinomial(sum(row), [0.5, 0.3, 0.15, 0.05])]
        grids = [by_sector, by_form]
    cats = [[f"s{i}" for i in range(len(next(iter(grids[0].values()))))],
            [f"f{i}" for i in range(len(next(iter(grids[1].values()))))]]
    hier = Hierarchy("60000", communes)
    parts = [(frame_of(g, c), c) for g, c in zip(grids, cats, strict=True)]
    totals, breakdowns = protect_family(parts[0][0], parts, hier)
    matrix, n, hidden = family_system(hier, totals, breakdowns)
    assert hidden[(n > 0) & (n < 3)].all()          # every small cell, in every table
    assert determined(matrix, hidden) == []          # nothing solved for from all tables together
    assert pinned(matrix, hidden, n) == []           # nor pinned knowing each suppressed cell is at least 1
    for table in [totals, *breakdowns]:              # a suppressed cell carries no value, a published one its count
        assert table.loc[table["status"] == "confidential", "value"].isna().all()
        shown = table[table["status"] == "final"]
        assert (shown["value"] == shown["n"]).all()
