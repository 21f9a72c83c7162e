"""Territories: lookup by code or any spelling, hierarchy, and official display names."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import date
from functools import cached_property

import pandas as pd

from mindit_lib.codes import fold_name, normalize_refnis, slugify

LEVELS = {1: "country", 2: "region", 3: "province", 4: "arrondissement", 5: "commune"}
ROLE_LABELS_FR = {"commune": "Commune", "arrondissement": "Arrondissement", "province": "Province",
                  "region": "Région", "country": "Pays"}


class TerritoryError(LookupError):
    """A territory cannot be found, or a name is ambiguous; the message lists candidates."""


@dataclass(frozen=True)
class Territory:
    """A territory of the REFNIS hierarchy."""

    refnis: str
    level: int
    name_fr: str
    name_nl: str | None
    name_de: str | None
    parent_refnis: str | None
    language: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None

    def valid_at(self, when: date | None = None) -> bool:
        """Whether the code exists on ``when`` (default: today's list, i.e. it has no end date)."""
        if when is None:
            return self.valid_to is None
        return (self.valid_from is None or self.valid_from <= when) and (self.valid_to is None or when < self.valid_to)

    @property
    def role(self) -> str:
        """``commune``, ``arrondissement``, ``province``, ``region`` or ``country``."""
        return LEVELS[self.level]

    @property
    def display_name(self) -> str:
        """Official name for a French report: German first for the German-language area, French after
        it where it differs (``"Bütgenbach (Butgenbach)"``)."""
        if self.language == "de" and self.name_de:
            if self.name_fr and self.name_fr != self.name_de:
                return f"{self.name_de} ({self.name_fr})"
            return self.name_de
        return self.name_fr

    @property
    def slug(self) -> str:
        """ASCII slug of the display name, for file names."""
        return slugify(self.name_de if self.language == "de" and self.name_de else self.name_fr)

    def name(self, lang: str = "fr") -> str:
        """Name in ``fr``, ``nl`` or ``de`` (French when that language has none)."""
        return getattr(self, f"name_{lang}", None) or self.name_fr


class Territories:
    """All territories of the store, with lookups.

    Parameters
    ----------
    frame : DataFrame
        ``Store.territories()``: refnis, level, name_fr, name_nl, name_de, parent_refnis, language.
    """

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame.reset_index(drop=True)
        self._by_code: dict[str, Territory] = {}
        def clean(v: object) -> str | None:
            return v if isinstance(v, str) and v else None

        def day(v: object) -> date | None:
            return None if v is None or pd.isna(v) else pd.Timestamp(v).date()

        for r in self.frame.itertuples(index=False):
            self._by_code[r.refnis] = Territory(
                r.refnis, int(r.level), r.name_fr, clean(r.name_nl), clean(r.name_de), clean(r.parent_refnis),
                clean(r.language), day(getattr(r, "valid_from", None)), day(getattr(r, "valid_to", None)))

    def __contains__(self, code: object) -> bool:
        try:
            return normalize_refnis(code) in self._by_code
        except ValueError:
            return False

    def __iter__(self):
        return iter(self._by_code.values())

    @cached_property
    def _names(self) -> dict[str, set[str]]:
        index: dict[str, set[str]] = {}
        for t in self._by_code.values():
            for name in {t.name_fr, t.name_nl, t.name_de, t.display_name}:
                if name:
                    index.setdefault(fold_name(name), set()).add(t.refnis)
        return index

    def get(self, code_or_name: object, level: int | None = None) -> Territory:
        """Find a territory by REFNIS code (string or number) or by any spelling of its name.

        Parameters
        ----------
        code_or_name : str or int
            ``"62063"``, ``62063``, ``"Liège"``, ``"LIEGE"``, ``"Luik"``, ``"Butgenbach"``…
        level : int, optional
            Restrict name matches to one level (5 = commune).

        Raises
        ------
        TerritoryError
            Unknown code or name (with close spellings), or an ambiguous name (with the candidates).
        """
        text = str(code_or_name).strip()
        if text.lower().startswith("be:") or text.replace(".", "").isdigit() or isinstance(code_or_name, int):
            code = normalize_refnis(code_or_name)
            if code not in self._by_code:
                raise TerritoryError(f"unknown REFNIS code {code!r}. Use a code of the territory table, "
                                     "e.g. 62063 for Liège.")
            return self._by_code[code]
        key = fold_name(text)
        codes = self._names.get(key, set())
        qualifier = re.match(r"^(.*?)\s*\(([^)]*)\)$", text)
        if not codes and qualifier:
            # "Saint-Nicolas (Liège)": a name qualified by its province or arrondissement
            base, qual = fold_name(qualifier.group(1)), fold_name(qualifier.group(2))
            codes = {c for c in self._names.get(base, set())
                     if any(qual in fold_name(a.name_fr) or qual in fold_name(a.name_nl or "")
                            for a in self.ancestors(c))}
        if level is not None:
            other_levels = codes
            codes = {c for c in codes if self._by_code[c].level == level}
            if not codes and other_levels:
                found = self._by_code[sorted(other_levels)[0]]
                raise TerritoryError(f"{text!r} is {found.display_name} ({found.refnis}), a {found.role}, "
                                     f"not a {LEVELS[level]}.")
        if len(codes) == 1:
            return self._by_code[next(iter(codes))]
        if len(codes) > 1:
            # a name kept by a merged commune (Bastogne 82003 → 82039) means today's commune
            current = {c for c in codes if self._by_code[c].valid_at()}
            if len(current) == 1 and len(codes) > len(current):
                return self._by_code[current.pop()]
            # prefer a commune when a commune shares its name with its arrondissement or province
            communes = sorted(c for c in codes if self._by_code[c].level == 5)
            if len(communes) == 1:
                return self._by_code[communes[0]]
            options = ", ".join(f"{c} {self._by_code[c].display_name}" for c in sorted(codes))
            raise TerritoryError(f"{text!r} is ambiguous: {options}. Give the REFNIS code.")
        close = difflib.get_close_matches(key, list(self._names), n=3, cutoff=0.75)
        hint = ""
        if close:
            options = dict.fromkeys(f"{self._by_code[c].display_name} ({c})" for k in close
                                    for c in sorted(self._names[k]))
            hint = " Did you mean " + ", ".join(options) + "?"
        raise TerritoryError(f"no territory named {text!r}.{hint}")

    def parent(self, territory: Territory) -> Territory | None:
        """The direct parent (arrondissement → province → region → country)."""
        return self._by_code.get(territory.parent_refnis) if territory.parent_refnis else None

    def ancestors(self, code_or_name: object) -> list[Territory]:
        """Parents from the nearest up to the country."""
        out, current = [], self.parent(self.get(code_or_name))
        while current is not None:
            out.append(current)
            current = self.parent(current)
        return out

    def communes_of(self, code_or_name: object, at: date | None = None) -> list[Territory]:
        """Communes (level 5) inside a territory, sorted by code; a commune gives itself.

        Parameters
        ----------
        code_or_name : str or int
            The territory.
        at : date, optional
            The communes that existed on that date (e.g. ``date(2011, 1, 1)``: the 589 of 2011). Default:
            today's communes (codes without end date); dissolved communes are left out.
        """
        target = self.get(code_or_name)
        if target.level == 5:
            return [target]
        return [t for t in sorted(self._by_code.values(), key=lambda t: t.refnis)
                if t.level == 5 and t.valid_at(at) and target in self.ancestors(t.refnis)]

    def list_dates(self) -> list[date | None]:
        """The dates of the commune lists the territories span: the earliest start, then each reform date.

        ``[None]`` when no commune has dates (one list only).
        """
        starts = {t.valid_from for t in self if t.level == 5} | {t.valid_to for t in self if t.level == 5}
        starts.discard(None)
        return sorted(starts) or [None]

    def lists_holding(self, codes: set[str] | list[str]) -> list[date | None]:
        """The commune lists (:meth:`list_dates`) in which every one of ``codes`` exists.

        Empty when the codes mix lists (a dissolved commune beside its successor) or include an unknown code:
        counting them together would count a territory twice.
        """
        wanted = [self._by_code.get(c) for c in set(codes)]
        if any(t is None for t in wanted):
            return []
        return [d for d in self.list_dates() if all(d is None or t.valid_at(d) for t in wanted)]

    def membership(self) -> pd.DataFrame:
        """Commune → every territory that contains it (itself included).

        Returns
        -------
        DataFrame
            ``commune, refnis, valid_from, valid_to`` (the commune's dates: a commune dissolved in a reform
            belongs to its parents only in the lists before it).
        """
        rows = []
        for t in self._by_code.values():
            if t.level != 5:
                continue
            rows.append((t.refnis, t.refnis, t.valid_from, t.valid_to))
            rows.extend((t.refnis, a.refnis, t.valid_from, t.valid_to) for a in self.ancestors(t.refnis))
        return pd.DataFrame(rows, columns=["commune", "refnis", "valid_from", "valid_to"])


def commune_list(territories: Territories, province: str, names: list[str] | None = None) -> list[Territory]:
    """Communes of ``province``, or those named (codes or names), checked to lie in it.

    Raises
    ------
    TerritoryError
        A named territory is unknown, not a commune, or outside the province.
    """
    province_t = territories.get(province)
    if province_t.level != 3:
        provinces = ", ".join(f"{t.refnis} {t.display_name}" for t in territories if t.level == 3
                              and t.parent_refnis == "03000")
        raise TerritoryError(f"territory.province = {province_t.refnis} is {province_t.display_name}, a "
                             f"{province_t.role}, not a province. Walloon provinces: {provinces}.")
    allowed = territories.communes_of(province_t.refnis)
    if not names:
        return allowed
    allowed_codes = {t.refnis for t in allowed}
    out = []
    for name in names:
        t = territories.get(name, level=5)
        if t.level != 5:
            raise TerritoryError(f"{name!r} is a {t.role}, not a commune.")
        if t.refnis not in allowed_codes:
            raise TerritoryError(f"{t.display_name} ({t.refnis}) is not in {province_t.display_name}; "
                                 "change `territory.province` in mindit.toml to report on it.")
        out.append(t)
    return out
