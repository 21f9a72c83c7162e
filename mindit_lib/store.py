"""The store: one embedded DuckDB file holding territories, shapes, observations and import runs.

Each dataset owns its rows. An import replaces a dataset's rows in one transaction and records an
``import_run``: it lands whole or not at all. The store knows nothing of charts or notebooks.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

SCHEMA = {
    "territory": """
        refnis VARCHAR NOT NULL, level INTEGER NOT NULL, name_fr VARCHAR, name_nl VARCHAR,
        name_de VARCHAR, parent_refnis VARCHAR, valid_from DATE, valid_to DATE,
        language VARCHAR, dataset VARCHAR NOT NULL""",
    "territory_name": """
        refnis VARCHAR NOT NULL, name_fr VARCHAR, name_nl VARCHAR, name_de VARCHAR,
        dataset VARCHAR NOT NULL""",
    "geometry": """
        geometry_set VARCHAR NOT NULL, refnis VARCHAR NOT NULL, level INTEGER NOT NULL,
        wkb BLOB NOT NULL, dataset VARCHAR NOT NULL""",
    "observation": """
        indicator_id VARCHAR NOT NULL, refnis VARCHAR NOT NULL, period INTEGER NOT NULL,
        reference_date DATE, value DOUBLE, status VARCHAR NOT NULL, vintage VARCHAR,
        dataset VARCHAR NOT NULL, sex VARCHAR, age INTEGER""",
    # reference tables (each owned by a dataset, replaced atomically like the rest)
    "postal_code": """
        postal_code VARCHAR NOT NULL, refnis VARCHAR NOT NULL, name_fr VARCHAR, name_nl VARCHAR,
        dataset VARCHAR NOT NULL""",
    "nace_label": """
        version INTEGER NOT NULL, code VARCHAR NOT NULL, code_dot VARCHAR, level INTEGER, parent VARCHAR,
        valid_from DATE, valid_to DATE, label_fr VARCHAR, label_nl VARCHAR, label_de VARCHAR,
        label_en VARCHAR, dataset VARCHAR NOT NULL""",
    "code_label": """
        registry VARCHAR NOT NULL, code VARCHAR NOT NULL, label_fr VARCHAR, label_nl VARCHAR,
        label_de VARCHAR, label_en VARCHAR, dataset VARCHAR NOT NULL""",
    "statistical_sector": """
        sector_refnis VARCHAR NOT NULL, sector_code VARCHAR NOT NULL, name_fr VARCHAR, name_nl VARCHAR,
        refnis VARCHAR NOT NULL, dataset VARCHAR NOT NULL""",
    "refnis_crosswalk": """
        old_refnis VARCHAR NOT NULL, new_refnis VARCHAR NOT NULL, relation VARCHAR, valid_from DATE,
        has_partial_transfer BOOLEAN, verified BOOLEAN, note VARCHAR, differs_from_reference VARCHAR,
        dataset VARCHAR NOT NULL""",
    "boundary_check": """
        refnis VARCHAR NOT NULL, against_dataset VARCHAR NOT NULL, columns_compared INTEGER,
        dataset VARCHAR NOT NULL""",
    "import_run": """
        run_id VARCHAR NOT NULL, dataset VARCHAR NOT NULL, file VARCHAR, sha256 VARCHAR,
        rows BIGINT, started TIMESTAMP, finished TIMESTAMP, status VARCHAR NOT NULL, message VARCHAR,
        reader_fingerprint VARCHAR""",
}

#: columns added since a store was first made: (table, column, type), added when a writable store opens
ADDED_COLUMNS = [("import_run", "reader_fingerprint", "VARCHAR")]

#: Columns of each table, in order (used to insert frames).
COLUMNS = {name: [line.strip().split()[0] for line in ddl.split(",") if line.strip()]
           for name, ddl in SCHEMA.items()}

#: Tables whose rows belong to a dataset (an import replaces them).
DATASET_TABLES = tuple(name for name in SCHEMA if name != "import_run")

STATUSES = {"final", "provisional", "confidential", "not_published"}


class StoreError(RuntimeError):
    """The store cannot be opened or is missing something; the message says what to run."""


def sha256_file(path: str | Path) -> str:
    """Return the hex SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Store:
    """Access to the DuckDB store.

    Parameters
    ----------
    path : str or Path
        The DuckDB file.
    read_only : bool
        Open read-only (several processes may then read at once, e.g. report workers).
    """

    def __init__(self, path: str | Path, read_only: bool = False):
        self.path = Path(path)
        self.read_only = read_only
        if read_only and not self.path.exists():
            raise StoreError(f"no store at {self.path}: run `mindit import` first.")
        if not read_only:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create the folder of the store {self.path}: {exc.strerror}.") from None
        #: the writer's connection; a read-only store opens one per query and closes it at once, so that an
        #: open notebook or dashboard never blocks `mindit import` (DuckDB allows one writer and no reader
        #: beside it across processes)
        self.con = self._open() if not read_only else None
        if read_only:
            self._open().close()  # fail now, with a clear message, if the file cannot be read
        else:
            for name, ddl in SCHEMA.items():
                self.con.execute(f"CREATE TABLE IF NOT EXISTS {name} ({ddl})")
            for table, column, kind in ADDED_COLUMNS:  # upgrade a store made by an older version
                self.con.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {kind}")

    def _open(self) -> duckdb.DuckDBPyConnection:
        try:
            return duckdb.connect(str(self.path), read_only=self.read_only)
        except (duckdb.Error, OSError) as exc:
            hint = " Another process (an import?) is writing it: try again when it ends." if "lock" in str(
                exc).lower() else ""
            raise StoreError(f"cannot open the store {self.path}: {exc}.{hint}") from None

    def close(self) -> None:
        """Close the connection (a read-only store holds none between queries)."""
        if self.con is not None:
            self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -------------------------------------------------------------------------------
    @contextmanager
    def _transaction(self):
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        else:
            self.con.execute("COMMIT")

    def replace_dataset(self, dataset: str, tables: dict[str, pd.DataFrame], *, file: str,
                        sha256: str, started: datetime, reader_fingerprint: str | None = None) -> int:
        """Replace every row a dataset owns, atomically, and record the import run.

        Parameters
        ----------
        dataset : str
            Catalogue id of the dataset.
        tables : dict
            Table name → frame with that table's columns (``dataset`` is filled in).
        file, sha256 : str
            The source file and its checksum, recorded in ``import_run``.
        started : datetime
            When the import started.
        reader_fingerprint : str, optional
            What determined the rows besides the file (see :mod:`mindit_lib.reader_fingerprint`), recorded too.

        Returns
        -------
        int
            Rows written over all tables.
        """
        rows = 0
        with self._transaction():
            for table in DATASET_TABLES:
                self.con.execute(f"DELETE FROM {table} WHERE dataset = ?", [dataset])
            for table, frame in tables.items():
                cols = COLUMNS[table]
                frame = frame.copy()
                frame["dataset"] = dataset
                for col in cols:
                    if col not in frame.columns:
                        frame[col] = None
                self.con.register("_incoming", frame[cols])
                self.con.execute(f"INSERT INTO {table} SELECT * FROM _incoming")
                self.con.unregister("_incoming")
                rows += len(frame)
            self._record_run(dataset, file, sha256, rows, started, "ok", "", reader_fingerprint)
        return rows

    def record_failure(self, dataset: str, file: str, sha256: str | None, started: datetime,
                       message: str, *, reader_fingerprint: str | None = None) -> None:
        """Record a failed import (nothing else changes)."""
        self._record_run(dataset, file, sha256, 0, started, "failed", message, reader_fingerprint)

    def _record_run(self, dataset: str, file: str, sha256: str | None, rows: int, started: datetime,
                    status: str, message: str, reader_fingerprint: str | None) -> None:
        columns = COLUMNS["import_run"]
        self.con.execute(
            f"INSERT INTO import_run ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            [uuid.uuid4().hex, dataset, file, sha256, rows, started.replace(tzinfo=None),
             datetime.now(UTC).replace(tzinfo=None), status, message, reader_fingerprint],
        )

    # -- reading -------------------------------------------------------------------------------
    def query(self, sql: str, params: Iterable | None = None) -> pd.DataFrame:
        """Run SQL and return a frame."""
        if self.con is not None:
            return self.con.execute(sql, list(params or [])).df()
        con = self._open()
        try:
            return con.execute(sql, list(params or [])).df()
        finally:
            con.close()

    def territories(self) -> pd.DataFrame:
        """Territories with their official names (the newest REFNIS list wins over 2011 names)."""
        self._require("territory")
        return self.query("""
            SELECT t.refnis, t.level,
                   COALESCE(n.name_fr, t.name_fr) AS name_fr,
                   COALESCE(n.name_nl, t.name_nl) AS name_nl,
                   COALESCE(n.name_de, t.name_de) AS name_de,
                   t.parent_refnis, t.valid_from, t.valid_to, t.language
            FROM territory t LEFT JOIN territory_name n USING (refnis)
            ORDER BY t.refnis""")

    def observations(self, indicator_ids: Iterable[str], refnis: Iterable[str] | None = None,
                     with_dimensions: bool = False) -> pd.DataFrame:
        """Observations of some indicators, one row per indicator, territory, period (and dimensions).

        Where several datasets give the same value, the one of highest catalogue priority wins
        (``priority`` is passed through the ``dataset_priority`` table the importer writes).
        """
        self._require("observation")
        ids = list(indicator_ids)
        where = "indicator_id IN (SELECT unnest(?))"
        params: list = [ids]
        if refnis is not None:
            where += " AND refnis IN (SELECT unnest(?))"
            params.append(list(refnis))
        if not with_dimensions:
            where += " AND sex IS NULL AND age IS NULL"
        return self.query(f"""
            SELECT o.*, COALESCE(p.priority, 0) AS priority FROM observation o
            LEFT JOIN dataset_priority p USING (dataset) WHERE {where}
            QUALIFY row_number() OVER (PARTITION BY indicator_id, refnis, period, sex, age
                                       ORDER BY COALESCE(p.priority, 0) DESC, dataset) = 1
            ORDER BY indicator_id, refnis, period""", params)

    def geometry(self, geometry_set: str, level: int):
        """Shapes of one set and level as a GeoDataFrame (EPSG:4326)."""
        import geopandas as gpd

        self._require("geometry")
        frame = self.query("SELECT refnis, level, wkb FROM geometry WHERE geometry_set = ? AND level = ?",
                           [geometry_set, level])
        if frame.empty:
            raise StoreError(f"no {geometry_set} shapes at level {level} in the store: run `mindit import`.")
        geoms = gpd.GeoSeries.from_wkb(frame["wkb"].map(bytes), crs="EPSG:4326")
        return gpd.GeoDataFrame(frame[["refnis", "level"]], geometry=geoms, crs="EPSG:4326")

    def import_runs(self) -> pd.DataFrame:
        """Every import run, newest first."""
        self._require("import_run")
        return self.query("SELECT * FROM import_run ORDER BY started DESC")

    def latest_imports(self) -> pd.DataFrame:
        """The latest successful import of each dataset."""
        self._require("import_run")
        return self.query("""
            SELECT * FROM import_run WHERE status = 'ok'
            QUALIFY row_number() OVER (PARTITION BY dataset ORDER BY finished DESC) = 1
            ORDER BY dataset""")

    def content_checksum(self) -> str:
        """A checksum of what the store holds: the files behind the latest import of each dataset, and the
        readers that imported them (so that a re-import by a changed importer changes it too)."""
        lines = []
        for r in self.latest_imports().itertuples():
            fingerprint = getattr(r, "reader_fingerprint", None)  # absent or NULL in a store not yet upgraded
            lines.append(f"{r.dataset}:{r.sha256}:{r.rows}" + (f":{fingerprint}" if isinstance(fingerprint, str)
                                                                else ""))
        return hashlib.sha256("\n".join(lines).encode()).hexdigest()

    def set_priorities(self, priorities: dict[str, int]) -> None:
        """Write the catalogue's dataset priorities (used by :meth:`observations`)."""
        with self._transaction():
            self.con.execute("CREATE OR REPLACE TABLE dataset_priority (dataset VARCHAR, priority INTEGER)")
            if priorities:
                self.con.executemany("INSERT INTO dataset_priority VALUES (?, ?)", list(priorities.items()))

    def _require(self, table: str) -> None:
        names = set(self.query("SELECT table_name FROM information_schema.tables")["table_name"])
        if table not in names or (table == "observation" and "dataset_priority" not in names):
            raise StoreError(f"the store {self.path} has no {table} table yet: run `mindit import`.")
