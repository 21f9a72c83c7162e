"""Write small KBO extracts in the published format (for tests and examples): every text value between
double quotes, dates ``dd-mm-yyyy`` and empty (NULL) values unquoted, as in the publisher's files."""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from mindit_lib.kbo.layout import FILES

Row = Sequence[str | None]


def csv_line(values: Row, unquoted: Iterable[int] = ()) -> str:
    """One line: text quoted (``"`` doubled), None as nothing, positions in ``unquoted`` written as they are."""
    bare = set(unquoted)
    out = []
    for i, value in enumerate(values):
        if value is None:
            out.append("")
        elif i in bare:
            out.append(value)
        else:
            out.append('"' + value.replace('"', '""') + '"')
    return ",".join(out) + "\n"


def file_text(name: str, rows: Iterable[Row]) -> str:
    """A whole file of the extract (``enterprise``, ``address_insert``, ``activity_delete``…), header first."""
    base, _, part = name.partition("_")
    spec = FILES[base]
    columns = (spec.key,) if part == "delete" else spec.columns
    dates = [i for i, c in enumerate(columns) if c in spec.dates]
    lines = [csv_line(columns)]
    for row in rows:
        if len(row) != len(columns):
            raise ValueError(f"{name}: a row has {len(row)} values, the layout {len(columns)}: {row}")
        lines.append(csv_line(row, dates))
    return "".join(lines)


def meta_rows(number: int, kind: str, snapshot: str, timestamp: str | None = None) -> list[Row]:
    """``meta.csv`` rows as the publisher writes them (``kind`` ``full`` or ``update``)."""
    return [("SnapshotDate", snapshot), ("ExtractTimestamp", timestamp or f"{snapshot} 07:07:49"),
            ("ExtractType", kind), ("ExtractNumber", str(number)), ("Version", "1.0.0")]


def write_extract(target: Path, files: Mapping[str, Iterable[Row]], *, as_zip: bool = True,
                  file_names: Mapping[str, str] | None = None) -> Path:
    """Write an extract as a zip (or a folder when ``as_zip`` is false) and return its path.

    Parameters
    ----------
    files : mapping
        File name without ``.csv`` → rows (``meta``, ``enterprise``, ``address_delete``…).
    file_names : mapping, optional
        Another name for a member (the publisher writes ``contact_insert.Csv``).
    """
    names = dict(file_names or {})
    if as_zip:
        target.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, rows in files.items():
                archive.writestr(names.get(name, f"{name}.csv"), file_text(name, rows))
        return target
    target.mkdir(parents=True, exist_ok=True)
    for name, rows in files.items():
        (target / names.get(name, f"{name}.csv")).write_text(file_text(name, rows), encoding="utf-8")
    return target
