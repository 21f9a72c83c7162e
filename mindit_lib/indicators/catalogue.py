"""Load and query ``catalogue.yml``: datasets (official files) and indicators (what is shown)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from mindit_lib.formatting import format_date

CATALOGUE_FILE = Path(__file__).with_name("catalogue.yml")

REFERENCE_DATE_RULES = {
    "january_1": "au 1er janvier {year}",
    "income_year": "revenus {year} (exercice d'imposition {next_year})",
    "fixed": "situation {year}",
    "calendar_year": "année {year}",
}

MONTHS_FR = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
             "octobre", "novembre", "décembre"]


class CatalogueError(KeyError):
    """An indicator or dataset is not in the catalogue."""


@dataclass(frozen=True)
class Dataset:
    """An official file and where it comes from."""

    id: str
    title_fr: str
    publisher: str
    mirror_path: str
    download_url: str
    licence: str
    reference_date: str
    importer: str
    priority: int = 0
    note_fr: str = ""
    #: what the file gives: ``observations`` (figures), ``territories`` (codes, names, shapes), ``reference``
    #: (a lookup table: postal codes, labels, sectors, crosswalk) or ``verification`` (a copy of part of
    #: the dataset named in ``verifies``, checked against it and importing nothing else)
    role: str = "observations"
    verifies: str | None = None


#: Kinds of indicator: stored observations, or derived from other indicators (see :mod:`mindit_lib.profile`).
KINDS = ("base", "ratio", "sum", "growth")


@dataclass(frozen=True)
class Indicator:
    """An indicator's metadata.

    Derived ones are computed from other indicators, for every territory from the parents' recomputed values:
    ``kind == "ratio"`` carries a numerator and a denominator; ``"sum"`` the ``parts`` it adds up (every part
    needed); ``"growth"`` the indicator it follows (``of``) and the number of years (``lag``) of the change in %.
    """

    id: str
    label_fr: str
    definition_fr: str
    unit: str
    unit_short: str
    decimals: int
    polarity: str
    frequency: str
    reference_date_rule: str
    kind: str = "base"
    label_de: str | None = None
    label_nl: str | None = None
    aggregation: str | None = None
    datasets: tuple[str, ...] = ()
    dimensions: tuple[str, ...] = ()
    numerator: str | None = None
    denominator: dict[str, Any] = field(default_factory=dict)
    scale: float = 1.0
    formula: str | None = None
    method_note_fr: str = ""
    series_breaks: tuple[dict[str, Any], ...] = ()
    parts: tuple[str, ...] = ()
    of: str | None = None
    lag: int = 0

    @property
    def inputs(self) -> list[str]:
        """The indicators a derived indicator is computed from (empty for a base indicator)."""
        if self.kind == "ratio":
            return [i for i in (self.numerator, self.denominator.get("indicator"),
                                self.denominator.get("fallback", {}).get("indicator")) if i]
        if self.kind == "sum":
            return list(self.parts)
        if self.kind == "growth":
            return [self.of] if self.of else []
        return []

    def label(self, lang: str = "fr") -> str:
        """Label in ``lang`` (``fr``, ``de``, ``nl``), French when that language has none."""
        return getattr(self, f"label_{lang}", None) or self.label_fr

    def reference_date_text(self, year: int) -> str:
        """French reference-date phrase, e.g. ``"au 1er janvier 2026"``."""
        rule = REFERENCE_DATE_RULES.get(self.reference_date_rule, "{year}")
        return rule.format(year=year, next_year=year + 1)


class Catalogue:
    """Datasets and indicators of ``catalogue.yml``."""

    def __init__(self, data: dict[str, Any]):
        self.datasets = {k: Dataset(id=k, **v) for k, v in data.get("datasets", {}).items()}
        self.indicators: dict[str, Indicator] = {}
        for key, raw in data.get("indicators", {}).items():
            raw = dict(raw)
            for name in ("datasets", "dimensions", "series_breaks", "parts"):
                if name in raw:
                    raw[name] = tuple(raw[name])
            self.indicators[key] = Indicator(id=key, **raw)
        self._validate()

    def _validate(self) -> None:
        for ind in self.indicators.values():
            if ind.kind not in KINDS:
                raise CatalogueError(f"indicator {ind.id} has unknown kind {ind.kind!r}; use one of "
                                     f"{', '.join(KINDS)}")
            for ds in ind.datasets:
                if ds not in self.datasets:
                    raise CatalogueError(f"indicator {ind.id} names unknown dataset {ds}")
            if ind.kind == "sum" and len(ind.parts) < 2:
                raise CatalogueError(f"indicator {ind.id} (kind sum) needs at least two parts")
            if ind.kind == "growth" and (not ind.of or ind.lag < 1):
                raise CatalogueError(f"indicator {ind.id} (kind growth) needs `of` (an indicator) and `lag` ≥ 1")
            for ref in ind.inputs:
                if ref not in self.indicators:
                    raise CatalogueError(f"indicator {ind.id} refers to unknown indicator {ref}")

    def indicator(self, indicator_id: str) -> Indicator:
        """Return one indicator, with an error listing the known ids when it is missing."""
        try:
            return self.indicators[indicator_id]
        except KeyError:
            raise CatalogueError(
                f"unknown indicator {indicator_id!r}; known: {', '.join(sorted(self.indicators))}"
            ) from None

    def dataset(self, dataset_id: str) -> Dataset:
        """Return one dataset entry."""
        try:
            return self.datasets[dataset_id]
        except KeyError:
            raise CatalogueError(f"unknown dataset {dataset_id!r}") from None

    def sources_of(self, indicator_id: str) -> list[Dataset]:
        """Datasets behind an indicator (for a derived one: those of the indicators it is computed from)."""
        ind = self.indicator(indicator_id)
        if ind.kind != "base":
            seen: dict[str, Dataset] = {}
            for ref in ind.inputs:
                for ds in self.sources_of(ref):
                    seen.setdefault(ds.id, ds)
            return list(seen.values())
        return [self.datasets[d] for d in ind.datasets]

    def figure_text(self, indicator_id: str, periods: Iterable[int] | None = None) -> str:
        """The figure a citation is about: ``"Population, au 1er janvier 2026"`` (one period),
        ``"Population, 2009–2026"`` (several), the bare label without periods."""
        ind = self.indicator(indicator_id)
        years = sorted({int(p) for p in periods}) if periods is not None else []
        if not years:
            return ind.label_fr
        if len(years) == 1:
            return f"{ind.label_fr}, {ind.reference_date_text(years[0])}"
        return f"{ind.label_fr}, {years[0]}–{years[-1]}"

    def citation(self, indicator_id: str, periods: Iterable[int] | None = None, *,
                 datasets: Iterable[str] | None = None, consulted: Mapping[str, date] | None = None,
                 url: bool = False) -> str:
        """A ready-to-cite French source line for a figure.

        ``"Source : Population, au 1er janvier 2026 — Statbel, Population au 1er janvier par commune et grand
        groupe d'âge (2016–2026), licence : …, consulté le 3 décembre 2026."``

        Parameters
        ----------
        indicator_id : str
            The indicator.
        periods : iterable of int, optional
            The period(s) the figure shows (one: its reference date; several: the span).
        datasets : iterable of str, optional
            The datasets that provided the values (default: every source of the indicator).
        consulted : mapping, optional
            Dataset id → the date its file was imported into the store (« consulté le »); a dataset missing
            from it is cited without that date.
        url : bool
            Add the publisher's official location of each dataset.

        Notes
        -----
        :meth:`mindit_lib.profile.Figures.citation` fills ``datasets`` and ``consulted`` from the store: use it
        for printed figures (reports, dashboards, exports), so that the line is exact and reproducible.
        """
        chosen = (list(dict.fromkeys(datasets)) if datasets is not None
                  else [d.id for d in self.sources_of(indicator_id)])
        consulted = consulted or {}
        parts = [self.dataset_citation(d, consulted.get(d), url=url) for d in chosen]
        return f"Source : {self.figure_text(indicator_id, periods)} — " + " ; ".join(parts) + "."

    def dataset_citation(self, dataset_id: str, consulted: date | None = None, *, url: bool = False) -> str:
        """One dataset as cited: ``"Statbel, <title>, licence : <licence>, consulté le 3 décembre 2026"``
        (the part of :meth:`citation` for each source; also the numbered source notes under report tables)."""
        ds = self.dataset(dataset_id)
        text = f"{ds.publisher}, {ds.title_fr}, licence : {ds.licence}"
        if url:
            text += f", {ds.download_url}"
        if consulted is not None:
            text += f", consulté le {format_date(consulted)}"
        return text


def merge_catalogue_files(paths: list[Path]) -> dict[str, Any]:
    """Merge catalogue files (``datasets`` and ``indicators`` sections); an id defined twice is an error."""
    merged: dict[str, dict[str, Any]] = {"datasets": {}, "indicators": {}}
    origin: dict[tuple[str, str], Path] = {}
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            # libyaml's safe loader when PyYAML has it (same result, ~10× faster: every kernel loads it)
            data = yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
        for section in ("datasets", "indicators"):
            for key, value in (data.get(section) or {}).items():
                if (section, key) in origin:
                    raise CatalogueError(f"{section[:-1]} {key!r} is defined in both {origin[(section, key)].name} "
                                         f"and {path.name}")
                origin[(section, key)] = path
                merged[section][key] = value
    return merged


@lru_cache(maxsize=4)
def _load(path: str) -> Catalogue:
    main = Path(path)
    extra = sorted((main.parent / "catalogue.d").glob("*.yml")) if main == CATALOGUE_FILE else []
    return Catalogue(merge_catalogue_files([main, *extra]))


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """Load the catalogue (cached): ``catalogue.yml`` plus every ``catalogue.d/*.yml`` beside it (one file per
    theme; a new source is described by adding a file).

    Parameters
    ----------
    path : str or Path, optional
        Another catalogue file (read alone); default: the one shipped with the package.
    """
    return _load(str(Path(path) if path else CATALOGUE_FILE))
