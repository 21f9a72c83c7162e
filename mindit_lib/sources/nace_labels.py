"""NACE-BEL labels FR/NL/DE/EN in the 2003, 2008 and 2025 versions (``bce_kbo/nacebel_2003_2008_2025_labels.csv``,
PROVENANCE 5a). Codes are kept as written, without dots (``62010``), as in KBO ``activity.csv``; a code means
something only with its version: join on (version, code)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mindit_lib.sources.base import SourceError, read_table, whole_column

VERSIONS = {2003, 2008, 2025}


def read(path: Path, ctx=None) -> dict[str, pd.DataFrame]:
    """Read the NACE-BEL nomenclature into ``nace_label`` rows.

    Raises
    ------
    SourceError
        A missing column, garbled text, an unknown version, a code that is not digits or a section
        letter, a (version, code) given twice.
    """
    path = Path(path)
    frame = read_table(path, ["version", "value", "value_dot", "level", "valid_from", "valid_to", "label_fr",
                              "label_nl", "label_de", "label_en", "parent"])
    version = whole_column(frame["version"], path, "version")
    unknown = sorted(set(version.dropna().astype(int)) - VERSIONS) or (["(empty)"] if version.isna().any() else [])
    if unknown:
        raise SourceError(f"{path}: version {unknown[0]} is not a NACE-BEL version ({sorted(VERSIONS)}).")
    code = frame["value"].fillna("").str.strip()
    bad = ~code.str.fullmatch(r"[A-Z]{1,2}|\d{2,7}")
    if bad.any():
        line = int(bad.to_numpy().argmax()) + 2
        raise SourceError(f"{path}: line {line}: code {frame.loc[bad, 'value'].iloc[0]!r} "
                          "is neither a section (A, or CA in 2003) nor digits (codes are written without dots, "
                          "e.g. 62010).")
    out = pd.DataFrame({
        "version": version.astype(int).to_numpy(), "code": code.to_numpy(),
        "code_dot": frame["value_dot"].to_numpy(),
        "level": whole_column(frame["level"], path, "level").to_numpy(), "parent": frame["parent"].to_numpy(),
        "valid_from": pd.to_datetime(frame["valid_from"], format="%Y-%m-%d", errors="coerce").dt.date.to_numpy(),
        "valid_to": pd.to_datetime(frame["valid_to"], format="%Y-%m-%d", errors="coerce").dt.date.to_numpy(),
        **{f"label_{lang}": frame[f"label_{lang}"].to_numpy() for lang in ("fr", "nl", "de", "en")},
    })
    dupes = out.duplicated(["version", "code"])
    if dupes.any():
        first = out[dupes].iloc[0]
        raise SourceError(f"{path}: code {first['code']} appears twice in version {first['version']}.")
    if out["label_fr"].isna().all():
        raise SourceError(f"{path}: label_fr is empty on every row.")
    return {"nace_label": out}
