"""Codes and names as strings: REFNIS normalisation, slugs, name folding."""

from __future__ import annotations

import re
import unicodedata

_REFNIS_RE = re.compile(r"^\d{1,5}$")


def normalize_refnis(code: object) -> str:
    """Return a REFNIS code as a 5-character string.

    Parameters
    ----------
    code : object
        ``"62063"``, ``62063``, ``"3000"``, ``3000.0`` or ``"be:mun:62063"``.

    Returns
    -------
    str
        The zero-padded code, e.g. ``"03000"``.

    Raises
    ------
    ValueError
        If the value is not a REFNIS code.
    """
    if code is None:
        raise ValueError("a REFNIS code is required (e.g. '62063'), got None")
    if isinstance(code, bool):
        raise ValueError(f"{code!r} is not a REFNIS code")
    if isinstance(code, float):
        if not code.is_integer():
            raise ValueError(f"{code!r} is not a REFNIS code")
        code = int(code)
    text = str(code).strip()
    if text.startswith("be:"):
        text = text.rsplit(":", 1)[-1]
    if text.endswith(".0"):
        text = text[:-2]
    if not _REFNIS_RE.match(text):
        raise ValueError(f"{code!r} is not a REFNIS code (expected up to 5 digits, e.g. '62063')")
    return text.zfill(5)


def fold_name(name: str) -> str:
    """Fold a place name for lookup: no accents, lower case, apostrophes and dashes unified.

    >>> fold_name("Bütgenbach") == fold_name("BUTGENBACH")
    True
    """
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("’", "'").replace("‘", "'").replace("`", "'")
    text = re.sub(r"[\s\-_]+", " ", text.lower()).strip()
    return text


def slugify(name: str) -> str:
    """Return an ASCII slug for file names (``"Saint-Nicolas (Liège)"`` → ``"saint-nicolas-liege"``)."""
    text = fold_name(name)
    text = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    return text or "territoire"
