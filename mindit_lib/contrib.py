"""Private datasets contributed by a commune: stored apart, readable only by the hub's data service.

Layout (``Config.private_dir``, mode 0700, owned by the hub's account)::

    <private_dir>/<refnis>/<name>.csv            the exact bytes received
    <private_dir>/<refnis>/<name>.meta.json      name, original file, sha256, rows, columns, added, by

Nothing here decides who may read what: that is :mod:`mindit_lib.access`, applied by the data service.
Writes are atomic (temporary file + rename); a rejected file leaves what is stored untouched.
"""

from __future__ import annotations

import csv
import getpass
import hashlib
import io
import json
import os
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from mindit_lib.atomic_files import atomic_paths

#: a contribution larger than this is refused (the dashboards show it whole)
MAX_BYTES = 20 * 1024 * 1024
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MOJIBAKE = ("Ã©", "Ã¨", "Ã¢", "Ã§", "Ã«", "Ã¶", "Ã¼", "â€", "√©", "√®", "\ufffd")


class ContributionError(ValueError):
    """A contributed file or name is refused; the message says why and what to do."""


@dataclass(frozen=True)
class PrivateDataset:
    """Metadata of one private dataset."""

    refnis: str
    name: str
    original_file: str
    sha256: str
    rows: int
    columns: list[str]
    separator: str
    added: str
    added_by: str
    bytes: int


def dataset_name(text: str) -> str:
    """A safe dataset name from a file name: ``"Subsides 2025.csv"`` → ``"subsides-2025"``.

    Raises
    ------
    ContributionError
        When nothing usable is left.
    """
    from mindit_lib.codes import slugify

    name = slugify(Path(text).stem)[:64].strip("-_")
    if not NAME_PATTERN.match(name):
        raise ContributionError(f"cannot make a dataset name from {text!r}: give --name (a-z, 0-9, '-', '_').")
    return name


def check_name(name: str) -> str:
    """Return ``name`` when it is a valid dataset name, else raise :class:`ContributionError`."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ContributionError(
            f"invalid dataset name {name!r}: use 1–64 characters a-z, 0-9, '-' or '_', starting with a letter "
            "or digit.")
    return name


def check_refnis(refnis: str) -> str:
    """Return ``refnis`` when it is 5 digits (the commune itself is checked by the caller)."""
    if not isinstance(refnis, str) or not re.fullmatch(r"\d{5}", refnis):
        raise ContributionError(f"invalid commune code {refnis!r}: a REFNIS code has 5 digits, e.g. \"62063\".")
    return refnis


def inspect_csv(data: bytes, source: str) -> tuple[int, list[str], str]:
    """Validate a contributed CSV and return ``(rows, columns, separator)``.

    The file must be UTF-8 text (a BOM is allowed), with a header of unique non-empty column names and at
    least one data row; each row has as many fields as the header. Garbled text (``LiÃ¨ge``) is refused.
    """
    if not data:
        raise ContributionError(f"{source}: the file is empty.")
    if len(data) > MAX_BYTES:
        raise ContributionError(f"{source}: {len(data) / 1e6:.1f} MB is over the {MAX_BYTES // 2**20} MiB limit.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ContributionError(f"{source}, line {line}: not UTF-8 text. Save the file as \"CSV UTF-8\".") from None
    for bad in MOJIBAKE:
        if bad in text:
            line = text[: text.index(bad)].count("\n") + 1
            raise ContributionError(f"{source}, line {line}: garbled characters ({bad!r}); the file was converted "
                                    "twice between encodings. Export it again as \"CSV UTF-8\".")
    first = text.splitlines()[0] if text.splitlines() else ""
    separator = max((";", ",", "\t"), key=first.count) if any(s in first for s in ";,\t") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise ContributionError(f"{source}, line {reader.line_num}: not a readable CSV ({exc}).") from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise ContributionError(f"{source}: no header line.")
    header = [c.strip() for c in rows[0]]
    if any(not c for c in header):
        raise ContributionError(f"{source}, line 1: a column has no name.")
    if len(set(header)) != len(header):
        dupes = sorted({c for c in header if header.count(c) > 1})
        raise ContributionError(f"{source}, line 1: column name(s) used twice: {', '.join(dupes)}.")
    if len(rows) < 2:
        raise ContributionError(f"{source}: a header but no data row.")
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ContributionError(f"{source}, line {number}: {len(row)} field(s), the header has {len(header)}.")
    return len(rows) - 1, header, separator


def commune_dir(private_dir: Path, refnis: str) -> Path:
    """The folder of one commune's private datasets."""
    return Path(private_dir) / check_refnis(refnis)


def _ensure_private(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def add_private_dataset(private_dir: Path, refnis: str, file: str | Path, *, name: str | None = None,
                        replace: bool = False, added_by: str | None = None) -> PrivateDataset:
    """Store a commune's private CSV (exact bytes) with its metadata, atomically.

    Parameters
    ----------
    private_dir : Path
        ``Config.private_dir``.
    refnis : str
        The commune (checked by the caller against the territory table).
    file : str or Path
        The CSV to store.
    name : str, optional
        Dataset name; default: from the file name.
    replace : bool
        Replace a dataset of the same name (otherwise refused).
    added_by : str, optional
        Who adds it (default: the OS user running the command).

    Returns
    -------
    PrivateDataset
        The stored metadata.
    """
    path = Path(file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ContributionError(f"{path}: cannot read the file ({exc.strerror}).") from None
    name = check_name(name) if name else dataset_name(path.name)
    rows, columns, separator = inspect_csv(data, str(path))
    folder = commune_dir(private_dir, refnis)
    target, meta_target = folder / f"{name}.csv", folder / f"{name}.meta.json"
    if target.exists() and not replace:
        raise ContributionError(f"commune {refnis} already has a private dataset {name!r}: add --replace to "
                                "replace it, or give another --name.")
    meta = PrivateDataset(refnis, name, path.name, hashlib.sha256(data).hexdigest(), rows, columns, separator,
                          datetime.now(UTC).isoformat(timespec="seconds"), added_by or getpass.getuser(), len(data))
    _ensure_private(Path(private_dir))
    _ensure_private(folder)
    with atomic_paths(target, meta_target) as (tmp_data, tmp_meta):
        tmp_data.write_bytes(data)
        tmp_meta.write_text(json.dumps(asdict(meta), ensure_ascii=False, indent=1), encoding="utf-8")
        os.chmod(tmp_data, 0o600)
        os.chmod(tmp_meta, 0o600)
    return meta


def list_private_datasets(private_dir: Path, refnis: str) -> list[PrivateDataset]:
    """Metadata of a commune's private datasets, by name (none → empty list)."""
    folder = commune_dir(private_dir, refnis)
    found = []
    for meta in sorted(folder.glob("*.meta.json")) if folder.is_dir() else []:
        found.append(PrivateDataset(**json.loads(meta.read_text(encoding="utf-8"))))
    return found


def read_private_dataset(private_dir: Path, refnis: str, name: str) -> bytes:
    """The stored bytes of one private dataset.

    Raises
    ------
    FileNotFoundError
        No dataset of that name for that commune.
    """
    path = commune_dir(private_dir, refnis) / f"{check_name(name)}.csv"
    return path.read_bytes()
