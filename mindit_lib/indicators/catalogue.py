"""Load and query ``catalogue.yml``: datasets (official files) and indicators (what is shown)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

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


@dataclass(frozen=True)
class Indicator:
    """An indicator's metadata; derived ones (``kind == "ratio"``) carry a numerator and denominator."""

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
            for name in ("datasets", "dimensions", "series_breaks"):
                if name in raw:
                    raw[name] = tuple(raw[name])
            self.indicators[key] = Indicator(id=key, **raw)
        self._validate()

    def _validate(self) -> None:
        for ind in self.indicators.values():
            for ds in ind.datasets:
                if ds not in self.datasets:
                    raise CatalogueError(f"indicator {ind.id} names unknown dataset {ds}")
            if ind.kind == "ratio":
                refs = [ind.numerator, ind.denominator.get("indicator"),
                        ind.denominator.get("fallback", {}).get("indicator")]
                for ref in filter(None, refs):
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
        """Datasets behind an indicator (for a ratio: those of its numerator and denominator)."""
        ind = self.indicator(indicator_id)
        if ind.kind == "ratio":
            ids = [ind.numerator, ind.denominator.get("indicator"),
                   ind.denominator.get("fallback", {}).get("indicator")]
            seen: dict[str, Dataset] = {}
            for ref in filter(None, ids):
                for ds in self.sources_of(ref):
                    seen.setdefault(ds.id, ds)
            return list(seen.values())
        return [self.datasets[d] for d in ind.datasets]

    def citation(self, indicator_id: str) -> str:
        """A ready-to-cite French source line for an indicator."""
        parts = []
        for ds in self.sources_of(indicator_id):
            parts.append(f"{ds.publisher}, {ds.title_fr} ({ds.licence}) — {ds.download_url}")
        return "Source : " + " ; ".join(parts)


def merge_catalogue_files(paths: list[Path]) -> dict[str, Any]:
    """Merge catalogue files (``datasets`` and ``indicators`` sections); an id defined twice is an error."""
    merged: dict[str, dict[str, Any]] = {"datasets": {}, "indicators": {}}
    origin: dict[tuple[str, str], Path] = {}
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or {}
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
