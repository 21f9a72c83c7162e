"""Generate a national-size BCE/KBO Open Data *full* extract in the published layout, for benchmarks.

    python benchmarks/kbo_generator.py /tmp/kbo-extract                 # national size (scale 1), as a zip
    python benchmarks/kbo_generator.py /tmp/kbo-small --scale 0.01      # 1 % of it
    python benchmarks/kbo_generator.py /tmp/kbo-extract --folder        # the CSV files in a folder, no zip

Writes ``KboOpenData_0140_2025_10_Full.zip`` (or the folder ``KboOpenData_0140_2025_10_Full``) into the given
folder — never into the repository — with the nine files of :mod:`mindit_lib.kbo.layout` (meta, code,
enterprise, establishment, denomination, address, contact, activity, branch), every header exactly as
documented, text between double quotes (``"`` doubled), ``dd-mm-yyyy`` dates unquoted and empty (NULL)
values as nothing, as the publisher writes them (and as :mod:`mindit_lib.kbo.fixtures` does).

Cardinalities at scale 1 (issue 5): about 2 million enterprises, a third of them natural persons
(``TypeOfEnterprise`` 1: no REGO seat address, their addresses are on their establishment units), the others
legal persons with a REGO seat address; about 2.5 million establishment units; about 3 million addresses
(REGO, BAET, ABBR) over the real postal codes of the mirror (``postal_codes/postal_code_to_refnis_be.csv``:
1,152 postal code–commune pairs with their FR/NL commune names, a shared postal code written with the name of
one of its communes), about 2 % struck off (``DateStrikingOff``, a few after the snapshot), about 1.5 % of the
seats abroad, a few unknown or missing postal codes; about 35 million activity rows with real 5-digit
NACE-BEL codes of each version (``bce_kbo/nacebel_2003_2008_2025_labels.csv``), a MAIN/SECO/ANCI mix over the
2003, 2008 and 2025 versions and the activity groups 001/003/006/007; denominations with accents, commas,
apostrophes and double quotes; enterprise numbers ``0200.065.765`` and establishment numbers
``2.000.000.339`` with their modulo-97 check digits; ``code.csv`` from the mirror's NACE-BEL labels and
legal forms plus the small code categories.

Everything is computed by DuckDB (``range()``, ``hash()``, ``COPY … TO`` with ``FORCE_QUOTE`` on the text
columns), deterministic for a given ``--seed``. DuckDB writes the bodies without header; the zip (or folder)
member is the documented header line followed by the body (``FORCE_QUOTE`` would leave the header names of
the date columns unquoted, the publisher quotes every header name).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import zipfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mindit_lib.kbo.fixtures import csv_line, meta_rows  # noqa: E402
from mindit_lib.kbo.layout import FILES  # noqa: E402

#: national sizes at scale 1 (issue 5)
ENTERPRISES = 2_000_000
BRANCHES = 7_000
ACTIVITY_ROWS = 35_000_000
#: members in the publisher's order
ORDER = ("meta", "code", "enterprise", "establishment", "denomination", "address", "contact", "activity", "branch")

#: legal forms of legal persons and their weight (the CAC form of an old form, when the old one stays)
LEGAL_FORMS = [("610", None, 34), ("014", None, 9), ("015", "610", 11), ("017", None, 16), ("706", None, 5),
               ("016", "706", 3), ("012", "612", 2), ("612", None, 2), ("011", None, 2), ("026", None, 1),
               ("125", None, 1), ("030", None, 2), ("416", None, 1), ("008", "706", 2), ("010", "610", 2),
               ("124", None, 1), ("051", None, 1), ("060", None, 1), ("420", None, 1), ("029", None, 1),
               ("235", None, 1), ("230", None, 1)]
COUNTRIES = [("Frankrijk", "France", ["75008", "59000", "62000", "08090", "57000"],
              ["Paris", "Lille", "Arras", "Charleville-Mézières", "Metz"]),
             ("Nederland", "Pays-Bas", ["6211", "1012", "4811", "3011"], ["Maastricht", "Amsterdam", "Breda",
                                                                          "Rotterdam"]),
             ("Duitsland", "Allemagne", ["52062", "50667", "10115"], ["Aachen", "Köln", "Berlin"]),
             ("Groothertogdom Luxemburg", "Grand-Duché de Luxembourg", ["1118", "4001"],
              ["Luxembourg", "Esch-sur-Alzette"]),
             ("Spanje", "Espagne", ["28001", "03001"], ["Madrid", "Alicante"])]
STREETS = [("Rue de l'Église", "Kerkstraat"), ("Chaussée de Bruxelles", "Brusselsesteenweg"),
           ("Place Saint-Lambert", "Sint-Lambertusplein"), ("Rue de la Station", "Stationsstraat"),
           ("Avenue Louise", "Louizalaan"), ("Rue du Moulin", "Molenstraat"), ("Grand-Place", "Grote Markt"),
           ("Rue des Écoles", "Schoolstraat"), ("Boulevard d'Avroy", "Avroylaan"), ("Rue Neuve", "Nieuwstraat"),
           ("Quai de la Batte", "Battekaai"), ("Rue Haute", "Hoogstraat"), ("Chemin des Prés", "Weideweg"),
           ("Rue du Pont", "Brugstraat"), ("Rue de la Gare", "Stationsstraat"), ("Place du Marché", "Marktplein"),
           ("Rue Pierreuse", "Pierreusestraat"), ("Rue Féronstrée", "Féronstrée"), ("Rue Saint-Gilles",
                                                                                     "Sint-Gillisstraat"),
           ("Avenue de la Forêt", "Woudlaan"), ("Rue aux Laines", "Wolstraat"), ("Rue du Château", "Kasteelstraat")]
SURNAMES = ["Lefèvre", "Dubois", "Peeters", "Janssens", "Maes", "Müller", "D'Hondt", "Van den Bossche", "Lambert",
            "Dupont", "Martin", "Claes", "Goossens", "Wouters", "De Smet", "Renard", "Noël", "Mathieu", "Hübner",
            "Leroy", "Özdemir", "François", "Willems", "Jacobs", "Mertens", "Collard", "Lejeune", "Gérard"]
TRADES = ["Boulangerie", "Garage", "Immo", "Bouwbedrijf", "Café", "Brasserie", "Pharmacie", "Consult", "Transports",
          "Menuiserie", "Boucherie", "Kapsalon", "Bureau d'études", "Friterie", "Électricité", "Schrijnwerkerij",
          "Taverne", "Auto-école", "Crèche", "Cabinet médical", "Bâtiments et Travaux", "Holding", "Invest"]
SUFFIXES = ["", "", " & Fils", " & Zonen", " et Cie", ", Dupont & Durand", " Services", " Belgium", " Invest",
            " Group", " - Liège", " (Verviers)", ""]


@dataclass
class GeneratedExtract:
    """What :func:`generate` wrote."""

    path: Path
    rows: dict[str, int] = field(default_factory=dict)
    bytes: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total_bytes(self) -> int:
        """Uncompressed size of the CSV files."""
        return sum(self.bytes.values())


def _sql_list(values: list) -> str:
    def lit(v):
        return "NULL" if v is None else "'" + str(v).replace("'", "''") + "'"
    return "[" + ", ".join(lit(v) for v in values) + "]"


def _setup(con: duckdb.DuckDBPyConnection, source: Path, seed: int) -> None:
    """Reference lists from the mirror, as DuckDB variables and small tables."""
    # u(i, salt): a deterministic uniform number in [0, 1) per row and purpose
    con.execute(f"CREATE MACRO u(i, salt) AS (hash(i, salt, {seed}) % 1000003) / 1000003.0")
    con.execute(f"CREATE MACRO h(i, salt) AS CAST(hash(i, salt, {seed}) >> 1 AS BIGINT)")
    con.execute("CREATE MACRO ent_fmt(n) AS (SELECT substr(s, 1, 4) || '.' || substr(s, 5, 3) || '.' || "
                "substr(s, 8, 3) FROM (SELECT lpad(CAST(n AS VARCHAR), 10, '0') AS s))")
    con.execute("CREATE MACRO est_fmt(n) AS (SELECT substr(s, 1, 1) || '.' || substr(s, 2, 3) || '.' || "
                "substr(s, 5, 3) || '.' || substr(s, 8, 3) FROM (SELECT lpad(CAST(n AS VARCHAR), 10, '0') AS s))")
    # with its modulo-97 check digits, as the register numbers them
    con.execute("CREATE MACRO check97(b) AS b * 100 + 97 - b % 97")
    con.execute("CREATE MACRO dmy(d) AS strftime(d, '%d-%m-%Y')")
    postal = source / "postal_codes" / "postal_code_to_refnis_be.csv"
    con.execute(f"""
        CREATE TABLE pc AS
        SELECT lpad(trim(postal_code), 4, '0') AS postal_code, name_fr, name_nl,
               -- cities and Brussels weigh more: about 1 to 20, the big centres 40 to 80
               CASE WHEN postal_code IN ('1000', '2000', '4000', '9000', '6000', '1050', '1030', '8000', '3000',
                                         '1070', '1080', '2018', '2060', '5000', '7000', '3500', '2800', '4020')
                    THEN 40 + h(postal_code, 'pcw') % 40 ELSE 1 + h(postal_code, 'pcw') % 20 END AS w
        FROM read_csv('{postal}', all_varchar = true)""")
    con.execute("SET VARIABLE pcs = (SELECT list({'zip': postal_code, 'fr': name_fr, 'nl': name_nl} "
                "ORDER BY postal_code, name_fr) FROM pc, range(w))")
    nace = source / "bce_kbo" / "nacebel_2003_2008_2025_labels.csv"
    con.execute(f"CREATE TABLE nace AS SELECT CAST(version AS INTEGER) AS version, value AS code, label_fr, "
                f"label_nl, label_de FROM read_csv('{nace}', all_varchar = true) WHERE level = '5'")
    for version in (2003, 2008, 2025):
        con.execute(f"SET VARIABLE nace{version} = (SELECT list(code ORDER BY code) FROM nace "
                    f"WHERE version = {version})")
    forms = [f for f, _, w in LEGAL_FORMS for _ in range(w)]
    cac = [c for _, c, w in LEGAL_FORMS for _ in range(w)]
    con.execute(f"SET VARIABLE forms = {_sql_list(forms)}")
    con.execute(f"SET VARIABLE forms_cac = {_sql_list(cac)}")
    abroad = [(nl, fr, z, m) for nl, fr, zips, towns in COUNTRIES for z, m in zip(zips, towns, strict=True)]
    con.execute("SET VARIABLE abroad = [" + ", ".join(
        f"{{'nl': '{nl}', 'fr': '{fr}', 'zip': '{z}', 'town': '{m}'}}" for nl, fr, z, m in abroad) + "]")
    con.execute("SET VARIABLE streets_fr = " + _sql_list([s for s, _ in STREETS]))
    con.execute("SET VARIABLE streets_nl = " + _sql_list([s for _, s in STREETS]))
    con.execute("SET VARIABLE surnames = " + _sql_list(SURNAMES))
    con.execute("SET VARIABLE trades = " + _sql_list(TRADES))
    con.execute("SET VARIABLE suffixes = " + _sql_list(SUFFIXES))


def _pick(var: str, key: str) -> str:
    """SQL picking one element of a list variable by a hash."""
    return f"getvariable('{var}')[1 + ({key}) % len(getvariable('{var}'))]"


def _build_entities(con: duckdb.DuckDBPyConnection, scale: float, snapshot: date) -> None:
    n = max(30, round(ENTERPRISES * scale))
    step = max(1, 18_000_000 // n)   # 0200.000.0xx … 1999.999.9xx
    snap = f"DATE '{snapshot.isoformat()}'"
    # enterprises in number order; a third natural persons; legal persons 0–2 establishment units (a few
    # chains with tens to hundreds), natural persons 1–3
    con.execute(f"""
        CREATE TABLE ent AS
        SELECT i, ent_fmt(check97(2000000 + i * {step} + h(i, 'num') % {step})) AS number,
               CASE WHEN u(i, 'type') < 1 / 3 THEN '1' ELSE '2' END AS type,
               {snap} - CAST(floor(pow(u(i, 'start'), 2) * 27000) AS INTEGER) AS start
        FROM range({n}) t(i)""")
    con.execute(f"""
        CREATE TABLE ent2 AS
        SELECT *, CASE WHEN type = '1' THEN 1 + (u(i, 'ne') < 0.15)::INT + (u(i, 'ne') < 0.03)::INT
                       WHEN u(i, 'chain') < 0.0005 THEN 10 + h(i, 'chainn') % 200
                       ELSE CAST(floor(u(i, 'ne') * 3.39) AS INTEGER) END AS n_est,
                  {_pick('forms', "h(i, 'form')")} AS form_pick, h(i, 'form') AS form_key
        FROM ent ORDER BY i""")
    con.execute("""
        CREATE OR REPLACE TABLE ent AS
        SELECT i, number, type, start, n_est,
               CASE WHEN type = '2' THEN form_pick END AS juridical_form,
               CASE WHEN type = '2' THEN getvariable('forms_cac')[1 + form_key % len(getvariable('forms_cac'))]
                    END AS juridical_form_cac
        FROM ent2 ORDER BY i""")
    con.execute("DROP TABLE ent2")
    # establishment units: numbered in a shuffled order, started on or after their enterprise
    con.execute("""
        CREATE TABLE est0 AS SELECT e.i AS ent_i, e.number AS ent_number, e.type, e.start AS ent_start,
                                    unnest(range(e.n_est)) AS k FROM ent e""")
    n_est = con.execute("SELECT count(*) FROM est0").fetchone()[0]
    est_step = max(1, 69_000_000 // max(n_est, 1))
    con.execute(f"""
        CREATE TABLE est AS
        SELECT j, est_fmt(check97(20000000 + j * {est_step} + h(j, 'enum') % {est_step})) AS number,
               ent_i, ent_number, type,
               ent_start + CAST(floor(u(j, 'estart') * ({snap} - ent_start)) AS INTEGER) AS start
        FROM (SELECT row_number() OVER (ORDER BY h(ent_i * 1000 + k, 'estorder')) - 1 AS j, * FROM est0)
        ORDER BY j""")
    con.execute("DROP TABLE est0")
    nb = max(3, round(BRANCHES * scale))
    con.execute(f"""
        CREATE TABLE branch AS
        SELECT b, est_fmt(check97(90000000 + b * 7 + h(b, 'bnum') % 7)) AS id,
               e.number AS ent_number,
               {snap} - CAST(floor(u(b, 'bstart') * 20000) AS INTEGER) AS start
        FROM range({nb}) t(b)
        JOIN ent e ON e.i = h(b, 'bent') % {n} ORDER BY b""")


def _copy(con: duckdb.DuckDBPyConnection, name: str, select: str, body: Path) -> None:
    spec = FILES[name]
    quoted = [c for c in spec.columns if c not in spec.dates]
    force = ", ".join(f'"{c}"' for c in quoted)
    con.execute(f"COPY ({select}) TO '{body}' (FORMAT csv, HEADER false, DELIMITER ',', QUOTE '\"', "
                f"ESCAPE '\"', NULLSTR '', FORCE_QUOTE ({force}))")


def _write_bodies(con: duckdb.DuckDBPyConnection, parts: Path, scale: float, snapshot: date,
                  number: int) -> dict[str, Path]:
    snap = f"DATE '{snapshot.isoformat()}'"
    bodies = {name: parts / f"{name}.body" for name in ORDER}
    # meta and code are small: written by Python with the fixtures' writer
    meta = "".join(csv_line(r) for r in meta_rows(number, "full", f"{snapshot:%d-%m-%Y}",
                                                  f"{snapshot:%d-%m-%Y} 07:07:49"))
    bodies["meta"].write_text(meta, encoding="utf-8")
    _write_code(con, bodies["code"])

    _copy(con, "enterprise", """
        SELECT number AS "EnterpriseNumber", 'AC' AS "Status",
               CASE WHEN u(i, 'jsit') < 0.985 THEN '000' WHEN u(i, 'jsit') < 0.995 THEN '012' ELSE '050' END
                   AS "JuridicalSituation",
               type AS "TypeOfEnterprise", juridical_form AS "JuridicalForm",
               juridical_form_cac AS "JuridicalFormCAC", dmy(start) AS "StartDate"
        FROM ent ORDER BY i""", bodies["enterprise"])
    _copy(con, "establishment", """
        SELECT number AS "EstablishmentNumber", dmy(start) AS "StartDate", ent_number AS "EnterpriseNumber"
        FROM est ORDER BY j""", bodies["establishment"])
    name = (f"{_pick('trades', 'h(x, 1)')} || ' ' || {_pick('surnames', 'h(x, 2)')} || "
            f"{_pick('suffixes', 'h(x, 3)')}")
    # legal persons: a name (001), often an abbreviation (002) and a commercial name (003); establishment
    # units: a commercial name (003) for some; 1 in 40 names between double quotes, languages 0–4
    _copy(con, "denomination", f"""
        WITH d AS (
            SELECT 0 AS part, i AS x, number, t.typ FROM ent,
                   (VALUES ('001'), ('002'), ('003')) t(typ)
            WHERE (type = '2' AND (t.typ = '001' OR (t.typ = '002' AND u(i, 'abbr') < 0.3)
                                   OR (t.typ = '003' AND u(i, 'comm') < 0.25)))
               OR (type = '1' AND t.typ = '003' AND u(i, 'comm') < 0.4)
            UNION ALL
            SELECT 1, 10000000000 + j, number, '003' FROM est WHERE u(j, 'estname') < 0.45)
        SELECT number AS "EntityNumber",
               CASE WHEN u(x, 'lang') < 0.45 THEN '2' WHEN u(x, 'lang') < 0.8 THEN '1'
                    WHEN u(x, 'lang') < 0.82 THEN '3' WHEN u(x, 'lang') < 0.85 THEN '4' ELSE '0' END AS "Language",
               typ AS "TypeOfDenomination",
               CASE WHEN typ = '002' THEN upper(substr({_pick('trades', 'h(x, 1)')}, 1, 3)) || ' ' ||
                                          upper(substr({_pick('surnames', 'h(x, 2)')}, 1, 4))
                    WHEN u(x, 'quote') < 0.025 THEN {_pick('trades', 'h(x, 1)')} || ' "' ||
                                                    {_pick('surnames', 'h(x, 2)')} || '"'
                    ELSE {name} END AS "Denomination"
        FROM d ORDER BY part, x, typ""", bodies["denomination"])
    # addresses: REGO for 99.5 % of legal persons, BAET for 99 % of natural persons' units and about half of
    # the legal persons' units, ABBR for branches
    belgian = f"{_pick('pcs', 'h(x, 5)')}"
    con.execute("""
        CREATE TEMP TABLE addr AS
        SELECT 0 AS part, i AS x, number, 'REGO' AS typ, start FROM ent
        WHERE type = '2' AND u(i, 'seat') < 0.995
        UNION ALL
        SELECT 1, 10000000000 + j, number, 'BAET', start FROM est
        WHERE u(j, 'baet') < CASE WHEN type = '1' THEN 0.99 ELSE 0.52 END
        UNION ALL
        SELECT 2, 20000000000 + b, id, 'ABBR', start FROM branch""")
    _copy(con, "address", f"""
        WITH a AS (
            SELECT *, u(x, 'abroad') < CASE WHEN typ = 'REGO' THEN 0.015 WHEN typ = 'ABBR' THEN 0.3 ELSE 0.002
                                          END AS abroad,
                   {belgian} AS be, {_pick('abroad', 'h(x, 6)')} AS fo, u(x, 'odd') AS odd,
                   u(x, 'struck') AS struck, u(x, 'case') AS case_
            FROM addr)
        SELECT number AS "EntityNumber", typ AS "TypeOfAddress",
               CASE WHEN abroad THEN fo.nl END AS "CountryNL", CASE WHEN abroad THEN fo.fr END AS "CountryFR",
               CASE WHEN abroad THEN fo.zip WHEN odd < 0.0005 THEN NULL WHEN odd < 0.001 THEN '9999'
                    ELSE be.zip END AS "Zipcode",
               CASE WHEN abroad THEN fo.town WHEN case_ < 0.05 THEN upper(be.nl) ELSE be.nl END AS "MunicipalityNL",
               CASE WHEN abroad THEN fo.town WHEN case_ < 0.05 THEN upper(be.fr) ELSE be.fr END AS "MunicipalityFR",
               {_pick('streets_nl', 'h(x, 7)')} AS "StreetNL", {_pick('streets_fr', 'h(x, 7)')} AS "StreetFR",
               CAST(1 + h(x, 8) % 250 AS VARCHAR) || CASE WHEN h(x, 9) % 20 = 0 THEN 'A' ELSE '' END
                   AS "HouseNumber",
               CASE WHEN h(x, 10) % 6 = 0 THEN CAST(1 + h(x, 11) % 40 AS VARCHAR)
                    WHEN h(x, 10) % 6 = 1 THEN 'b' || CAST(1 + h(x, 11) % 12 AS VARCHAR) END AS "Box",
               CASE WHEN h(x, 12) % 200 = 0 THEN 'Zoning industriel, bâtiment "C"' END AS "ExtraAddressInfo",
               CASE WHEN struck < 0.02 THEN dmy(start + CAST(floor(u(x, 'sdate') * ({snap} - start)) AS INTEGER))
                    WHEN struck < 0.022 THEN dmy({snap} + CAST(1 + h(x, 13) % 60 AS INTEGER)) END
                   AS "DateStrikingOff"
        FROM a ORDER BY part, x""", bodies["address"])
    con.execute("DROP TABLE addr")
    _copy(con, "contact", """
        WITH c AS (
            SELECT 0 AS part, i AS x, number, 'ENT' AS ec FROM ent WHERE u(i, 'contact') < 0.28
            UNION ALL
            SELECT 1, 10000000000 + j, number, 'EST' FROM est WHERE u(j, 'contact') < 0.05)
        SELECT number AS "EntityNumber", ec AS "EntityContact",
               ['TEL', 'EMAIL', 'WEB'][1 + h(x, 20) % 3] AS "ContactType",
               CASE h(x, 20) % 3 WHEN 0 THEN '0' || CAST(2 + h(x, 21) % 8 AS VARCHAR) || ' '
                                          || CAST(100 + h(x, 22) % 900 AS VARCHAR) || ' '
                                          || lpad(CAST(h(x, 23) % 10000 AS VARCHAR), 4, '0')
                                 WHEN 1 THEN 'info' || CAST(h(x, 24) % 100000 AS VARCHAR) || '@exemple.be'
                                 ELSE 'www.entreprise' || CAST(h(x, 24) % 100000 AS VARCHAR) || '.be' END AS "Value"
        FROM c ORDER BY part, x""", bodies["contact"])
    # activity: 90 % of enterprises and 85 % of establishment units have rows; about 35 million in all at
    # scale 1; per row a version (2003 20 %, 2008 45 %, 2025 35 %), a group (001 60 %, 006 25 %, 003 10 %,
    # 007 5 %), MAIN for the first row of an entity and group, then SECO / ANCI
    n_ent = con.execute("SELECT count(*) FROM ent").fetchone()[0]
    n_est = con.execute("SELECT count(*) FROM est").fetchone()[0]
    with_rows = 0.9 * n_ent + 0.85 * n_est
    mean = max(1.0, ACTIVITY_ROWS * scale / max(with_rows, 1))
    width = 2 * (mean - 1) + 1
    con.execute("""
        CREATE TEMP TABLE act_ent AS
        SELECT 0 AS part, i AS x, number FROM ent WHERE u(i, 'act') < 0.9
        UNION ALL
        SELECT 1, 10000000000 + j, number FROM est WHERE u(j, 'act') < 0.85""")
    _copy(con, "activity", f"""
        WITH r AS (
            SELECT part, x, number, unnest(range(1 + CAST(floor(u(x, 'nact') * {width}) AS INTEGER))) AS k
            FROM act_ent),
        v AS (
            SELECT *, x * 64 + k AS y,
                   CASE WHEN u(x * 64 + k, 'ver') < 0.20 THEN 2003 WHEN u(x * 64 + k, 'ver') < 0.65 THEN 2008
                        ELSE 2025 END AS version,
                   CASE WHEN k = 0 OR u(x * 64 + k, 'grp') < 0.6 THEN '001'
                        WHEN u(x * 64 + k, 'grp') < 0.85 THEN '006'
                        WHEN u(x * 64 + k, 'grp') < 0.95 THEN '003' ELSE '007' END AS grp
            FROM r)
        SELECT number AS "EntityNumber", grp AS "ActivityGroup", CAST(version AS VARCHAR) AS "NaceVersion",
               CASE version WHEN 2003 THEN {_pick('nace2003', 'h(y, 30)')}
                            WHEN 2008 THEN {_pick('nace2008', 'h(y, 30)')}
                            ELSE {_pick('nace2025', 'h(y, 30)')} END AS "NaceCode",
               CASE WHEN k = 0 OR u(y, 'cls') < 0.15 THEN 'MAIN' WHEN u(y, 'cls') < 0.75 THEN 'SECO'
                    ELSE 'ANCI' END AS "Classification"
        FROM v""", bodies["activity"])  # act_ent is in entity order; insertion order is kept
    con.execute("DROP TABLE act_ent")
    _copy(con, "branch", """SELECT id AS "Id", dmy(start) AS "StartDate", ent_number AS "EnterpriseNumber"
                            FROM branch ORDER BY b""", bodies["branch"])
    return bodies


def _write_code(con: duckdb.DuckDBPyConnection, body: Path) -> None:
    """``code.csv``: the small categories, the legal forms and the NACE-BEL codes of the three versions."""
    small = {
        "Status": [("AC", "Actief", "Actif", "Aktiv")],
        "TypeOfEnterprise": [("1", "Natuurlijk persoon", "Personne physique", "Natürliche Person"),
                             ("2", "Rechtspersoon", "Personne morale", "Juristische Person")],
        "JuridicalSituation": [("000", "Normale toestand", "Situation normale", "Normale Situation"),
                               ("012", "Opening faillissement", "Ouverture de faillite", "Konkurseröffnung"),
                               ("050", "Gerechtelijke reorganisatie", "Réorganisation judiciaire",
                                "Gerichtliche Reorganisation")],
        "TypeOfAddress": [("REGO", "Zetel", "Siège", "Sitz"), ("BAET", "Vestigingseenheid", "Unité d'établissement",
                                                                "Niederlassungseinheit"),
                          ("ABBR", "Bijhuis", "Succursale", "Zweigniederlassung")],
        "TypeOfDenomination": [("001", "Naam", "Dénomination", "Name"), ("002", "Afkorting", "Abréviation",
                                                                         "Abkürzung"),
                               ("003", "Commerciële naam", "Dénomination commerciale", "Handelsname"),
                               ("004", "Naam van het bijhuis", "Dénomination de la succursale",
                                "Name der Zweigniederlassung")],
        "Language": [("0", "Onbekend", "Inconnu", "Unbekannt"), ("1", "Frans", "Français", "Französisch"),
                     ("2", "Nederlands", "Néerlandais", "Niederländisch"), ("3", "Duits", "Allemand", "Deutsch"),
                     ("4", "Engels", "Anglais", "Englisch")],
        "ContactType": [("TEL", "Telefoonnummer", "Numéro de téléphone", "Telefonnummer"),
                        ("EMAIL", "E-mail", "E-mail", "E-Mail"), ("WEB", "Webadres", "Adresse web", "Webadresse")],
        "EntityContact": [("ENT", "Onderneming", "Entreprise", "Unternehmen"),
                          ("EST", "Vestigingseenheid", "Unité d'établissement", "Niederlassungseinheit")],
        "Classification": [("MAIN", "Hoofdactiviteit", "Activité principale", "Haupttätigkeit"),
                           ("SECO", "Nevenactiviteit", "Activité secondaire", "Nebentätigkeit"),
                           ("ANCI", "Hulpactiviteit", "Activité auxiliaire", "Hilfstätigkeit")],
        "ActivityGroup": [("001", "BTW-activiteiten", "Activités TVA", "MwSt.-Tätigkeiten"),
                          ("003", "Activiteiten", "Activités", "Tätigkeiten"),
                          ("006", "RSZ-activiteiten", "Activités ONSS", "LSS-Tätigkeiten"),
                          ("007", "Onderwijs", "Enseignement", "Unterricht")],
    }
    rows = []
    for category, codes in small.items():
        for code, nl, fr, de in codes:
            rows += [(category, code, "NL", nl), (category, code, "FR", fr), (category, code, "DE", de)]
    labels = REPO.parent / "shared" / "data" / "bce_kbo" / "bce_code_tables_bce_codes_to_label.csv"
    forms = con.execute(f"SELECT key, label_fr, label_nl, label_de FROM read_csv('{labels}', all_varchar = true) "
                        "WHERE registry = 'legal_forms' ORDER BY key").fetchall() if labels.is_file() else []
    for code, fr, nl, de in forms:
        rows += [("JuridicalForm", code, lang, text) for lang, text in (("NL", nl), ("FR", fr), ("DE", de)) if text]
    for version, code, fr, nl, de in con.execute("SELECT version, code, label_fr, label_nl, label_de FROM nace "
                                                 "ORDER BY version, code").fetchall():
        rows += [(f"Nace{version}", code, lang, text) for lang, text in (("NL", nl), ("FR", fr), ("DE", de)) if text]
    body.write_text("".join(csv_line(r) for r in rows), encoding="utf-8")


def _assemble(bodies: dict[str, Path], target: Path, as_zip: bool, compresslevel: int) -> None:
    """Each member = its documented header line, then its body."""
    def header(name: str) -> bytes:
        return csv_line(FILES[name].columns).encode("utf-8")
    if as_zip:
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as archive:
            for name in ORDER:
                with archive.open(f"{name}.csv", "w", force_zip64=True) as dst, open(bodies[name], "rb") as src:
                    dst.write(header(name))
                    shutil.copyfileobj(src, dst, 1 << 22)
                bodies[name].unlink()
        return
    target.mkdir(parents=True, exist_ok=True)
    for name in ORDER:
        with open(target / f"{name}.csv", "wb") as dst, open(bodies[name], "rb") as src:
            dst.write(header(name))
            shutil.copyfileobj(src, dst, 1 << 22)
        bodies[name].unlink()


def generate(out_dir: Path, scale: float = 1.0, *, as_zip: bool = True, threads: int = 2, seed: int = 5,
             source: Path | None = None, snapshot: date = date(2025, 10, 3), number: int = 140,
             compresslevel: int = 6) -> GeneratedExtract:
    """Write a full extract into ``out_dir`` and return its path, rows and sizes per file."""
    t0 = time.perf_counter()
    source = Path(source or REPO.parent / "shared" / "data")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"KboOpenData_{number:04d}_{snapshot:%Y}_{snapshot:%m}_Full"
    target = out_dir / (f"{stem}.zip" if as_zip else stem)
    parts = out_dir / f"_{stem}_parts"
    parts.mkdir(exist_ok=True)
    con = duckdb.connect(config={"threads": threads, "temp_directory": str(parts / "duckdb.tmp")})
    try:
        _setup(con, source, seed)
        _build_entities(con, scale, snapshot)
        bodies = _write_bodies(con, parts, scale, snapshot, number)
    finally:
        con.close()
    result = GeneratedExtract(target)
    for name, body in bodies.items():
        with open(body, "rb") as fh:
            result.rows[name] = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 24), b""))
        result.bytes[name] = body.stat().st_size + len(csv_line(FILES[name].columns).encode())
    _assemble(bodies, target, as_zip, compresslevel)
    shutil.rmtree(parts, ignore_errors=True)
    result.seconds = time.perf_counter() - t0
    summary = {"path": str(target), "scale": scale, "seed": seed, "rows": result.rows, "bytes": result.bytes,
               "seconds": result.seconds, "zip_bytes": target.stat().st_size if as_zip else None}
    (out_dir / f"{stem}.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return result


def load_summary(out_dir: Path, *, number: int = 140, snapshot: date = date(2025, 10, 3)) -> dict | None:
    """The summary :func:`generate` wrote beside the extract (None when there is none or its extract is gone)."""
    stem = f"KboOpenData_{number:04d}_{snapshot:%Y}_{snapshot:%m}_Full"
    path = Path(out_dir) / f"{stem}.json"
    if not path.is_file():
        return None
    summary = json.loads(path.read_text(encoding="utf-8"))
    return summary if Path(summary["path"]).exists() else None


def describe(result: GeneratedExtract) -> str:
    """Rows and sizes per file, for the benchmark's output."""
    lines = [f"{'file':<14}{'rows':>14}{'MB':>10}"]
    for name in ORDER:
        lines.append(f"{name + '.csv':<14}{result.rows[name]:>14,}{result.bytes[name] / 1e6:>10.1f}")
    lines.append(f"{'total':<14}{sum(result.rows.values()):>14,}{result.total_bytes / 1e6:>10.1f}")
    if result.path.is_file():
        lines.append(f"zip {result.path.name}: {result.path.stat().st_size / 1e6:.1f} MB")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path, help="folder to write into (outside the repository)")
    parser.add_argument("--scale", type=float, default=1.0, help="1 = national size (default), 0.01 = 1 %%")
    parser.add_argument("--folder", action="store_true", help="write the CSV files into a folder, not a zip")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--compresslevel", type=int, default=6, help="zip deflate level (default 6)")
    args = parser.parse_args(argv)
    if REPO in args.out_dir.resolve().parents or args.out_dir.resolve() == REPO:
        parser.error("write the generated extract outside the repository (e.g. /tmp/kbo-extract)")
    result = generate(args.out_dir, args.scale, as_zip=not args.folder, threads=args.threads, seed=args.seed,
                      compresslevel=args.compresslevel)
    print(describe(result))
    print(f"written {result.path} in {result.seconds:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
