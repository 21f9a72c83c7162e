"""French formats for numbers, percentages and dates (report language: French)."""

from __future__ import annotations

import math
from datetime import date

NBSP = "\u00a0"  # no-break space: thousands separator and before units, as in French typography
MONTHS_FR = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
             "octobre", "novembre", "décembre"]
MISSING_REASONS = {"confidential": "confidentiel", "not_published": "non publié", "missing": "non disponible",
                   None: "non disponible"}


def is_missing(value: object) -> bool:
    """True for ``None`` and NaN."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_number(value: float | int | None, decimals: int = 0, *, status: str | None = None) -> str:
    """Format a number the French way: ``198102`` → ``"198 102"``, ``12.25`` (1 decimal) → ``"12,3"``.

    A missing value gives ``"n.d. (reason)"``, never ``0``.
    """
    if is_missing(value):
        return f"n.d. ({MISSING_REASONS.get(status, 'non disponible')})"
    text = f"{float(value):,.{decimals}f}"
    if text.startswith("-") and float(text.replace(",", "")) == 0:
        text = text[1:]
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", NBSP)


def format_value(value: float | None, unit_short: str, decimals: int, *, status: str | None = None) -> str:
    """Number with its unit: ``"12,2 %"``, ``"18 541 €/hab."``, ``"2 312,4 hab./km²"``."""
    text = format_number(value, decimals, status=status)
    if is_missing(value) or not unit_short:
        return text
    return f"{text}{NBSP}{unit_short}"


def format_percent(value: float | None, decimals: int = 1) -> str:
    """``12.24`` → ``"12,2 %"`` (value already in percent)."""
    return format_value(value, "%", decimals)


def format_change(value: float | None, decimals: int = 1) -> str:
    """Signed percentage change: ``"+1,2 %"``, ``"−0,4 %"`` (true minus sign)."""
    if is_missing(value):
        return "n.d."
    sign = "+" if value > 0 else ("−" if value < 0 else "")
    return f"{sign}{format_number(abs(value), decimals)}{NBSP}%"


def format_date(day: date) -> str:
    """``date(2026, 1, 1)`` → ``"1er janvier 2026"``; ``date(2026, 12, 3)`` → ``"3 décembre 2026"``."""
    first = "1er" if day.day == 1 else str(day.day)
    return f"{first} {MONTHS_FR[day.month - 1]} {day.year}"


def compare_phrase(value: float | None, reference: float | None, reference_name: str) -> str:
    """Plain-language comparison from a fixed threshold table (after Census Reporter's comparatives).

    ``compare_phrase(110, 100, "la province")`` → ``"environ 10 % de plus que la province"``.
    """
    if is_missing(value) or is_missing(reference) or reference == 0:
        return ""
    ratio = value / reference
    if 0.97 <= ratio <= 1.03:
        return f"comparable à {reference_name}"
    if ratio >= 1.95 and ratio < 2.05:
        return f"environ le double de {reference_name}"
    if ratio >= 2.05:
        return f"environ {format_number(ratio, 1)} fois {reference_name}"
    if 0.45 <= ratio <= 0.55:
        return f"environ la moitié de {reference_name}"
    pct = round(abs(ratio - 1) * 100)
    if pct >= 10:
        pct = int(round(pct / 5) * 5)
    word = "de plus" if ratio > 1 else "de moins"
    return f"environ {pct}{NBSP}% {word} que {reference_name}"
