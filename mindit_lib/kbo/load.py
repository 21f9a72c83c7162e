"""Load a KBO extract into DuckDB: a full extract replaces the KBO tables, an update extract applies its
deletes then its inserts (Cookbook R018.00 §1.5.2). Either lands whole, with its ``import_run`` and
``kbo_extract`` rows, or not at all (one transaction; a failure is recorded and nothing else changes)."""

from __future__ import annotations

import hashlib
import re
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from mindit_lib.kbo.extract import Extract, KboFormatError, first_bad_line, open_extract, unpacking
from mindit_lib.kbo.geography import RESOLUTIONS, KboReferenceError, geography_report, locate_addresses, locate_entities
from mindit_lib.kbo.layout import DATA_FILES, FILES, KboFile, snake
from mindit_lib.kbo.schema import DATE_FORMAT, ensure_schema, read_csv_sql
from mindit_lib.kbo.sector import main_activities
from mindit_lib.store import SCHEMA, sha256_file

DATASET = "bce_kbo"
#: files whose key is unique (one line per entity)
UNIQUE_KEY = {"enterprise": "EnterpriseNumber", "establishment": "EstablishmentNumber", "branch": "Id"}


@dataclass
class KboImportReport:
    """What an import did.

    Attributes
    ----------
    rows : dict
        Full extract: rows per file. Update: rows inserted per file.
    deleted : dict
        Update: rows deleted per file (the rows of the entities named in ``<file>_delete.csv``).
    unparsable_dates : dict
        ``file.Column`` → (count, first example) of non-empty values that are not ``dd-mm-yyyy`` dates
        (kept as text in ``<col>_raw``, NULL as dates).
    cessations : dict
        Update: enterprises / establishments deleted and not inserted again.
    """

    source: str
    kind: str
    extract_number: int
    snapshot_date: date
    rows: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    unparsable_dates: dict[str, tuple[int, str]] = field(default_factory=dict)
    cessations: dict[str, int] = field(default_factory=dict)
    geography: dict[str, dict[str, int]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        """Rows written plus rows deleted."""
        return sum(self.rows.values()) + sum(self.deleted.values())

    def summary(self) -> str:
        """One paragraph in French for the CLI and ``import_run.message``."""
        parts = [f"extrait BCE n° {self.extract_number} ({self.kind}, photographie du "
                 f"{self.snapshot_date:%d/%m/%Y})"]
        parts.append("lignes : " + ", ".join(f"{k} {v}" for k, v in self.rows.items()))
        if self.deleted:
            parts.append("supprimées : " + ", ".join(f"{k} {v}" for k, v in self.deleted.items()))
        if self.cessations:
            parts.append("cessations : " + ", ".join(f"{k} {v}" for k, v in self.cessations.items()))
        if self.unparsable_dates:
            parts.append("dates illisibles (laissées vides) : " + ", ".join(
                f"{k} {n} (ex. {ex!r})" for k, (n, ex) in self.unparsable_dates.items()))
        if self.geography:
            addresses = self.geography["addresses"]
            unresolved = {k: v for k, v in addresses.items() if k not in ("postal_code", "name")}
            parts.append(f"adresses localisées : {addresses.get('postal_code', 0) + addresses.get('name', 0)}"
                         + (" ; non localisées : " + ", ".join(f"{RESOLUTIONS[k]} {v}" for k, v in
                                                             sorted(unresolved.items())) if unresolved else ""))
        return " ; ".join(parts) + "."


def import_extract(con: duckdb.DuckDBPyConnection, source: str | Path, *, workdir: Path | None = None,
                   derive: bool = True) -> KboImportReport:
    """Import a full or update KBO Open Data extract (zip or folder) into the store's connection.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A writable connection to the store (``Store.con``); no transaction may be open.
    source : str or Path
        ``KboOpenData_<nr>_<year>_<month>_Full.zip`` / ``_Update.zip`` or a folder of its CSV files.
    workdir : Path, optional
        Where to unpack the zip (a temporary folder by default, removed afterwards).
    derive : bool
        Also locate every entity in a commune and choose its main NACE code (``kbo_address_commune``,
        ``kbo_location``, ``kbo_main_activity``), in the same transaction; needs the store's ``postal_code``
        and ``nace_label`` reference tables.

    Returns
    -------
    KboImportReport

    Raises
    ------
    KboFormatError
        The extract is not as documented (file and line named), an update comes before any full extract or
        was already applied. The store is left as it was; the failure is recorded in ``import_run``.
    KboReferenceError
        ``derive`` and a reference table is missing (the message says what to import).
    """
    source = Path(source)
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    digest = _Digest(source)   # the zip's SHA-256, computed while the import runs
    try:
        with tempfile.TemporaryDirectory(prefix="kbo-", dir=workdir) as tmp, \
                unpacking(source, Path(tmp), UNPACK_ORDER) as (folder, unpacker):
            extract = open_extract(folder, source, unpacker)
            con.execute("BEGIN TRANSACTION")
            # the row order of the kbo_* tables carries no meaning (every reader orders or aggregates):
            # not keeping the files' order lets DuckDB write the big files in parallel without the extra
            # work (and memory) of ordering row groups, and leaves nothing to recompress at the checkpoint
            keep_order = con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0]
            con.execute("SET preserve_insertion_order = false")
            try:
                ensure_schema(con)
                report = (_load_full if extract.kind == "full" else _apply_update)(con, extract)
                if unpacker is not None:
                    unpacker.finish()   # every member read whole (CRC checked), as unpacking first did
                if derive:
                    derive_tables(con, extract.snapshot_date)
                    report.geography = geography_report(con)
                report.seconds = time.perf_counter() - t0
                _record(con, extract, report, digest.value(), started)
            except BaseException:
                con.execute("ROLLBACK")
                raise
            finally:
                con.execute(f"SET preserve_insertion_order = {'true' if keep_order else 'false'}")
            con.execute("COMMIT")
    except duckdb.Error as exc:
        _record_failure(con, source, digest.value(missing=None), started, str(exc))
        raise KboFormatError(f"{source}: {exc}") from None
    except (KboFormatError, KboReferenceError, OSError) as exc:
        _record_failure(con, source, digest.value(missing=None), started, str(exc))
        raise
    return report


#: the order an import reads the files in (the zip is unpacked in this order, see ``extract.Unpacker``)
UNPACK_ORDER = ("meta", "code") + tuple(f"{name}{part}" for name in DATA_FILES
                                         for part in ("", "_delete", "_insert"))


class _Digest:
    """:func:`_digest` of the source in a background thread (hashing releases the GIL)."""

    def __init__(self, source: Path):
        self._value: str | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(source,), name="kbo-sha256", daemon=True)
        self._thread.start()

    def _run(self, source: Path) -> None:
        try:
            self._value = _digest(source)
        except BaseException as exc:
            self._error = exc

    _RAISE = object()

    def value(self, missing: object = _RAISE) -> str | None:
        """The digest; what computing it raised (or ``missing`` when given)."""
        self._thread.join()
        if self._error is not None:
            if missing is _Digest._RAISE:
                raise self._error
            return missing  # type: ignore[return-value]
        return self._value


def _digest(source: Path) -> str | None:
    if source.is_file():
        return sha256_file(source)
    if source.is_dir():  # a folder: its files' names and sizes and meta.csv's content
        digest = hashlib.sha256()
        for path in sorted(source.glob("*")):
            digest.update(f"{path.name}:{path.stat().st_size}\n".encode())
            if path.name.lower() == "meta.csv":
                digest.update(path.read_bytes())
        return digest.hexdigest()
    return None


def _load_full(con: duckdb.DuckDBPyConnection, extract: Extract) -> KboImportReport:
    report = KboImportReport(str(extract.source), "full", extract.number, extract.snapshot_date)
    for spec in FILES.values():
        path = extract.files.get(spec.name)
        if path is None:  # an optional file absent from this extract: its table is emptied
            con.execute(f"DELETE FROM {spec.table}")
            report.rows[spec.name] = 0
            continue
        extract.ready(path)
        report.rows[spec.name] = _replace(con, spec, path, report)
    return report


def _apply_update(con: duckdb.DuckDBPyConnection, extract: Extract) -> KboImportReport:
    last = con.execute("SELECT max(extract_number), count_if(extract_type = 'full') FROM kbo_extract").fetchone()
    if not last[1]:
        raise KboFormatError(f"{extract.source}: update extract n° {extract.number} but no full extract was imported "
                             "yet: import the latest KboOpenData_…_Full.zip first, then the updates that follow it.")
    if extract.number <= last[0]:
        raise KboFormatError(f"{extract.source}: update extract n° {extract.number} is not newer than the last "
                             f"extract applied (n° {last[0]}): it was already applied or comes from before it.")
    report = KboImportReport(str(extract.source), "update", extract.number, extract.snapshot_date)
    extract.ready(extract.files["code"])
    report.rows["code"] = _replace(con, FILES["code"], extract.files["code"], report)
    staged = []
    for name in DATA_FILES:  # stage and check every file before changing anything
        spec = FILES[name]
        if f"{name}_insert" not in extract.files:
            continue
        delete_path, insert_path = extract.files[f"{name}_delete"], extract.files[f"{name}_insert"]
        key_spec = KboFile(f"{name}_delete", (spec.key,), None, mandatory=(spec.key,),
                           patterns=tuple(p for p in spec.patterns if p[0] == spec.key))
        extract.ready(delete_path)
        con.execute(f"CREATE OR REPLACE TEMP TABLE _kbo_del_{name} AS SELECT * FROM {_csv(delete_path, (spec.key,))}")
        _check(con, f"_kbo_del_{name}", key_spec, delete_path, report)
        extract.ready(insert_path)
        con.execute(f"CREATE OR REPLACE TEMP TABLE _kbo_ins_{name} AS SELECT * FROM {_csv(insert_path, spec.columns)}")
        _check(con, f"_kbo_ins_{name}", spec, insert_path, report, label=f"{name}_insert")
        staged.append(spec)
    for kind in ("enterprise", "establishment"):
        if any(s.name == kind for s in staged):
            report.cessations[kind] = _record_cessations(con, kind, extract)
    for spec in staged:
        key = snake(spec.key)
        report.deleted[spec.name] = con.execute(
            f"DELETE FROM {spec.table} WHERE {key} IN (SELECT {key} FROM _kbo_del_{spec.name})").fetchone()[0]
        report.rows[spec.name] = con.execute(
            f"INSERT INTO {spec.table} SELECT * FROM _kbo_ins_{spec.name}").fetchone()[0]
        con.execute(f"DROP TABLE _kbo_del_{spec.name}")
        con.execute(f"DROP TABLE _kbo_ins_{spec.name}")
    return report


def derive_tables(con: duckdb.DuckDBPyConnection, snapshot: date) -> None:
    """Geography and sector of every entity (see :mod:`mindit_lib.kbo.geography`, :mod:`mindit_lib.kbo.sector`)."""
    locate_addresses(con, snapshot)
    locate_entities(con)
    main_activities(con)


def _record_cessations(con: duckdb.DuckDBPyConnection, kind: str, extract: Extract) -> int:
    """Entities of ``kind`` deleted and not inserted again: ceased since the previous extract. Where they were
    and their main activity are taken from the previous extract's derivations, before anything is deleted."""
    key = "enterprise_number" if kind == "enterprise" else "establishment_number"
    ent_type = "e.type_of_enterprise" if kind == "enterprise" else "NULL"
    tables = set(con.execute("SELECT table_name FROM information_schema.tables").df()["table_name"])
    derived = {"kbo_location", "kbo_main_activity"} <= tables
    place = "l.refnis, m.nace_version, m.nace_code" if derived else "NULL, NULL, NULL"
    joins = (f"LEFT JOIN kbo_location l ON l.kind = '{kind}' AND l.entity_number = d.{key} "
             f"LEFT JOIN kbo_main_activity m ON m.entity_number = d.{key}") if derived else ""
    return con.execute(f"""
        INSERT INTO kbo_cessation
        SELECT '{kind}', d.{key}, ?, ?, e.start_date, {ent_type}, {place}
        FROM _kbo_del_{kind} d LEFT JOIN kbo_{kind}_v e ON e.{key} = d.{key} {joins}
        WHERE d.{key} NOT IN (SELECT {key} FROM _kbo_ins_{kind})""",
                       [extract.number, extract.snapshot_date]).fetchone()[0]


def _replace(con: duckdb.DuckDBPyConnection, spec: KboFile, path: Path, report: KboImportReport) -> int:
    """Replace a table by a file's rows (checked); returns the rows."""
    con.execute(f"CREATE OR REPLACE TABLE {spec.table} AS SELECT * FROM {_csv(path, spec.columns)}")
    return _check(con, spec.table, spec, path, report)


def _csv(path: Path, columns: tuple[str, ...]) -> str:
    return read_csv_sql(str(path), columns)


def _check(con: duckdb.DuckDBPyConnection, table: str, spec: KboFile, path: Path, report: KboImportReport,
           label: str | None = None) -> int:
    """Check a loaded file against its documented layout; count its unparsable dates. Returns its rows."""
    checks = ["count(*)"]
    tests = []
    for column in spec.mandatory:
        checks.append(f"count_if(NULLIF(trim({snake(column)}), '') IS NULL)")
        tests.append((column, "is empty but mandatory", lambda row, c=column: bool((row.get(c) or "").strip())))
    for column, pattern in spec.patterns:
        checks.append(f"count_if(NULLIF(trim({snake(column)}), '') IS NOT NULL "
                      f"AND NOT {pattern_sql(snake(column), pattern)})")
        tests.append((column, f"does not match the documented format {pattern}",
                      lambda row, c=column, p=pattern: not (row.get(c) or "").strip()
                      or re.fullmatch(p, row[c]) is not None))
    if spec.name in UNIQUE_KEY:
        key = UNIQUE_KEY[spec.name]
        checks.append(f"count(*) - count(DISTINCT {snake(key)})")
        seen: set[str] = set()
        tests.append((key, "appears twice", lambda row, c=key: not (row[c] in seen or seen.add(row[c]))))
    for column in spec.dates:
        col = snake(column)
        checks.append(f"count_if(NULLIF(trim({col}), '') IS NOT NULL AND try_strptime(trim({col}), '{DATE_FORMAT}') "
                      f"IS NULL)")
        checks.append(f"min({col}) FILTER (WHERE NULLIF(trim({col}), '') IS NOT NULL "
                      f"AND try_strptime(trim({col}), '{DATE_FORMAT}') IS NULL)")
    values = con.execute(f"SELECT {', '.join(checks)} FROM {table}").fetchone()
    rows, faults, dates = values[0], values[1:1 + len(tests)], values[1 + len(tests):]
    for (column, problem, test), count in zip(tests, faults, strict=True):
        if count:
            found = first_bad_line(path, test)
            where = f"line {found[0]}: " if found else ""
            shown = repr(found[1].get(column)) if found else ""
            raise KboFormatError(f"{path}: {where}{column} {shown} {problem} ({count} row(s) in all; Cookbook KBO "
                                 f"Open data R018.00 §2). Download the extract again or report it to the KBO.")
    for i, column in enumerate(spec.dates):
        count, example = dates[2 * i], dates[2 * i + 1]
        if count:
            report.unparsable_dates[f"{label or spec.name}.{column}"] = (int(count), example)
    return int(rows)


#: one piece of a documented pattern: ``\d{n}``, ``\d``, an escaped character, a letter/digit/space/dash
_PATTERN_TOKEN = re.compile(r"\\d\{(\d+)\}|\\d|\\([^A-Za-z0-9])|([A-Za-z0-9 _-])")


def pattern_sql(column: str, pattern: str) -> str:
    """SQL true where ``column`` matches ``pattern`` entirely, as ``regexp_full_match(column, pattern)`` is.

    The layout's patterns are alternatives of fixed strings (``2003|2008|2025``) and of digit templates
    (``\\d{4}\\.\\d{3}\\.\\d{3}``, optionally in one ``(?:…)`` group): they are written as ``IN (…)`` and
    ``GLOB '[0-9][0-9]…'``, which accept exactly the same values (RE2's ``\\d`` is ASCII ``[0-9]``, as GLOB's
    range) and cost DuckDB 3–4 times less than the regular expression on the 35 million activity rows. Any
    other pattern keeps ``regexp_full_match``.
    """
    body = pattern[3:-1] if pattern.startswith("(?:") and pattern.endswith(")") else pattern
    literals, globs = [], []
    for branch in body.split("|"):
        pos, text, digits = 0, [], False
        while pos < len(branch):
            token = _PATTERN_TOKEN.match(branch, pos)
            if token is None:
                return f"regexp_full_match({column}, '{pattern}')"
            if token.group(0).startswith("\\d"):
                text.append("[0-9]" * int(token.group(1) or 1))
                digits = True
            else:
                char = token.group(2) or token.group(3)
                if char in "*?[]'\\":
                    return f"regexp_full_match({column}, '{pattern}')"
                text.append(char)
            pos = token.end()
        if not text:
            return f"regexp_full_match({column}, '{pattern}')"
        (globs if digits else literals).append("".join(text))
    tests = []
    if literals:
        quoted = ", ".join(f"'{v}'" for v in literals)
        tests.append(f"{column} IN ({quoted})")
    tests += [f"{column} GLOB '{g}'" for g in globs]
    return "(" + " OR ".join(tests) + ")"


def _record(con: duckdb.DuckDBPyConnection, extract: Extract, report: KboImportReport, digest: str | None,
            started: datetime) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    con.execute("INSERT INTO kbo_extract VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [extract.number, extract.kind, extract.snapshot_date, extract.meta.get("ExtractTimestamp"),
                 extract.meta.get("Version"), str(extract.source), digest, now, report.total_rows,
                 sum(n for n, _ in report.unparsable_dates.values()), report.summary()])
    _insert_run(con, str(extract.source), digest, report.total_rows, started, "ok", report.summary())


def _record_failure(con: duckdb.DuckDBPyConnection, source: Path, digest: str | None, started: datetime,
                    message: str) -> None:
    con.execute(f"CREATE TABLE IF NOT EXISTS import_run ({SCHEMA['import_run']})")
    _insert_run(con, str(source), digest, 0, started, "failed", message)


def _insert_run(con: duckdb.DuckDBPyConnection, file: str, digest: str | None, rows: int, started: datetime,
                status: str, message: str) -> None:
    con.execute("INSERT INTO import_run (run_id, dataset, file, sha256, rows, started, finished, status, message) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [uuid.uuid4().hex, DATASET, file, digest, rows, started.replace(tzinfo=None),
                 datetime.now(UTC).replace(tzinfo=None), status, message])
