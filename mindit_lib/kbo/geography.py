"""Where KBO entities are: addresses → communes through the postal-code reference table, establishment
units by their own address, enterprises by their registered seat (legal persons) or by their oldest active
establishment unit (natural persons, who have no seat address in the extract, Cookbook §1.5.1, §2.6).

An address is resolved only when it can be without guessing: a Belgian postal code that serves one commune
gives that commune; a postal code shared by several communes is resolved by the municipality name (FR or NL
as written in the extract, against the communes' FR/NL/DE names and the postal table's names); anything
else is counted under its reason and left unresolved. Addresses struck off on or before the snapshot date
are ignored.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

#: resolutions of an address, in the order reports list them
RESOLUTIONS = {
    "postal_code": "code postal d'une seule commune",
    "name": "code postal partagé, commune reconnue par son nom",
    "ambiguous": "code postal partagé, nom de commune non reconnu",
    "unknown_postal_code": "code postal belge inconnu de la table des codes postaux",
    "no_postal_code": "sans code postal",
    "abroad": "adresse à l'étranger",
    "struck_off": "adresse radiée (ignorée)",
}

#: how enterprises are located
ENTERPRISE_RESOLUTIONS = {
    "seat": "siège (personne morale)",
    "establishment": "plus ancienne unité d'établissement (personne physique)",
    "seat_unresolved": "personne morale, siège non localisé",
    "no_seat": "personne morale sans adresse de siège",
    "establishment_unresolved": "personne physique, aucune unité d'établissement localisée",
}


class KboReferenceError(LookupError):
    """A reference table the KBO derivations need is not in the store; the message says what to import."""


def fold_sql(expr: str) -> str:
    """SQL folding a place name as :func:`mindit_lib.codes.fold_name` does, plus punctuation → space."""
    return f"trim(regexp_replace(lower(strip_accents({expr})), '[^a-z0-9]+', ' ', 'g'))"


def require_tables(con: duckdb.DuckDBPyConnection, tables: dict[str, str]) -> None:
    """Refuse to derive without the reference tables (name → what to run)."""
    present = set(con.execute("SELECT table_name FROM information_schema.tables").df()["table_name"])
    for table, hint in tables.items():
        if table not in present or not con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]:
            raise KboReferenceError(f"the store has no {table} rows: {hint}")


def commune_names_sql(con: duckdb.DuckDBPyConnection) -> str:
    """SQL listing (refnis, folded name) for every commune: postal-table names, territory names FR/NL/DE."""
    present = set(con.execute("SELECT table_name FROM information_schema.tables").df()["table_name"])
    parts = [f"SELECT DISTINCT refnis, {fold_sql('name')} AS name FROM postal_code, "
             "unnest([name_fr, name_nl]) AS u(name)"]
    for table in ("territory", "territory_name"):
        if table in present:
            level = "WHERE level = 5" if table == "territory" else ""
            parts.append(f"SELECT refnis, {fold_sql('name')} FROM (SELECT refnis, unnest([name_fr, name_nl, name_de]) "
                         f"AS name FROM {table} {level})")
    return " UNION ".join(parts)


def locate_addresses(con: duckdb.DuckDBPyConnection, snapshot: date) -> None:
    """Build ``kbo_address_commune(entity_number, type_of_address, refnis, resolution)`` for seat (REGO) and
    establishment-unit (BAET) addresses."""
    require_tables(con, {"postal_code": "import the postal-code table first (`mindit import --dataset "
                                        "statbel_postal_codes`)."})
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _kbo_commune_name AS
        SELECT DISTINCT refnis, name FROM ({commune_names_sql(con)}) WHERE name IS NOT NULL AND name <> ''""")
    con.execute(f"""
        CREATE OR REPLACE TABLE kbo_address_commune AS
        WITH a AS (
            SELECT entity_number, type_of_address, trim(zipcode) AS zipcode,
                   {fold_sql('municipality_fr')} AS fr, {fold_sql('municipality_nl')} AS nl,
                   country_fr IS NOT NULL OR country_nl IS NOT NULL AS abroad,
                   date_striking_off_raw IS NOT NULL
                       AND (date_striking_off IS NULL OR date_striking_off <= ?) AS struck
            FROM kbo_address_v WHERE type_of_address IN ('REGO', 'BAET')),
        pc AS (SELECT postal_code, count(DISTINCT refnis) AS n, min(refnis) AS refnis
               FROM postal_code GROUP BY postal_code),
        by_name AS (
            SELECT a.entity_number, a.type_of_address, count(DISTINCT c.refnis) AS n, min(c.refnis) AS refnis
            FROM a JOIN pc ON pc.postal_code = a.zipcode AND pc.n > 1 AND NOT a.struck AND NOT a.abroad
            JOIN postal_code p ON p.postal_code = a.zipcode
            JOIN _kbo_commune_name c ON c.refnis = p.refnis AND c.name IN (a.fr, a.nl)
            GROUP BY ALL)
        SELECT a.entity_number, a.type_of_address,
               CASE WHEN a.struck OR a.abroad THEN NULL WHEN pc.n = 1 THEN pc.refnis
                    WHEN b.n = 1 THEN b.refnis END AS refnis,
               CASE WHEN a.struck THEN 'struck_off' WHEN a.abroad THEN 'abroad'
                    WHEN a.zipcode IS NULL OR a.zipcode = '' THEN 'no_postal_code'
                    WHEN pc.n IS NULL THEN 'unknown_postal_code' WHEN pc.n = 1 THEN 'postal_code'
                    WHEN b.n = 1 THEN 'name' ELSE 'ambiguous' END AS resolution
        FROM a LEFT JOIN pc ON pc.postal_code = a.zipcode
        LEFT JOIN by_name b USING (entity_number, type_of_address)""", [snapshot])
    con.execute("DROP TABLE _kbo_commune_name")


def locate_entities(con: duckdb.DuckDBPyConnection) -> None:
    """Build ``kbo_location(kind, entity_number, refnis, resolution)``: one row per establishment unit and per
    enterprise (``refnis`` NULL when not located; ``resolution`` says how or why not)."""
    con.execute("""
        CREATE OR REPLACE TABLE kbo_location AS
        WITH unit_address AS (   -- one row per establishment unit with a BAET address: a located one if any
            SELECT entity_number, arg_max(refnis, refnis IS NOT NULL) AS refnis
            FROM kbo_address_commune WHERE type_of_address = 'BAET' GROUP BY 1),
        est AS (   -- (grouping the addresses first, then joining one to one, is half the work of the reverse)
            SELECT DISTINCT e.establishment_number, e.enterprise_number, e.start_date, a.refnis
            FROM kbo_establishment_v e LEFT JOIN unit_address a ON a.entity_number = e.establishment_number),
        seat AS (
            SELECT entity_number, arg_max(refnis, refnis IS NOT NULL) AS refnis
            FROM kbo_address_commune WHERE type_of_address = 'REGO' AND resolution <> 'struck_off' GROUP BY 1),
        oldest AS (
            SELECT enterprise_number,
                   arg_min(refnis, (start_date IS NULL, start_date, establishment_number)) AS refnis
            FROM est WHERE refnis IS NOT NULL GROUP BY 1)
        SELECT 'establishment' AS kind, establishment_number AS entity_number, refnis,
               CASE WHEN refnis IS NULL THEN 'unresolved' ELSE 'address' END AS resolution
        FROM est
        UNION ALL
        SELECT 'enterprise', e.enterprise_number,
               CASE WHEN e.type_of_enterprise = '1' THEN o.refnis ELSE s.refnis END,
               CASE WHEN e.type_of_enterprise = '1'
                         THEN CASE WHEN o.refnis IS NULL THEN 'establishment_unresolved' ELSE 'establishment' END
                    WHEN s.entity_number IS NULL THEN 'no_seat'
                    WHEN s.refnis IS NULL THEN 'seat_unresolved' ELSE 'seat' END
        FROM kbo_enterprise_v e
        LEFT JOIN seat s ON s.entity_number = e.enterprise_number
        LEFT JOIN oldest o ON o.enterprise_number = e.enterprise_number""")


def geography_report(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, int]]:
    """Counts by resolution: ``addresses`` (seats and establishment units), ``enterprises``, ``establishments``."""
    addresses = con.execute("SELECT resolution, count(*) FROM kbo_address_commune GROUP BY 1").fetchall()
    entities = con.execute("SELECT kind, resolution, count(*) FROM kbo_location GROUP BY 1, 2").fetchall()
    out: dict[str, dict[str, int]] = {"addresses": dict(addresses), "enterprises": {}, "establishments": {}}
    for kind, resolution, count in entities:
        out[f"{kind}s"][resolution] = count
    return out


def unresolved_addresses(con: duckdb.DuckDBPyConnection, limit: int = 20) -> pd.DataFrame:
    """Examples of addresses left unresolved (for the import report), most frequent postal codes first."""
    return con.execute("""
        SELECT c.resolution, a.zipcode, a.municipality_fr, a.municipality_nl, count(*) AS n
        FROM kbo_address_commune c JOIN kbo_address_v a USING (entity_number, type_of_address)
        WHERE c.resolution IN ('ambiguous', 'unknown_postal_code', 'no_postal_code')
        GROUP BY ALL ORDER BY n DESC, zipcode LIMIT ?""", [limit]).df()
