"""Open a KBO Open Data extract (zip as published, or a folder of its CSV files) and check its layout."""

from __future__ import annotations

import csv
import io
import re
import shutil
import threading
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
    ready : callable
        ``ready(path)`` returns once that file is on disk (at once for a folder; for a zip being unpacked in
        the background, see :func:`unpacking`), or raises what stopped its unpacking.
    """

    source: Path
    folder: Path
    kind: str
    meta: dict[str, str]
    files: dict[str, Path] = field(default_factory=dict)
    ready: Callable[[Path], None] = field(default=lambda path: None, repr=False, compare=False)

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


def _bad_zip(source: Path, exc: Exception) -> KboFormatError:
    return KboFormatError(f"{source}: not a valid zip ({exc}); download the extract again.")


class Unpacker:
    """A zip's CSV members unpacked into ``workdir`` by a background thread, in the order an import reads
    them (``meta``, ``code``, then the data files), so that the import loads each file while the next ones are
    still being inflated. The result on disk is what :func:`unpack` writes (lower-case names; of two members
    with the same name, the later one); headers are read from the zip itself, without waiting.

    Use it through :func:`unpacking`, which stops and joins the thread before ``workdir`` is removed.
    """

    def __init__(self, source: Path, workdir: Path, order: tuple[str, ...] = ()):
        self.source, self.workdir = Path(source), Path(workdir)
        try:
            self._archive = zipfile.ZipFile(self.source)
        except zipfile.BadZipFile as exc:
            raise _bad_zip(self.source, exc) from None
        chosen: dict[str, zipfile.ZipInfo] = {}
        for info in self._archive.infolist():
            name = Path(info.filename).name
            if info.is_dir() or not name.lower().endswith(".csv"):
                continue
            chosen.pop(name.lower(), None)
            chosen[name.lower()] = info   # the later member wins, as when unpacking in order overwrites
        rank = {name: i for i, name in enumerate(order)}
        names = sorted(chosen, key=lambda n: (rank.get(n[:-4], len(rank)), list(chosen).index(n)))
        self.infos = {self.workdir / name: chosen[name] for name in names}
        self._done: set[Path] = set()
        self._error: BaseException | None = None
        self._changed = threading.Condition()
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kbo-unzip", daemon=True)
        self._thread.start()

    def members(self) -> dict[str, Path]:
        """CSV files by lower-case name without ``.csv`` → where they are (or will be) unpacked."""
        return {path.name[:-4]: path for path in self.infos}

    def _run(self) -> None:
        try:
            with zipfile.ZipFile(self.source) as archive:
                for path, info in self.infos.items():
                    with archive.open(info) as src, open(path, "wb") as dst:
                        while chunk := src.read(1 << 22):
                            if self._cancel.is_set():
                                return
                            dst.write(chunk)
                    with self._changed:
                        self._done.add(path)
                        self._changed.notify_all()
        except BaseException as exc:  # handed to whoever waits
            self._error = exc
        finally:
            with self._changed:
                self._cancel.set()
                self._changed.notify_all()

    def _raise(self) -> None:
        if isinstance(self._error, zipfile.BadZipFile):
            raise _bad_zip(self.source, self._error) from None
        if self._error is not None:
            raise self._error

    def ready(self, path: Path) -> None:
        """Return once ``path`` is unpacked; raise what stopped the unpacking before it."""
        with self._changed:
            while Path(path) not in self._done and not self._cancel.is_set():
                self._changed.wait()
        if Path(path) not in self._done:
            self._raise()
            raise KboFormatError(f"{self.source}: {Path(path).name} was not unpacked.")

    def finish(self) -> None:
        """Wait for every member (an import reads them all, as :func:`unpack` does); raise what failed."""
        self._thread.join()
        self._raise()

    def header(self, path: Path) -> list[str]:
        """The header line of a member, read from the zip as :func:`read_header` reads it from the file."""
        with self._archive.open(self.infos[Path(path)]) as raw:
            return next(csv.reader(io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")), [])

    def close(self) -> None:
        """Stop unpacking and wait for the thread."""
        self._cancel.set()
        self._thread.join()
        self._archive.close()


@contextmanager
def unpacking(source: Path, workdir: Path, order: tuple[str, ...] = ()) -> Iterator[tuple[Path, Unpacker | None]]:
    """``(folder, unpacker)``: a folder as it is (``unpacker`` None), or a zip being unpacked into ``workdir``
    in the background (see :class:`Unpacker`), stopped on exit.

    Raises
    ------
    KboFormatError
        Not a zip nor a folder, or a damaged zip (as :func:`unpack`).
    """
    source = Path(source)
    if source.is_dir():
        yield source, None
        return
    if not source.is_file():
        unpack(source, workdir)   # raises its "no such file" message
    unpacker = Unpacker(source, workdir, order)
    try:
        yield workdir, unpacker
    finally:
        unpacker.close()


def _members(folder: Path) -> dict[str, Path]:
    """CSV files of a folder by lower-case name without ``.csv`` (the publisher writes ``contact_insert.Csv``)."""
    return {p.name.lower()[:-4]: p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(".csv")}


def read_header(path: Path) -> list[str]:
    """The header line of a CSV file as a list (a UTF-8 BOM is dropped)."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return next(csv.reader(fh), [])


def check_header(path: Path, expected: tuple[str, ...] | list[str], *,
                 reader: Callable[[Path], list[str]] = read_header) -> None:
    """Refuse a file whose header is not exactly the documented one (``reader`` reads it: the file, or the zip
    member being unpacked there).

    Raises
    ------
    KboFormatError
        Names the file, what was found and what the Cookbook documents.
    """
    try:
        found = reader(path)
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


def open_extract(folder: Path, source: Path, unpacker: Unpacker | None = None) -> Extract:
    """Find and check the files of an unpacked extract (or of a zip that ``unpacker`` is unpacking into
    ``folder``: the files are listed and their headers checked from the zip, ``meta.csv`` once unpacked).

    Raises
    ------
    KboFormatError
        ``meta.csv`` missing or incomplete, a documented file missing, a header not as documented.
    """
    members = _members(folder) if unpacker is None else unpacker.members()
    if "meta" not in members:
        raise KboFormatError(f"{source}: no meta.csv; every KBO Open Data extract starts with it. Is this the "
                             "KBO zip (KboOpenData_<nr>_<year>_<month>_Full.zip or _Update.zip)?")
    reader = read_header if unpacker is None else unpacker.header
    if unpacker is not None:
        unpacker.ready(members["meta"])
    meta = read_meta(members["meta"])
    extract = Extract(source, folder, meta["ExtractType"], meta, {"meta": members["meta"]})
    if unpacker is not None:
        extract.ready = unpacker.ready
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
            check_header(path, columns, reader=reader)
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
