"""Labels of the KBO/BCE code tables (``bce_kbo/bce_code_tables_bce_codes_to_label.csv``, PROVENANCE 5b): legal
forms, countries, joint committees, sectors… from the bce-codes-to-label package. Not the official KBO
``code.csv``: its categories Status, JuridicalSituation, TypeOfEnterprise… are missing."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mindit_lib.sources.base import SourceError, read_table

#: where each language's label is, by registry layout: ``label_<lang>``, else ``full_name_<lang>`` (models),
#: else ``<lang>`` (rejection codes); German full names are ``long_name_de``
LABEL_COLUMNS = {"fr": ["label_fr", "full_name_fr", "fr"], "nl": ["label_nl", "full_name_nl", "nl"],
                 "de": ["label_de", "long_name_de", "de"], "en": ["label_en", "full_name_en", "en"]}


def read(path: Path, ctx=None) -> dict[str, pd.DataFrame]:
    """Read the code tables into ``code_label`` rows: registry, code, labels FR/NL/DE/EN.

    Raises
    ------
    SourceError
        A missing column, garbled text, a row without registry or code, a (registry, code) given twice.
    """
    path = Path(path)
    frame = read_table(path, ["registry", "key", "label_fr", "label_nl", "label_de", "label_en"])
    empty = frame["registry"].isna() | frame["key"].isna()
    if empty.any():
        raise SourceError(f"{path}: line {int(empty.to_numpy().argmax()) + 2}: a row without registry or key.")
    out = pd.DataFrame({"registry": frame["registry"].str.strip().to_numpy(),
                        "code": frame["key"].str.strip().to_numpy()})
    for lang, columns in LABEL_COLUMNS.items():
        label = pd.Series(pd.NA, index=frame.index, dtype="object")
        for col in columns:
            if col in frame.columns:
                label = label.fillna(frame[col])
        out[f"label_{lang}"] = label.to_numpy()
    dupes = out.duplicated(["registry", "code"])
    if dupes.any():
        first = out[dupes].iloc[0]
        raise SourceError(f"{path}: code {first['code']} appears twice in registry {first['registry']}.")
    return {"code_label": out}
