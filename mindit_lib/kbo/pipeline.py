"""Which KBO extracts to apply, in which order, and the indicators after them.

The publisher numbers its extracts: the full extract and the update extract of one month share a number, and
update *n* holds the changes between extracts *n − 1* and *n* (Cookbook R018.00 §1.5). So, from what the store
holds (the highest extract number applied):

* nothing yet: the newest full extract of the folder, then the updates numbered after it, one by one;
* a full extract newer than the store: it replaces everything (the updates between are not needed), then the
  updates after it;
* otherwise the updates numbered after the store's, consecutively: a missing number stops the chain there
  (applying *n + 2* without *n + 1* would lose changes), and the message names the missing extract.

Extracts already applied (their number is in ``kbo_extract``) are never read again, so a ``mindit update``
with nothing new costs a directory listing and the ``meta.csv`` of each zip. After any extract, or when the
indicator code changed since they were last computed, the business indicators of the configured province are
computed again (:func:`mindit_lib.kbo.indicators.compute_indicators`) and recorded in ``import_run`` as dataset
``bce_kbo_indicators`` with the code's fingerprint.
"""

from __future__ import annotations

import csv
import io
import re
import time
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from mindit_lib.kbo.extract import KboFormatError
from mindit_lib.kbo.geography import KboReferenceError

DATASET = "bce_kbo_open_data"
INDICATORS_DATASET = "bce_kbo_indicators"
#: ``KboOpenData_0140_2025_10_Full.zip`` / ``_Update.zip`` (the publisher's names; case is not significant)
NAME = re.compile(r"^KboOpenData_(\d+)_(\d{4})_(\d{2})_(Full|Update)\.zip$", re.IGNORECASE)


@dataclass(frozen=True)
class ExtractFile:
    """An extract zip found in a folder, described by its ``meta.csv`` (read without unpacking the zip)."""

    path: Path
    number: int
    kind: str  # "full" or "update"
    snapshot_date: date


@dataclass
class Step:
    """One thing the pipeline did or refused: an extract applied, or the indicators computed."""

    what: str  # file path, or "indicators"
    status: str  # "imported", "failed"
    rows: int = 0
    seconds: float = 0.0
    message: str = ""


def read_zip_meta(path: Path) -> dict[str, str]:
    """``meta.csv`` of an extract zip as variable → value.

    Raises
    ------
    KboFormatError
        Not a zip, or no ``meta.csv`` inside.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            member = next((i for i in archive.infolist() if Path(i.filename).name.lower() == "meta.csv"), None)
            if member is None:
                raise KboFormatError(f"{path}: no meta.csv in the zip; every KBO Open Data extract starts with it.")
            text = archive.read(member).decode("utf-8-sig")
    except zipfile.BadZipFile as exc:
        raise KboFormatError(f"{path}: not a valid zip ({exc}); download the extract again.") from None
    return {row[0]: (row[1] if len(row) > 1 else "") for row in list(csv.reader(io.StringIO(text)))[1:] if row}


def describe(path: Path) -> ExtractFile:
    """An extract's number, kind and snapshot date, from its ``meta.csv`` (a zip, checked against its name, or a
    folder of the extract's files)."""
    path = Path(path)
    if path.is_dir():
        meta_file = next((p for p in path.iterdir() if p.name.lower() == "meta.csv"), None)
        if meta_file is None:
            raise KboFormatError(f"{path}: no meta.csv; every KBO Open Data extract starts with it.")
        text = meta_file.read_text(encoding="utf-8-sig")
        meta = {row[0]: (row[1] if len(row) > 1 else "") for row in list(csv.reader(io.StringIO(text)))[1:] if row}
    elif path.is_file():
        meta = read_zip_meta(path)
    else:
        raise KboFormatError(f"{path}: no such file. Give a KBO Open Data zip (KboOpenData_<n°>_<year>_<month>_"
                             "Full.zip or _Update.zip) or its folder.")
    try:
        number = int(meta["ExtractNumber"])
        kind = meta["ExtractType"].strip().lower()
        snapshot = datetime.strptime(meta["SnapshotDate"], "%d-%m-%Y").date()
    except (KeyError, ValueError):
        raise KboFormatError(f"{path}: meta.csv must give ExtractNumber, ExtractType and SnapshotDate (dd-mm-yyyy); "
                             f"found {meta}.") from None
    if kind not in ("full", "update"):
        raise KboFormatError(f"{path}: ExtractType {meta['ExtractType']!r} is neither 'full' nor 'update'.")
    named = NAME.match(path.name)
    if named and (int(named.group(1)) != number or named.group(4).lower() != kind):
        raise KboFormatError(f"{path}: the file name says extract n° {int(named.group(1))} ({named.group(4)}), its "
                             f"meta.csv says n° {number} ({kind}); rename the file or download it again.")
    return ExtractFile(path, number, kind, snapshot)


def find_extracts(folders: list[Path]) -> list[ExtractFile]:
    """Every ``KboOpenData_*_Full.zip`` / ``_Update.zip`` directly in ``folders``, by number (full first)."""
    found = {}
    for folder in folders:
        if folder.is_dir():
            for path in folder.iterdir():
                if path.is_file() and NAME.match(path.name):
                    found[path.resolve()] = describe(path)
    return sorted(found.values(), key=lambda e: (e.number, e.kind != "full"))


def applied_number(con: duckdb.DuckDBPyConnection) -> int | None:
    """The highest extract number the store holds (None: no KBO extract yet)."""
    if not _has_table(con, "kbo_extract"):
        return None
    return con.execute("SELECT max(extract_number) FROM kbo_extract").fetchone()[0]


def plan(extracts: list[ExtractFile], current: int | None) -> tuple[list[ExtractFile], str]:
    """The extracts to apply, in order, and why the chain stops (empty when it does not).

    Parameters
    ----------
    extracts : list of ExtractFile
        What the folder holds (:func:`find_extracts`).
    current : int or None
        The store's highest extract number (:func:`applied_number`).
    """
    fulls = [e for e in extracts if e.kind == "full" and (current is None or e.number > current)]
    base = max(fulls, key=lambda e: e.number) if fulls else None
    if base is None and current is None:
        updates = [e for e in extracts if e.kind == "update"]
        return [], ("update extracts but no full extract: the first import needs a KboOpenData_…_Full.zip"
                    if updates else "")
    start = base.number if base else current
    chain = [base] if base else []
    updates = {e.number: e for e in extracts if e.kind == "update" and e.number > start}
    expected = start + 1
    while expected in updates:
        chain.append(updates.pop(expected))
        expected += 1
    why = ""
    if updates:
        later = ", ".join(str(n) for n in sorted(updates))
        why = (f"update extract n° {expected} is missing, so the update(s) n° {later} that follow it are not applied "
               f"(they would lose its changes): put KboOpenData_{expected:04d}_…_Update.zip in the folder, or a "
               "newer full extract")
    return chain, why


def _check_order(paths: list[Path], current: int | None) -> tuple[list[Path], str]:
    """Extracts given by hand, in the order given, as far as they follow the store's chain: a full extract newer
    than what the store holds, or the update that follows it (n + 1). The first one out of order stops there,
    with why (applying an older full over updates, or an update after a gap, would silently lose changes)."""
    chain: list[Path] = []
    for path in paths:
        try:
            e = describe(path)
        except KboFormatError as exc:
            return chain, str(exc)
        if e.kind == "full" and current is not None and e.number <= current:
            return chain, (f"{path}: full extract n° {e.number} is not newer than what the store holds (n° {current}); "
                           "importing it would undo the later updates. Give a newer full extract, or import into a "
                           "new store (--store) to start again from this one")
        if e.kind == "update":
            if current is None:
                return chain, (f"{path}: update extract n° {e.number} but no full extract in the store yet: import "
                               "the latest KboOpenData_…_Full.zip first")
            if e.number != current + 1:
                return chain, (f"{path}: update extract n° {e.number} does not follow the store's extract n° "
                               f"{current}" + (f" (n° {current + 1} is missing: apply it first)"
                                               if e.number > current + 1 else " (it is already applied)"))
        chain.append(path)
        current = e.number
    return chain, ""


def indicators_fingerprint() -> str:
    """The fingerprint of the code that computes the indicators (and of the catalogue entries of the dataset)."""
    from mindit_lib.indicators import load_catalogue
    from mindit_lib.reader_fingerprint import reader_fingerprint

    return reader_fingerprint(load_catalogue(), DATASET, "mindit_lib.kbo.indicators")


def run(con: duckdb.DuckDBPyConnection, extracts: list[ExtractFile] | list[Path], province: str, *,
        explicit: bool = False) -> list[Step]:
    """Apply extracts and compute the indicators.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The store's writable connection.
    extracts : list
        :class:`ExtractFile` found in the mirror (planned with :func:`plan`), or paths given by the user
        (``explicit``: applied in the order given, each checked by the importer: an update must follow the
        store's extracts).
    province : str
        REFNIS code of the province whose indicators are computed.

    Returns
    -------
    list of Step
        One per extract tried (a failure stops the chain: later extracts would build on it), then one for the
        indicators when they were computed (or failed).
    """
    from mindit_lib.kbo.load import import_extract

    steps: list[Step] = []
    if explicit:
        chain, why = _check_order([Path(p) for p in extracts], applied_number(con))
    else:
        chain, why = plan(list(extracts), applied_number(con))  # type: ignore[arg-type]
        chain = [e.path for e in chain]
    for path in chain:
        t0 = time.perf_counter()
        try:
            report = import_extract(con, path)
        except (KboFormatError, KboReferenceError) as exc:
            steps.append(Step(str(path), "failed", 0, time.perf_counter() - t0, str(exc)))
            break
        steps.append(Step(str(path), "imported", report.total_rows, report.seconds, report.summary()))
    if why:
        steps.append(Step("order", "failed", message=why))
    if applied_number(con) is not None:
        step = _indicators(con, province, changed=any(s.status == "imported" for s in steps))
        if step is not None:
            steps.append(step)
    return steps


def _indicators(con: duckdb.DuckDBPyConnection, province: str, *, changed: bool) -> Step | None:
    """Compute the indicators when an extract was applied, the code changed, or the province changed."""
    from mindit_lib.kbo.indicators import compute_indicators

    fingerprint = indicators_fingerprint()
    latest = applied_number(con)
    if not changed and _has_table(con, "kbo_observation"):
        last = con.execute("""SELECT reader_fingerprint, message FROM import_run WHERE dataset = ? AND status = 'ok'
                              ORDER BY finished DESC LIMIT 1""", [INDICATORS_DATASET]).fetchone()
        held = con.execute("SELECT max(extract_number), count_if(refnis = ?) FROM kbo_observation",
                           [province]).fetchone()
        if last and last[0] == fingerprint and held[0] == latest and held[1]:
            return None
    started = datetime.now(UTC).replace(tzinfo=None)
    t0 = time.perf_counter()
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            obs = compute_indicators(con, province)
            message = f"indicateurs BCE de l'extrait n° {latest} pour la province {province} : {len(obs)} cases"
            _run_row(con, "ok", len(obs), started, message, fingerprint)
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
    except (LookupError, ValueError, duckdb.Error) as exc:
        _run_row(con, "failed", 0, started, str(exc), fingerprint)
        return Step("indicators", "failed", 0, time.perf_counter() - t0,
                    f"{exc} (the indicators computed before, if any, are unchanged)")
    return Step("indicators", "imported", len(obs), time.perf_counter() - t0, message)


def _run_row(con: duckdb.DuckDBPyConnection, status: str, rows: int, started: datetime, message: str,
             fingerprint: str) -> None:
    con.execute("""INSERT INTO import_run (run_id, dataset, file, sha256, rows, started, finished, status, message,
                                           reader_fingerprint) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [uuid.uuid4().hex, INDICATORS_DATASET, "kbo_observation", fingerprint, rows, started,
                 datetime.now(UTC).replace(tzinfo=None), status, message, fingerprint])


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    found = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]).fetchone()
    return bool(found[0])
