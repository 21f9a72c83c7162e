"""Look-ups in the store's reference tables: postal codes, NACE-BEL and KBO/BCE labels, statistical sectors."""

from __future__ import annotations

from mindit_lib.codes import normalize_refnis
from mindit_lib.store import Store

LANGUAGES = ("fr", "nl", "de", "en")


class ReferenceLookupError(LookupError):
    """A code is not in a reference table; the message says which table and what to import."""


def _lang(lang: str) -> str:
    if lang not in LANGUAGES:
        raise ValueError(f"language {lang!r}: use one of {', '.join(LANGUAGES)}.")
    return lang


def postal_codes_of(store: Store, refnis: object) -> list[str]:
    """Postal codes serving a commune (4-character strings, sorted); a commune usually has several."""
    code = normalize_refnis(refnis)
    frame = store.query("SELECT DISTINCT postal_code FROM postal_code WHERE refnis = ? ORDER BY 1", [code])
    return frame["postal_code"].tolist()


def communes_of_postal_code(store: Store, postal_code: str) -> list[str]:
    """REFNIS codes of the communes a postal code serves (a few postal codes serve more than one)."""
    frame = store.query("SELECT DISTINCT refnis FROM postal_code WHERE postal_code = ? ORDER BY 1",
                        [str(postal_code).strip()])
    return frame["refnis"].tolist()


def nace_label(store: Store, code: str, version: int, lang: str = "fr") -> str:
    """Label of a NACE-BEL code in one version (2003, 2008, 2025) and language.

    Parameters
    ----------
    code : str
        Without or with dots (``"62010"`` or ``"62.010"``), as in KBO ``activity.csv``.
    version : int
        The NACE-BEL version the code belongs to (KBO ``NaceVersion``): a code means something only with it.
    lang : str
        ``fr``, ``nl``, ``de`` or ``en``.

    Raises
    ------
    LookupError
        The code is not in that version.
    """
    col = f"label_{_lang(lang)}"
    frame = store.query(f"SELECT {col} AS label FROM nace_label WHERE version = ? AND code = ?",
                        [int(version), str(code).replace(".", "").strip()])
    if frame.empty:
        raise ReferenceLookupError(f"NACE-BEL {version} has no code {code!r} (or the table nace_label is not imported: "
                           "`mindit import --dataset nacebel_labels`).")
    return frame["label"].iloc[0]


def code_label(store: Store, registry: str, code: str, lang: str = "fr") -> str | None:
    """Label of a KBO/BCE code (e.g. registry ``legal_forms``, code ``"014"``) in one language."""
    col = f"label_{_lang(lang)}"
    frame = store.query(f"SELECT {col} AS label FROM code_label WHERE registry = ? AND code = ?", [registry, code])
    if frame.empty:
        raise ReferenceLookupError(f"KBO/BCE registry {registry!r} has no code {code!r}.")
    return frame["label"].iloc[0]


def sectors_of(store: Store, refnis: object):
    """Statistical sectors (2011) of a commune: ``sector_refnis, sector_code, name_fr, name_nl``, by code."""
    return store.query("""SELECT sector_refnis, sector_code, name_fr, name_nl FROM statistical_sector
                          WHERE refnis = ? ORDER BY sector_refnis""", [normalize_refnis(refnis)])
