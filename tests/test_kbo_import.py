"""KBO Open Data extract import (issue 5, step 1): every file of the full extract, the update extract
(deletes then inserts), dates, numbers kept as text, atomic failures. Fixtures are written in the published
format (Cookbook KBO Open data R018.00) by the tests."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from mindit_lib.kbo.extract import KboFormatError
from mindit_lib.kbo.fixtures import meta_rows, write_extract
from mindit_lib.kbo.load import import_extract as _import_extract


def import_extract(con, source):
    """Import the format alone (no reference tables here, so no geography or sector)."""
    return _import_extract(con, source, derive=False)

CODE = [("Status", "AC", "FR", "Actif"), ("Status", "AC", "NL", "Actief"),
        ("TypeOfEnterprise", "1", "FR", "Personne physique"), ("TypeOfEnterprise", "2", "FR", "Personne morale"),
        ("Classification", "MAIN", "FR", "Activité principale"), ("JuridicalForm", "014", "FR", "Société anonyme")]


def full_files() -> dict[str, list]:
    """A full extract with every documented file."""
    return {
        "meta": meta_rows(140, "full", "03-10-2025"),
        "code": CODE,
        "enterprise": [
            ("0200.065.765", "AC", "000", "2", "014", None, "01-02-2003"),
            ("0200.068.636", "AC", "000", "1", None, None, "09-08-1960"),
            ("0403.449.823", "AC", "012", "2", "610", "610", "31-02-2003"),   # no such day
            ("0403.590.274", "AC", "000", "2", "014", None, "2003-02-01"),     # not dd-mm-yyyy
        ],
        "establishment": [("2.000.000.339", "01-11-1974", "0403.449.823"),
                          ("2.000.000.438", "01-09-1964", "0200.068.636")],
        "denomination": [("0200.065.765", "2", "001", 'Intergemeentelijke Vereniging "Veneco"'),
                         ("0200.065.765", "2", "002", "Veneco"),
                         ("2.000.000.339", "1", "003", "Boulangerie, pâtisserie")],
        "address": [
            ("0200.065.765", "REGO", None, None, "4000", "Luik", "Liège", "Place", "Place", "1", "", "", None),
            ("2.000.000.339", "BAET", None, None, "4020", "Luik", "Liège", "Quai", "Quai", "2", "", "", "13-11-2023"),
            ("0403.590.274", "REGO", "Frankrijk", "France", "62000", "Arras", "Arras", "Rue", "Rue", "2", "",
             "", None),
        ],
        "contact": [("0200.065.765", "ENT", "EMAIL", "info@veneco.be"), ("2.000.000.339", "EST", "TEL", "04 123")],
        "activity": [("0200.065.765", "006", "2025", "84130", "MAIN"),
                     ("0200.065.765", "001", "2003", "70111", "MAIN"),
                     ("2.000.000.339", "001", "2008", "10711", "MAIN")],
        "branch": [("9.000.006.626", "01-09-1995", "0403.590.274")],
    }


def update_files(number: int = 141) -> dict[str, list]:
    """An update: 0200.068.636 ceases (with its establishment), 0200.065.765 moves, 0500.000.001 is new."""
    empty_pairs = {f"{n}_{p}": [] for n in ("denomination", "contact", "activity", "branch")
                   for p in ("delete", "insert")}
    return {
        "meta": meta_rows(number, "update", "07-11-2025"),
        "code": CODE + [("Language", "1", "FR", "français")],
        "enterprise_delete": [("0200.068.636",), ("0200.065.765",)],
        "enterprise_insert": [("0200.065.765", "AC", "000", "2", "014", None, "01-02-2003"),
                              ("0500.000.001", "AC", "000", "1", None, None, "15-10-2025")],
        "establishment_delete": [("2.000.000.438",)],
        "establishment_insert": [],
        "address_delete": [("0200.065.765",)],
        "address_insert": [("0200.065.765", "REGO", None, None, "4800", "Verviers", "Verviers", "Rue", "Rue",
                            "3", "", "", None)],
        **empty_pairs,
    }


@pytest.fixture
def con(tmp_path):
    connection = duckdb.connect(str(tmp_path / "store.duckdb"))
    yield connection
    connection.close()


def counts(con) -> dict[str, int]:
    names = ["meta", "code", "enterprise", "establishment", "denomination", "address", "contact", "activity",
             "branch"]
    return {n: con.execute(f"SELECT count(*) FROM kbo_{n}").fetchone()[0] for n in names}


def test_full_extract_every_file(con, tmp_path):
    report = import_extract(con, write_extract(tmp_path / "KboOpenData_0140_2025_10_Full.zip", full_files()))
    assert counts(con) == {"meta": 5, "code": 6, "enterprise": 4, "establishment": 2, "denomination": 3,
                           "address": 3, "contact": 2, "activity": 3, "branch": 1}
    assert report.rows == counts(con)
    assert (report.kind, report.extract_number, report.snapshot_date) == ("full", 140, date(2025, 10, 3))
    # numbers stay text, leading zero included
    assert con.execute("SELECT enterprise_number FROM kbo_enterprise_v ORDER BY 1 LIMIT 1").fetchone()[0] \
        == "0200.065.765"
    assert con.execute("SELECT establishment_number, enterprise_number FROM kbo_establishment_v "
                       "ORDER BY 1 LIMIT 1").fetchone() == ("2.000.000.339", "0403.449.823")
    # quoted text with commas, accents and doubled quotes
    names = set(con.execute("SELECT denomination FROM kbo_denomination_v").df()["denomination"])
    assert {'Intergemeentelijke Vereniging "Veneco"', "Boulangerie, pâtisserie"} <= names
    assert con.execute("SELECT nace_version, nace_code, classification FROM kbo_activity_v "
                       "WHERE entity_number = '2.000.000.339'").fetchone() == ("2008", "10711", "MAIN")
    assert con.execute("SELECT value FROM kbo_contact_v WHERE contact_type = 'TEL'").fetchone()[0] == "04 123"
    assert con.execute("SELECT id, start_date FROM kbo_branch_v").fetchone() == ("9.000.006.626", date(1995, 9, 1))
    assert con.execute("SELECT description FROM kbo_code_v WHERE category = 'JuridicalForm'").fetchone()[0] \
        == "Société anonyme"


def test_dates_day_month_year_empty_and_unparsable(con, tmp_path):
    report = import_extract(con, write_extract(tmp_path / "full.zip", full_files()))
    start = dict(con.execute("SELECT enterprise_number, start_date FROM kbo_enterprise_v").fetchall())
    assert start["0200.065.765"] == date(2003, 2, 1)          # "01-02-2003" is 1 February 2003
    assert start["0403.449.823"] is None and start["0403.590.274"] is None
    struck = dict(con.execute("SELECT entity_number, date_striking_off FROM kbo_address_v").fetchall())
    assert struck["0200.065.765"] is None                      # empty = missing
    assert struck["2.000.000.339"] == date(2023, 11, 13)
    assert report.unparsable_dates == {"enterprise.StartDate": (2, "2003-02-01")}
    assert "enterprise.StartDate 2" in report.summary()
    raw = con.execute("SELECT start_date_raw FROM kbo_enterprise_v WHERE enterprise_number = '0403.449.823'")
    assert raw.fetchone()[0] == "31-02-2003"                   # kept as text for checking
    run = con.execute("SELECT dataset, status, rows FROM import_run").fetchall()
    assert run == [("bce_kbo", "ok", 29)]   # 5+6+4+2+3+3+2+3+1 lines
    assert con.execute("SELECT unparsable_dates FROM kbo_extract").fetchone()[0] == 2


def test_folder_extract_same_as_zip(con, tmp_path):
    report = import_extract(con, write_extract(tmp_path / "folder", full_files(), as_zip=False))
    assert report.rows["activity"] == 3 and counts(con)["enterprise"] == 4


def test_update_deletes_then_inserts(con, tmp_path):
    import_extract(con, write_extract(tmp_path / "full.zip", full_files()))
    report = import_extract(con, write_extract(tmp_path / "update.zip", update_files(),
                                               file_names={"contact_insert": "contact_insert.Csv"}))
    assert report.kind == "update"
    enterprises = set(con.execute("SELECT enterprise_number FROM kbo_enterprise").df()["enterprise_number"])
    assert enterprises == {"0200.065.765", "0403.449.823", "0403.590.274", "0500.000.001"}
    # the address of 0200.065.765 was deleted first, then its new one inserted: one row, the new one
    assert con.execute("SELECT zipcode FROM kbo_address WHERE entity_number = '0200.065.765'").fetchall() \
        == [("4800",)]
    assert report.deleted == {"enterprise": 2, "establishment": 1, "denomination": 0, "address": 1, "contact": 0,
                              "activity": 0, "branch": 0}
    assert report.rows["enterprise"] == 2 and report.rows["code"] == 7
    # ceased: deleted and not inserted again (0200.065.765 was only modified)
    ceased = con.execute("SELECT kind, entity_number, extract_number, snapshot_date, start_date "
                         "FROM kbo_cessation ORDER BY kind").fetchall()
    assert ceased == [("enterprise", "0200.068.636", 141, date(2025, 11, 7), date(1960, 8, 9)),
                      ("establishment", "2.000.000.438", 141, date(2025, 11, 7), date(1964, 9, 1))]
    assert report.cessations == {"enterprise": 1, "establishment": 1}
    assert con.execute("SELECT extract_number, extract_type FROM kbo_extract ORDER BY 1").fetchall() \
        == [(140, "full"), (141, "update")]
    assert [r[0] for r in con.execute("SELECT status FROM import_run").fetchall()] == ["ok", "ok"]


def test_update_needs_a_full_extract_and_is_applied_once(con, tmp_path):
    update = write_extract(tmp_path / "update.zip", update_files())
    with pytest.raises(KboFormatError, match="no full extract was imported yet"):
        import_extract(con, update)
    import_extract(con, write_extract(tmp_path / "full.zip", full_files()))
    import_extract(con, update)
    before = counts(con)
    with pytest.raises(KboFormatError, match=r"n° 141 is not newer than the last extract applied \(n° 141\)"):
        import_extract(con, update)
    assert counts(con) == before


def test_bad_number_fails_naming_file_and_line_store_unchanged(con, tmp_path):
    import_extract(con, write_extract(tmp_path / "full.zip", full_files()))
    before = counts(con)
    files = full_files()
    files["meta"] = meta_rows(141, "full", "07-11-2025")
    files["enterprise"][2] = ("403449823", "AC", "000", "2", "014", None, "01-01-2000")  # dots lost
    with pytest.raises(KboFormatError, match=r"enterprise\.csv: line 4: EnterpriseNumber '403449823' does not "
                                             r"match the documented format"):
        import_extract(con, write_extract(tmp_path / "bad.zip", files))
    assert counts(con) == before
    assert con.execute("SELECT max(extract_number) FROM kbo_extract").fetchone()[0] == 140
    runs = con.execute("SELECT status, message FROM import_run ORDER BY started").fetchall()
    assert [r[0] for r in runs] == ["ok", "failed"] and "line 4" in runs[1][1]


def test_failed_update_applies_nothing(con, tmp_path):
    import_extract(con, write_extract(tmp_path / "full.zip", full_files()))
    before = counts(con)
    files = update_files()
    files["activity_insert"] = [("0500.000.001", "001", "2025", "", "MAIN")]   # NaceCode is mandatory
    with pytest.raises(KboFormatError, match=r"activity_insert\.csv: line 2: NaceCode '' is empty but mandatory"):
        import_extract(con, write_extract(tmp_path / "update.zip", files))
    assert counts(con) == before
    assert con.execute("SELECT count(*) FROM kbo_cessation").fetchone()[0] == 0


def test_wrong_header_missing_file_duplicate_key(con, tmp_path):
    files = full_files()
    path = write_extract(tmp_path / "x", files, as_zip=False)
    text = (path / "address.csv").read_text().replace('"Zipcode"', '"PostCode"')
    (path / "address.csv").write_text(text)
    with pytest.raises(KboFormatError, match=r"address\.csv: line 1: header .*PostCode.* is not the documented"):
        import_extract(con, path)
    del files["activity"]
    with pytest.raises(KboFormatError, match="activity.csv is missing from this full extract"):
        import_extract(con, write_extract(tmp_path / "y.zip", files))
    files = full_files()
    files["establishment"].append(("2.000.000.339", "01-01-2001", "0200.065.765"))
    with pytest.raises(KboFormatError, match=r"establishment\.csv: line 4: EstablishmentNumber '2.000.000.339' "
                                             "appears twice"):
        import_extract(con, write_extract(tmp_path / "z.zip", files))
    assert con.execute("SELECT count(*) FROM import_run WHERE status = 'failed'").fetchone()[0] == 3
    assert "kbo_enterprise" not in set(con.execute("SHOW TABLES").df()["name"])   # nothing was created


def test_branch_file_is_optional(con, tmp_path):
    files = full_files()
    del files["branch"]
    report = import_extract(con, write_extract(tmp_path / "old.zip", files))
    assert report.rows["branch"] == 0 and report.rows["enterprise"] == 4


def test_not_a_zip(con, tmp_path):
    bad = tmp_path / "KboOpenData_0140_2025_10_Full.zip"
    bad.write_text("not a zip")
    with pytest.raises(KboFormatError, match="not a valid zip"):
        import_extract(con, bad)
