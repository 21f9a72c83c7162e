"""Glue between the configuration, the store and the batch: which communes, which edition, which hash."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from mindit_lib.config import REPO_ROOT, Config
from mindit_lib.formatting import format_date
from mindit_lib.reports.batch import Manifest, run_batch
from mindit_lib.store import Store
from mindit_lib.territories import Territories, commune_list

DEFAULT_NOTEBOOK = REPO_ROOT / "notebooks" / "reports" / "commune_profile.ipynb"


def data_vintage(store: Store, communes: list[str]) -> str:
    """The reference date of the newest population figure of these communes (``"2026-01-01"``)."""
    row = store.query("SELECT max(reference_date) AS d FROM observation WHERE indicator_id = 'POPULATION_BY_COMMUNE' "
                      "AND value IS NOT NULL AND refnis IN (SELECT unnest(?))", [communes])
    value = row["d"].iloc[0]
    if value is None or str(value) in ("NaT", "None"):
        raise ValueError("the store holds no population figure: run `mindit import` first.")
    return str(value)[:10]


def library_digest() -> str:
    """Version and content hash of the library (code and catalogue): a changed figure rule reruns the reports."""
    import hashlib

    import mindit_lib

    package = Path(mindit_lib.__file__).resolve().parent
    digest = hashlib.sha256(mindit_lib.__version__.encode())
    for path in sorted(p for p in package.rglob("*") if p.suffix in {".py", ".yml", ".csv"}):
        digest.update(str(path.relative_to(package)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def edition_name(vintage: str, run_date: date) -> str:
    """Edition folder name: data vintage and run date (``"donnees-2026-01-01_2026-12-03"``)."""
    return f"donnees-{vintage}_{run_date.isoformat()}"


@contextmanager
def _kernel_environment(config: Config):
    """Make the report kernels (child processes) read the same store and mirror as this process."""
    values = {"MINDIT_STORE": str(config.store_path), "MINDIT_SOURCE_DIR": str(config.source_dir),
              "MINDIT_PROVINCE": config.province}
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def run_commune_reports(config: Config, communes: list[str] | None = None, *, workers: int | None = None,
                        force: bool = False, timeout: float = 300.0, run_date: date | None = None,
                        notebook: Path = DEFAULT_NOTEBOOK, progress: bool = True) -> Manifest:
    """Build the PDF portrait of every commune of the configured province (or of those named).

    Parameters
    ----------
    config : Config
        Store, output folder and province.
    communes : list of str, optional
        Codes or names (any spelling); default: every commune of the province.
    workers, force, timeout, progress
        Passed to :func:`mindit_lib.reports.batch.run_batch`.
    run_date : date, optional
        Day of the run (default: today); with the data vintage it names the edition.
    notebook : Path
        The report notebook.

    Returns
    -------
    Manifest
        ``manifest.failed`` is empty when every commune got its PDF.
    """
    with Store(config.store_path, read_only=True) as store:
        territories = Territories(store.territories())
        chosen = commune_list(territories, config.province, communes)
        checksum = store.content_checksum()
        province_communes = [t.refnis for t in territories.communes_of(config.province)]
        vintage = data_vintage(store, province_communes)
    run_date = run_date or date.today()
    edition = edition_name(vintage, run_date)
    label = (f"édition du {format_date(run_date)} · données au {format_date(date.fromisoformat(vintage))} "
             "(population)")
    items = [{"refnis": t.refnis, "name": t.display_name, "slug": t.slug} for t in chosen]
    with _kernel_environment(config):
        manifest = run_batch(Path(notebook), items, config.output_dir, edition, workers=workers, force=force,
                             timeout=timeout, extra_hash=f"{checksum}:{library_digest()}", data_vintage=vintage,
                             progress=progress, require_identity=True, edition_label=label)
    _print_summary(manifest)
    return manifest


def _print_summary(manifest: Manifest) -> None:
    run = manifest.communes
    built = sum(r.status == "ok" for r in run)
    unchanged = sum(r.status == "skipped" for r in run)
    counts = manifest.counts
    ready = counts.get("ok", 0) + counts.get("skipped", 0)
    print(f"{built + unchanged}/{len(run)} reports ready ({built} built, {unchanged} unchanged, "
          f"{len(manifest.failed)} failed); the edition {Path(manifest.path).parent} holds {ready}/"
          f"{counts.get('total', 0)} reports")
    for r in manifest.failed:
        err = r.error or {}
        where = f"cell {err.get('source_cell')}" if err.get("source_cell") is not None else "—"
        print(f"FAILED {r.refnis} {r.name}: {r.status} at {where}: {err.get('ename', '')} {err.get('evalue', '')}",
              file=sys.stderr)
