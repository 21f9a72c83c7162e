"""The reader fingerprint of a dataset: one SHA-256 over what, besides its file, determines the rows it imports.

An import is skipped when the file is unchanged *and* the fingerprint is unchanged, so that an upgrade of the
code (a new or changed importer, a new reference table, a changed catalogue entry) re-imports exactly the
datasets it concerns. The fingerprint covers:

- the source of the importer's module and of every ``mindit_lib`` module it imports, transitively (found by
  reading the sources, never by importing them), ``mindit_lib/sources/base.py`` always;
- every file of ``mindit_lib/reference/`` whose name appears in one of those sources (a module that names a
  reference file reads it);
- the dataset's catalogue entry and the entries of the indicators that list it, serialised as sorted JSON.

It costs a few milliseconds (a handful of small files read and hashed), so ``mindit update`` stays fast.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from pathlib import Path

from mindit_lib.indicators import Catalogue

PACKAGE_DIR = Path(__file__).resolve().parent
#: reference tables read by importers (a test may point this at a modified copy)
REFERENCE_DIR = PACKAGE_DIR / "reference"
#: always part of the fingerprint: the shared reading helpers of every importer
BASE_MODULE = "mindit_lib.sources.base"
#: bump when what the fingerprint covers changes, so that every dataset is re-imported once
SCHEME = "reader-fingerprint/1"


def module_file(module: str) -> Path | None:
    """The source file of a ``mindit_lib`` module (a package's ``__init__.py``), None when there is none.

    Parameters
    ----------
    module : str
        Dotted name, e.g. ``"mindit_lib.sources.tidy"``.
    """
    parts = module.split(".")
    if parts[0] != PACKAGE_DIR.name:
        return None
    base = PACKAGE_DIR.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


#: ``from X import a, b`` / ``from X import (a,\n b)`` / ``import X, Y``, at any indentation (function-level too)
_FROM_IMPORT = re.compile(r"^[ \t]*from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#]*)", re.MULTILINE)
_IMPORT = re.compile(r"^[ \t]*import[ \t]+([\w., \t]+)", re.MULTILINE)


def _imported_modules(source: str, module: str, is_package: bool) -> set[str]:
    """The ``mindit_lib`` modules a source imports (read with regular expressions: parsing is 20× slower)."""
    found: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]
    for match in _IMPORT.finditer(source):
        found.update(name.split(" as ")[0].strip() for name in match.group(1).split(","))
    for match in _FROM_IMPORT.finditer(source):
        base = match.group(1)
        level = len(base) - len(base.lstrip("."))
        if level:  # relative import: resolve against this module's package
            anchor = package.rsplit(".", level - 1)[0] if level > 1 else package
            base = f"{anchor}.{base[level:]}" if base[level:] else anchor
        found.add(base)
        # `from package import submodule` imports the submodule too
        names = match.group(2).strip("() \t\n")
        found.update(f"{base}.{name.split(' as ')[0].strip()}" for name in names.split(",") if name.strip())
    return {name for name in found if module_file(name) is not None}


def module_sources(modules: list[str]) -> dict[str, bytes]:
    """The sources of some ``mindit_lib`` modules and of every ``mindit_lib`` module they import, transitively.

    Parameters
    ----------
    modules : list of str
        Dotted module names.

    Returns
    -------
    dict
        Dotted name → source bytes, sorted by name.

    Raises
    ------
    FileNotFoundError
        When one of ``modules`` has no source file in the package.
    """
    todo = list(modules)
    sources: dict[str, bytes] = {}
    while todo:
        name = todo.pop()
        if name in sources:
            continue
        path = module_file(name)
        if path is None:
            raise FileNotFoundError(f"no source for module {name} under {PACKAGE_DIR}")
        sources[name] = path.read_bytes()
        todo.extend(_imported_modules(sources[name].decode("utf-8"), name, path.name == "__init__.py"))
    return dict(sorted(sources.items()))


def reference_files(sources: dict[str, bytes]) -> list[Path]:
    """The files of :data:`REFERENCE_DIR` whose name appears in one of the sources (its README excluded)."""
    text = b"\n".join(sources.values())
    return sorted(p for p in REFERENCE_DIR.iterdir()
                  if p.is_file() and p.name != "README.md" and p.name.encode("utf-8") in text)


def catalogue_entries(catalogue: Catalogue, dataset_id: str) -> str:
    """The dataset's catalogue entry and those of the indicators that list it, as deterministic JSON."""
    entries = {
        "dataset": dataclasses.asdict(catalogue.dataset(dataset_id)),
        "indicators": {i.id: dataclasses.asdict(i) for i in sorted(catalogue.indicators.values(), key=lambda i: i.id)
                       if dataset_id in i.datasets},
    }
    return json.dumps(entries, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))


def reader_fingerprint(catalogue: Catalogue, dataset_id: str, module: str) -> str:
    """The reader fingerprint of one dataset (hex SHA-256).

    Parameters
    ----------
    catalogue : Catalogue
        The catalogue the import uses.
    dataset_id : str
        The dataset.
    module : str
        Dotted name of the module holding the dataset's importer (see
        :func:`mindit_lib.importer.importer_module`).

    Returns
    -------
    str
        Changes whenever the importer's code (or a ``mindit_lib`` module it imports), a reference file it names,
        or the catalogue entries of the dataset and of its indicators change.
    """
    digest = hashlib.sha256(SCHEME.encode())
    sources = module_sources([module, BASE_MODULE])

    def add(label: str, data: bytes) -> None:
        digest.update(f"\0{label}\0{len(data)}\0".encode())
        digest.update(data)

    for name, source in sources.items():
        add(f"module:{name}", source)
    for path in reference_files(sources):
        add(f"reference:{path.name}", path.read_bytes())
    add("catalogue", catalogue_entries(catalogue, dataset_id).encode("utf-8"))
    return digest.hexdigest()
