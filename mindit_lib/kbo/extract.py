"""Open a KBO Open Data extract (zip as published, or a folder of its CSV files) and check its layout."""

from __future__ import annotations

import csv
import re
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from mindit_lib.kbo.layout import FILES, KboFile


class KboFormatError(ValueError):
    """The extract does not follow the Cookbook; the message names the file (and line) and what is wrong."""


@dataclass
class Extract:
    """An extract laid out on disk.

    Attributes
    ----------
    source : Path
        The zip (or folder) given.
    folder : Path
        Where its CSV files are.
    kind : str
        ``full`` or ``update`` (``meta.csv`` ``ExtractType``).
    meta : dict
        ``meta.csv`` as variable → value.
    files : dict
        Full: file name → path. Update: ``<name>_delete`` / ``<name>_insert`` → path, plus ``code``/``meta``.
    """

    source: Path
    folder: Path
    kind: str
    meta: dict[str, str]
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def number(self) -> int:
        """``ExtractNumber``."""
        return int(self.meta["ExtractNumber"])

    @property
    def snapshot_date(self) -> date:
        """``SnapshotDate``: the day (at midnight) the register was photographed."""
        return datetime.strptime(self.meta["SnapshotDate"], "%d-%m-%Y").date()


def unpack(source: Path, workdir: Path) -> Path:
    """The folder holding the extract's CSV files: ``source`` itself, or the zip unpacked into ``workdir``.

    Raises
    ------
    KboFormatError
        Not a zip nor a folder, or a damaged zip.
    """
    source = Path(source)
    if source.is_dir():
        return source
    if not source.is_file():
        raise KboFormatError(f"{source}: no such file. Give the KBO Open Data zip (KboOpenData_<nr>_<year>_<month>_"
                             "Full.zip or _Update.zip) downloaded from kbopub.economie.fgov.be, or its folder.")
    try:
        with zipfile.ZipFile(source) as archive:
            for info in archive.infolist():
                name = Path(info.filename).name
                if info.is_dir() or not name.lower().endswith(".csv"):
                    continue
                with archive.open(info) as src, open(workdir / name.lower(), "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 22)
    except zipfile.BadZipFile as exc:
        raise KboFormatError(f"{source}: not a valid zip ({exc}); download the extract again.") from None
    return workdir


def _members(folder: Path) -> dict[str, Path]:
    """CSV files of a folder by lower-case name without ``.csv`` (the publisher writes ``contact_insert.Csv``)."""
    return {p.name.lower()[:-4]: p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(".csv")}


def read_header(path: Path) -> list[str]:
    """The header line of a CSV file as a list (a UTF-8 BOM is dropped)."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return next(csv.reader(fh), [])


def check_header(path: Path, expected: tuple[str, ...] | list[str]) -> None:
    """Refuse a file whose header is not exactly the documented one.

    Raises
    ------
    KboFormatError
        Names the file, what was found and what the Cookbook documents.
    """
    try:
        found = read_header(path)
    except UnicodeDecodeError:
        raise KboFormatError(f"{path}: line 1: not UTF-8 text; the KBO extract is UTF-8. "
                             "Download it again.") from None
    if found != list(expected):
        raise KboFormatError(f"{path}: line 1: header {','.join(found) or '(empty file)'} is not the documented "
                             f"one ({','.join(expected)}; Cookbook KBO Open data R018.00 §2). Is this a KBO extract "
                             "of another format version?")


def read_meta(path: Path) -> dict[str, str]:
    """``meta.csv`` as a dict, checked for ``SnapshotDate``, ``ExtractType`` and ``ExtractNumber``."""
    check_header(path, FILES["meta"].columns)
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    meta = {row[0]: (row[1] if len(row) > 1 else "") for row in rows if row}
    for var in ("SnapshotDate", "ExtractType", "ExtractNumber"):
        if not meta.get(var):
            raise KboFormatError(f"{path}: no {var} (meta.csv must give SnapshotDate, ExtractTimestamp, ExtractType, "
                                 "ExtractNumber and Version).")
    try:
        datetime.strptime(meta["SnapshotDate"], "%d-%m-%Y")
    except ValueError:
        raise KboFormatError(f"{path}: SnapshotDate {meta['SnapshotDate']!r} is not a dd-mm-yyyy date.") from None
    if not re.fullmatch(r"\d+", meta["ExtractNumber"]):
        raise KboFormatError(f"{path}: ExtractNumber {meta['ExtractNumber']!r} is not a whole number.")
    if meta["ExtractType"].lower() not in ("full", "update"):
        raise KboFormatError(f"{path}: ExtractType {meta['ExtractType']!r} is neither 'full' nor 'update'.")
    meta["ExtractType"] = meta["ExtractType"].lower()
    return meta


def open_extract(folder: Path, source: Path) -> Extract:
    """Find and check the files of an unpacked extract.

    Raises
    ------
    KboFormatError
        ``meta.csv`` missing or incomplete, a documented file missing, a header not as documented.
    """
    members = _members(folder)
    if "meta" not in members:
        raise KboFormatError(f"{source}: no meta.csv; every KBO Open Data extract starts with it. Is this the "
                             "KBO zip (KboOpenData_<nr>_<year>_<month>_Full.zip or _Update.zip)?")
    meta = read_meta(members["meta"])
    extract = Extract(source, folder, meta["ExtractType"], meta, {"meta": members["meta"]})
    for spec in FILES.values():
        if spec.name == "meta":
            continue
        wanted = _wanted(spec, extract.kind)
        for part, columns in wanted:
            path = members.get(part)
            if path is None:
                if spec.required or spec.name == "code":
                    raise KboFormatError(f"{source}: {part}.csv is missing from this {extract.kind} extract "
                                         "(Cookbook R018.00 §1.5).")
                continue
            check_header(path, columns)
            extract.files[part] = path
    return extract


def _wanted(spec: KboFile, kind: str) -> list[tuple[str, tuple[str, ...]]]:
    if kind == "full" or spec.key is None:
        return [(spec.name, spec.columns)]
    return [(f"{spec.name}_delete", (spec.key,)), (f"{spec.name}_insert", spec.columns)]


def first_bad_line(path: Path, test: Callable[[dict[str, str]], bool]) -> tuple[int, dict[str, str]] | None:
    """The first data line (1-based, header = line 1) whose row fails ``test``, and the row; None if all pass."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        for row in reader:
            if not test(row):
                return reader.line_num, row
    return None
