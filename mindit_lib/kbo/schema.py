"""DuckDB tables for the KBO extract: each file as text (``kbo_<file>``), typed views (``kbo_<file>_v``), the
extracts applied (``kbo_extract``) and the entities the update extracts removed (``kbo_cessation``)."""

from __future__ import annotations

import duckdb

from mindit_lib.kbo.layout import FILES, KboFile, snake
from mindit_lib.store import SCHEMA

DATE_FORMAT = "%d-%m-%Y"

EXTRA_TABLES = {
    "kbo_extract": """extract_number INTEGER NOT NULL, extract_type VARCHAR NOT NULL, snapshot_date DATE NOT NULL,
        extract_timestamp VARCHAR, version VARCHAR, file VARCHAR, sha256 VARCHAR, applied TIMESTAMP,
        rows BIGINT, unparsable_dates BIGINT, message VARCHAR""",
    # one row per enterprise/establishment an update extract deleted without inserting it again; where it
    # was and what it did are taken just before the deletion
    "kbo_cessation": """kind VARCHAR NOT NULL, entity_number VARCHAR NOT NULL, extract_number INTEGER NOT NULL,
        snapshot_date DATE NOT NULL, start_date DATE, type_of_enterprise VARCHAR, refnis VARCHAR,
        nace_version INTEGER, nace_code VARCHAR""",
}


def text_columns(spec: KboFile) -> str:
    """``col VARCHAR, …`` for a file's table."""
    return ", ".join(f"{snake(c)} VARCHAR" for c in spec.columns)


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the KBO tables and views (and the store's ``import_run``) when missing."""
    con.execute(f"CREATE TABLE IF NOT EXISTS import_run ({SCHEMA['import_run']})")
    for spec in FILES.values():
        con.execute(f"CREATE TABLE IF NOT EXISTS {spec.table} ({text_columns(spec)})")
    for name, ddl in EXTRA_TABLES.items():
        con.execute(f"CREATE TABLE IF NOT EXISTS {name} ({ddl})")
    create_views(con)


def typed(column: str) -> str:
    """SQL turning a text column into its value: empty → NULL, dates parsed (unparsable → NULL)."""
    return f"NULLIF(trim({column}), '')"


def create_views(con: duckdb.DuckDBPyConnection) -> None:
    """``kbo_<file>_v``: empty text is NULL, ``dd-mm-yyyy`` columns are DATEs (the raw text kept as ``<col>_raw``)."""
    for spec in FILES.values():
        cols = []
        for column in spec.columns:
            name = snake(column)
            if column in spec.dates:
                cols.append(f"CAST(try_strptime({typed(name)}, '{DATE_FORMAT}') AS DATE) AS {name}")
                cols.append(f"{typed(name)} AS {name}_raw")
            else:
                cols.append(f"{typed(name)} AS {name}")
        con.execute(f"CREATE OR REPLACE VIEW {spec.table}_v AS SELECT {', '.join(cols)} FROM {spec.table}")


def read_csv_sql(path: str, columns: tuple[str, ...] | list[str]) -> str:
    """A DuckDB ``read_csv`` call for one KBO file: documented dialect, every column VARCHAR, no guessing."""
    cols = ", ".join(f"'{snake(c)}': 'VARCHAR'" for c in columns)
    quoted = str(path).replace("'", "''")
    return (f"read_csv('{quoted}', header = true, delim = ',', quote = '\"', escape = '\"', auto_detect = false, "
            f"strict_mode = true, encoding = 'utf-8', columns = {{{cols}}})")
