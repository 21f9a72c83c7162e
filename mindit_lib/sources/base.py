"""Shared reading helpers for importers: checked CSV reading, encodings, code columns."""

from __future__ import annotations

import csv
import gzip
import io
import re
from datetime import date
from pathlib import Path

import pandas as pd

from mindit_lib.codes import normalize_refnis

#: Byte sequences that betray text decoded with the wrong encoding (e.g. "LiÃ¨ge", "Li√®ge").
MOJIBAKE_MARKERS = ("Ã", "â€", "√", "\ufffd")
#: "Â" betrays mojibake only before what a UTF-8 continuation byte decodes to in Windows-1252/Latin-1
#: ("Â°", "Â\xa0"); before a letter it is French text ("CHÂTEAU D'EAU", a statistical sector of Esneux)
MOJIBAKE_PATTERN = re.compile("Â[\u0080-\u00bf€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ]")


class SourceError(ValueError):
    """A source file cannot be imported; the message names the file, the problem and what to do."""


def _open_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SourceError(
            f"{path}: file not found. Check `paths.source_dir` in mindit.toml (or MINDIT_SOURCE_DIR) "
            "and that the mirror holds the files listed in PROVENANCE.md."
        ) from None
    except OSError as exc:
        raise SourceError(f"{path}: cannot be read ({exc.strerror}). Check its permissions.") from None
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise SourceError(f"{path}: not a valid gzip file ({exc}); download it again.") from None
    return raw


def decode_text(raw: bytes, path: Path) -> str:
    """Decode a file's bytes: UTF-8 (with or without BOM), else Windows-1252; refuse mojibake."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("cp1252", errors="strict")
        except UnicodeDecodeError as exc:
            raise SourceError(
                f"{path}: neither UTF-8 nor Windows-1252 text (byte {raw[exc.start]:#04x} at position {exc.start}); "
                "the file is damaged or not a text table. Download it again."
            ) from None
    found = [(text.index(m), m) for m in MOJIBAKE_MARKERS if m in text]
    if (match := MOJIBAKE_PATTERN.search(text)) is not None:
        found.append((match.start(), match.group()))
    if found:
        position, marker = min(found)
        line_no = text[:position].count("\n") + 1
        raise SourceError(
            f"{path}: line {line_no} holds garbled text ({marker!r}, e.g. 'LiÃ¨ge' for 'Liège'): "
            "the file was saved with the wrong encoding. Download the original again."
        )
    return text


def reference_date(rule: str, period: int) -> date:
    """Reference date of a period under a catalogue rule: 1 January for stocks (``january_1``, ``fixed``),
    31 December of the income year for flows over a year (``income_year``)."""
    return date(period, 12, 31) if rule == "income_year" else date(period, 1, 1)


def sniff_separator(header_line: str) -> str:
    """Return the most plausible separator of a header line among ``| ; , \\t``."""
    counts = {sep: header_line.count(sep) for sep in ("|", ";", ",", "\t")}
    return max(counts, key=counts.get)


def read_table(path: str | Path, required: list[str], text_columns: list[str] | None = None,
               aliases: dict[str, str] | None = None) -> pd.DataFrame:
    """Read a delimited text file into a frame, with every column read as text first.

    Parameters
    ----------
    path : str or Path
        CSV/TXT file, optionally gzipped; separator and encoding are detected.
    required : list of str
        Columns that must be present (after applying ``aliases``).
    text_columns : list of str, optional
        Unused placeholder for clarity: every column is read as text and converted by the importer.
    aliases : dict, optional
        Alternative column names → canonical names (publisher layouts differ by release).

    Returns
    -------
    DataFrame
        All columns as strings (``NaN`` for empty cells).

    Raises
    ------
    SourceError
        If the file is missing, unreadable, garbled or lacks a required column.
    """
    path = Path(path)
    text = decode_text(_open_bytes(path), path)
    first = text.split("\n", 1)[0]
    sep = sniff_separator(first)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False,
                            na_values=[""], quoting=csv.QUOTE_MINIMAL)
    except (pd.errors.ParserError, ValueError) as exc:
        raise SourceError(f"{path}: cannot be parsed as a table ({exc}).") from None
    frame.columns = [c.strip() for c in frame.columns]
    if aliases:
        frame = frame.rename(columns={k: v for k, v in aliases.items() if k in frame.columns})
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise SourceError(
            f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(frame.columns[:12])}. "
            "The publisher may have changed the layout: compare with PROVENANCE.md and update the importer."
        )
    return frame


def refnis_column(values: pd.Series, path: Path, column: str) -> pd.Series:
    """Normalise a column of REFNIS codes to 5-character strings, naming bad values."""
    try:
        return values.map(normalize_refnis)
    except ValueError as exc:
        raise SourceError(f"{path}: column {column} holds a value that is not a REFNIS code ({exc}).") from None


def numeric_column(values: pd.Series, path: Path, column: str) -> pd.Series:
    """Parse numbers written as text (``1 234,5`` and ``1.234,5`` included); empty stays missing."""
    text = values.astype("string").str.strip()
    has_comma = text.str.contains(",", regex=False, na=False)
    european = text.where(~has_comma, text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False))
    european = european.str.replace("\u00a0", "", regex=False).str.replace(" ", "", regex=False)
    parsed = pd.to_numeric(european, errors="coerce")
    bad = (parsed.isna() & text.notna() & (text != "")) | parsed.isin([float("inf"), float("-inf")])
    if bad.any():
        sample = ", ".join(repr(v) for v in text[bad].head(3))
        raise SourceError(f"{path}: column {column} has {int(bad.sum())} non-numeric value(s) ({sample}).")
    return parsed.astype("float64")


def whole_column(values: pd.Series, path: Path, column: str) -> pd.Series:
    """Parse whole numbers (years, ages): ``2026`` and ``2026.0`` pass, ``2026.7`` is refused."""
    parsed = numeric_column(values, path, column)
    bad = parsed.notna() & (parsed % 1 != 0)
    if bad.any():
        raise SourceError(f"{path}: column {column} must hold whole numbers; found {parsed[bad].iloc[0]!r}.")
    return parsed
