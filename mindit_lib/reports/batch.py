"""The report batch: one executed notebook and one PDF per commune, a manifest, and nothing half-written.

Layout of an edition::

    <out_dir>/<edition>/<refnis>_<slug>.ipynb   executed notebook (kept on failure, with the error)
    <out_dir>/<edition>/<refnis>_<slug>.pdf     only for communes whose notebook ran cleanly
    <out_dir>/<edition>/manifest.json           what happened, rewritten atomically after every commune

Work is spread over worker processes (``spawn``); each keeps one kernel and one browser alive. Running one
commune is :func:`run_one`, a function of a picklable :class:`CommuneTask` only (kernel and browser are optional
caches), so the same code can be mapped over a Dask cluster later:
``client.map(run_one, tasks)`` gives one fresh kernel per call; to keep kernels warm there, create a
:class:`~mindit_lib.reports.kernel.KeptKernel` and a :class:`~mindit_lib.reports.render.PdfRenderer` once per
Dask worker (a worker plugin) and pass them in. Not wired up here because ``dask`` is an optional extra.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import logging
import multiprocessing as mp
import os
import queue
import re
import signal
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nbformat

import mindit_lib
from mindit_lib.atomic_files import TMP_SUFFIX, atomic_write_text, remove_stale_temp_files
from mindit_lib.reports.kernel import KeptKernel, KernelStartError, Watchdog, register_engine
from mindit_lib.reports.render import DEFAULT_TEMPLATE_DIR, PdfRenderer, render_pdf
from mindit_lib.reports.validate import PARAMETER, validate_notebook

log = logging.getLogger(__name__)

OK, SKIPPED, NOTEBOOK_ERROR, KERNEL_ERROR, TIMEOUT, RENDER_ERROR = (
    "ok", "skipped", "notebook_error", "kernel_error", "timeout", "render_error")
STATUSES = (OK, SKIPPED, NOTEBOOK_ERROR, KERNEL_ERROR, TIMEOUT, RENDER_ERROR)
SUCCESS = (OK, SKIPPED)
MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1
_REFNIS = re.compile(r"^\d{5}$")
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --------------------------------------------------------------------------------------------------- hashing


def base_hash(notebook: Path, template_dir: Path = DEFAULT_TEMPLATE_DIR, extra_hash: str = "") -> str:
    """Hash of everything a report depends on except the commune: notebook bytes, every file of the template,
    ``mindit_lib.__version__`` and ``extra_hash`` (the store's content checksum)."""
    h = hashlib.sha256()
    h.update(b"notebook\0" + Path(notebook).read_bytes())
    template_dir = Path(template_dir)
    for path in sorted(p for p in template_dir.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        h.update(b"\0template\0" + path.relative_to(template_dir).as_posix().encode() + b"\0" + path.read_bytes())
    h.update(b"\0version\0" + mindit_lib.__version__.encode())
    h.update(b"\0extra\0" + (extra_hash or "").encode())
    return h.hexdigest()


def input_hash(base: str, refnis: str) -> str:
    """Input hash of one commune's report (see :func:`base_hash`)."""
    return hashlib.sha256(f"{base}\0refnis\0{refnis}".encode()).hexdigest()


# --------------------------------------------------------------------------------------------------- records


@dataclass(frozen=True)
class CommuneTask:
    """Everything needed to produce one commune's report (picklable, no open resources)."""

    refnis: str
    name: str
    slug: str
    notebook: str
    edition_dir: str
    edition: str
    timeout: float
    input_hash: str
    template_dir: str = str(DEFAULT_TEMPLATE_DIR)
    kernel_name: str = "python3"
    #: the executed notebook must declare (output metadata ``mindit.refnis``) the commune it shows
    require_identity: bool = False
    #: what the PDF footer says of the edition (default: the edition name)
    edition_label: str = ""

    @property
    def stem(self) -> str:
        return f"{self.refnis}_{self.slug}"

    @property
    def ipynb_path(self) -> Path:
        return Path(self.edition_dir) / f"{self.stem}.ipynb"

    @property
    def pdf_path(self) -> Path:
        return Path(self.edition_dir) / f"{self.stem}.pdf"


@dataclass
class CommuneResult:
    """One manifest entry.

    ``error`` is ``None`` or ``{"cell", "source_cell", "execution_count", "ename", "evalue"}``: ``cell`` indexes
    the executed notebook as saved (papermill adds an error banner and the injected-parameters cell),
    ``source_cell`` the report notebook itself.
    """

    refnis: str
    name: str
    slug: str
    status: str
    seconds: float
    input_hash: str
    ipynb: str | None = None
    pdf: str | None = None
    error: dict[str, Any] | None = None
    kernel_start_retries: int = 0
    started: str | None = None
    finished: str | None = None

    @property
    def failed(self) -> bool:
        return self.status not in SUCCESS

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class Manifest:
    """What a batch did. ``failed`` lists the communes that need attention (the CLI exits non-zero if any)."""

    edition: str
    notebook: str
    data_vintage: str | None
    started: str
    finished: str | None = None
    workers: int = 1
    mindit_version: str = mindit_lib.__version__
    communes: list[CommuneResult] = field(default_factory=list)
    path: Path | None = None
    #: entries of earlier runs of this edition for communes not asked for this time: kept, so that a run for a
    #: few communes never erases the record (and the skip) of the others
    carried: list[CommuneResult] = field(default_factory=list)

    @property
    def failed(self) -> list[CommuneResult]:
        """Communes of this run that failed (carried entries do not count)."""
        return [r for r in self.communes if r.failed]

    @property
    def counts(self) -> dict[str, int]:
        """Statuses over the whole edition (this run and carried entries)."""
        every = [*self.communes, *self.carried]
        counts = {status: 0 for status in STATUSES}
        for r in every:
            counts[r.status] = counts.get(r.status, 0) + 1
        counts["total"] = len(every)
        counts["failed"] = sum(r.failed for r in every)
        return counts

    def to_json(self) -> dict[str, Any]:
        return {
            "manifest_version": MANIFEST_VERSION,
            "edition": self.edition,
            "data_vintage": self.data_vintage,
            "notebook": self.notebook,
            "mindit_version": self.mindit_version,
            "workers": self.workers,
            "started": self.started,
            "finished": self.finished,
            "counts": self.counts,
            "this_run": {"communes": len(self.communes), "failed": len(self.failed)},
            "communes": [self._portable(r.to_json())
                         for r in sorted([*self.communes, *self.carried], key=lambda r: r.refnis)],
        }

    def _portable(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Output paths relative to the edition folder, so an edition can be moved or published whole."""
        base = Path(self.path).parent if self.path else None
        for key in ("ipynb", "pdf"):
            if base is not None and entry.get(key) and Path(entry[key]).parent == base:
                entry[key] = Path(entry[key]).name
        return entry

    def write(self, path: Path | None = None) -> Path:
        path = Path(path or self.path)
        atomic_write_text(path, json.dumps(self.to_json(), ensure_ascii=False, indent=2) + "\n")
        self.path = path
        return path

    @classmethod
    def read(cls, path: Path) -> Manifest:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        fields = {f.name for f in dataclasses.fields(CommuneResult)}
        base = Path(path).parent
        communes = []
        for c in data.get("communes", []):
            entry = {k: v for k, v in c.items() if k in fields}
            for key in ("ipynb", "pdf"):  # written relative to the edition folder
                if entry.get(key) and not Path(entry[key]).is_absolute():
                    entry[key] = str(base / entry[key])
            communes.append(CommuneResult(**entry))
        return cls(edition=data["edition"], notebook=data.get("notebook", ""), data_vintage=data.get("data_vintage"),
                   started=data.get("started", ""), finished=data.get("finished"), workers=data.get("workers", 1),
                   mindit_version=data.get("mindit_version", ""), communes=communes, path=Path(path))


# --------------------------------------------------------------------------------------------------- one commune


def _running_cell(nb: nbformat.NotebookNode | None) -> int | None:
    """Index of the cell papermill was running when execution stopped: the last cell it started."""
    if nb is None:
        return None
    started = [i for i, cell in enumerate(nb.cells) if cell.get("metadata", {}).get("papermill", {}).get("start_time")]
    return started[-1] if started else None


def _read_nb(path: Path) -> nbformat.NotebookNode | None:
    try:
        if path.is_file() and path.stat().st_size:
            return nbformat.read(path, as_version=4)
    except Exception:  # noqa: BLE001 - a truncated notebook counts as "no notebook"
        log.debug("cannot read %s", path, exc_info=True)
    return None


PAPERMILL_TAGS = {"injected-parameters", "papermill-error-cell-tag"}


def _source_cell(nb: nbformat.NotebookNode, index: int | None) -> int | None:
    """Index in the input notebook of cell ``index`` of the executed one (papermill inserts cells)."""
    if index is None:
        return None
    inserted = sum(1 for cell in nb.cells[:index] if PAPERMILL_TAGS & set(cell.get("metadata", {}).get("tags", [])))
    return index - inserted


def _first_error(nb: nbformat.NotebookNode | None) -> dict[str, Any] | None:
    if nb is None:
        return None
    for index, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if out.get("output_type") == "error":
                return {"cell": index, "execution_count": cell.get("execution_count"),
                        "ename": out.get("ename"), "evalue": out.get("evalue")}
    return None


def declared_communes(nb: nbformat.NotebookNode | None) -> set[str]:
    """Commune codes the notebook's outputs say they show (output metadata ``{"mindit": {"refnis": …}}``)."""
    found: set[str] = set()
    for cell in (nb.cells if nb is not None else []):
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            meta = out.get("metadata", {})
            # IPython files the metadata of a _repr_*_ under its mimetype; display(..., metadata=) at the top
            for block in (meta, *(v for v in meta.values() if isinstance(v, dict))):
                code = block.get("mindit", {}).get("refnis") if isinstance(block.get("mindit"), dict) else None
                if code:
                    found.add(str(code))
    return found


def _identity_error(task: CommuneTask, nb: nbformat.NotebookNode | None) -> dict[str, Any] | None:
    """An error when the report shows another commune than the one asked for (a parameter overwritten in a way
    no static check sees, a hard-coded code...), or, when required, does not say which commune it shows."""
    declared = declared_communes(nb)
    if declared and declared != {task.refnis}:
        return {"cell": None, "execution_count": None, "ename": "WrongCommune",
                "evalue": f"the report shows {', '.join(sorted(declared))}, not {task.refnis} as asked"}
    if task.require_identity and not declared:
        return {"cell": None, "execution_count": None, "ename": "WrongCommune",
                "evalue": "the report does not declare which commune it shows (output metadata mindit.refnis)"}
    return None


def _executed_cells(nb: nbformat.NotebookNode | None) -> int:
    if nb is None:
        return 0
    return sum(1 for c in nb.cells if c.cell_type == "code" and c.get("execution_count") is not None)


def run_one(task: CommuneTask, kernel: KeptKernel | None = None, renderer: PdfRenderer | None = None) -> CommuneResult:
    """Execute the notebook for one commune and render its PDF; never raises for a commune-level failure.

    ``kernel`` and ``renderer`` are optional caches (a kept kernel, an open browser); without them a fresh kernel
    and browser are used and closed. On failure the executed notebook is kept and no PDF exists.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    t0, started = time.monotonic(), _now()
    result = CommuneResult(refnis=task.refnis, name=task.name, slug=task.slug, status=KERNEL_ERROR, seconds=0.0,
                           input_hash=task.input_hash, started=started)
    ipynb, pdf = task.ipynb_path, task.pdf_path
    ipynb.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        pdf.unlink()  # an old PDF would contradict a failure of this run
    own_kernel = kernel is None
    kernel = kernel or KeptKernel(task.kernel_name, cwd=str(Path(task.notebook).parent))
    tmp = ipynb.with_name(f".{ipynb.name}.{uuid.uuid4().hex[:8]}{TMP_SUFFIX}.ipynb")  # papermill wants .ipynb
    restart = False
    try:
        try:
            result.kernel_start_retries = kernel.ensure()
        except KernelStartError as exc:
            result.kernel_start_retries = exc.attempts
            result.error = {"cell": None, "execution_count": None, "ename": "KernelStartError", "evalue": str(exc)}
            return result

        watchdog = Watchdog(kernel.pid, task.timeout)
        status, error = OK, None
        try:
            with watchdog:
                papermill.execute_notebook(
                    task.notebook, str(tmp), parameters={PARAMETER: task.refnis}, engine_name=register_engine(),
                    km=kernel.km, kernel_name=task.kernel_name, progress_bar=False, log_output=False,
                    execution_timeout=task.timeout + 30 if task.timeout else None,
                )
        except PapermillExecutionError as exc:
            status = TIMEOUT if watchdog.fired else NOTEBOOK_ERROR
            error = {"cell": exc.cell_index, "execution_count": exc.exec_count, "ename": exc.ename,
                     "evalue": exc.evalue}
            restart = watchdog.fired
        except Exception as exc:  # noqa: BLE001 - dead kernel, cell timeout, zmq trouble: the kernel is suspect
            restart = True
            status = TIMEOUT if (watchdog.fired or "Timeout" in type(exc).__name__) else KERNEL_ERROR
            error = {"cell": None, "execution_count": None, "ename": type(exc).__name__, "evalue": str(exc)[:2000]}
        executed = _read_nb(tmp)
        if error is not None and executed is not None:
            # cell indices as the user sees them: in the saved executed notebook, and in the input notebook
            located = _first_error(executed) if status == NOTEBOOK_ERROR else None
            error["cell"] = located["cell"] if located else _running_cell(executed)
            error["source_cell"] = _source_cell(executed, error["cell"])
        if status == OK and _executed_cells(executed) == 0:
            status = NOTEBOOK_ERROR
            error = {"cell": None, "execution_count": None, "ename": "NoCellExecuted",
                     "evalue": "the output notebook has no executed cell"}
        if status == OK and (first := _first_error(executed)) is not None:
            status, error = NOTEBOOK_ERROR, first
        if status == OK and (wrong := _identity_error(task, executed)) is not None:
            status, error = NOTEBOOK_ERROR, wrong
        if status == TIMEOUT and error is not None:
            error["evalue"] = f"no result after {task.timeout:g} s ({error.get('ename')}: {error.get('evalue')})"
            error["ename"] = "Timeout"
        if executed is not None:
            os.replace(tmp, ipynb)
            result.ipynb = str(ipynb)
        result.status, result.error = status, error

        if status == OK:
            try:
                render_pdf(ipynb, pdf, name=task.name, edition=task.edition_label or task.edition,
                           template_dir=Path(task.template_dir), renderer=renderer)
                result.pdf = str(pdf)
            except Exception as exc:  # noqa: BLE001
                log.warning("PDF rendering failed for %s", task.refnis, exc_info=True)
                result.status = RENDER_ERROR
                result.error = {"cell": None, "execution_count": None, "ename": type(exc).__name__,
                                "evalue": str(exc)[:2000]}
        return result
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        if own_kernel or restart:
            kernel.shutdown()  # a suspect kernel is replaced by ensure() before the next notebook
        result.seconds = round(time.monotonic() - t0, 3)
        result.finished = _now()


# --------------------------------------------------------------------------------------------------- workers


def _worker_main(worker_id: int, tasks: Any, results: Any) -> None:
    """Worker process: one kept kernel and one browser, tasks until a ``None`` sentinel."""

    def _terminate(signum, frame):  # noqa: ARG001
        raise SystemExit(143)

    signal.signal(signal.SIGTERM, _terminate)
    with contextlib.suppress(Exception):  # Linux: die with the parent, never write PDFs for a dead batch
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() == 1:
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is handled by the parent, which stops us cleanly
    kernels: dict[tuple[str, str], KeptKernel] = {}
    renderer: PdfRenderer | None = None
    try:
        while (task := tasks.get()) is not None:
            results.put(("start", worker_id, task.refnis))
            key = (task.kernel_name, str(Path(task.notebook).parent))
            kernel = kernels.setdefault(key, KeptKernel(*key))
            if renderer is None:
                try:
                    renderer = PdfRenderer()
                except Exception:  # noqa: BLE001 - run_one opens a browser itself; the error lands in the manifest
                    log.warning("cannot start the browser", exc_info=True)
            result = run_one(task, kernel, renderer)
            if result.status == RENDER_ERROR and renderer is not None:
                renderer.close()
                renderer = None
            results.put(("done", worker_id, result))
    finally:
        for kernel in kernels.values():
            kernel.shutdown()
        if renderer is not None:
            renderer.close()


def _check_communes(communes: list[dict]) -> None:
    seen = set()
    for c in communes:
        refnis, slug = str(c.get("refnis", "")), str(c.get("slug", ""))
        if not _REFNIS.match(refnis):
            raise ValueError(f"invalid REFNIS code {refnis!r} (5 digits expected, as a string)")
        if not _SLUG.match(slug):
            raise ValueError(f"invalid slug {slug!r} for {refnis} (ASCII letters, digits, '-' and '_' only)")
        if refnis in seen:
            raise ValueError(f"REFNIS code {refnis} given twice")
        seen.add(refnis)


@contextlib.contextmanager
def _edition_lock(edition_dir: Path):
    """Refuse two batches writing the same edition at the same time."""
    with open(edition_dir / ".batch.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RuntimeError(f"another batch is writing {edition_dir}") from None
        yield


def _kernel_name(notebook: Path) -> str:
    nb = nbformat.read(notebook, as_version=4)
    return nb.metadata.get("kernelspec", {}).get("name") or "python3"


def run_batch(notebook: Path, communes: list[dict], out_dir: Path, edition: str, workers: int | None = None,
              force: bool = False, timeout: float = 600.0, extra_hash: str = "", *, data_vintage: str | None = None,
              template_dir: Path = DEFAULT_TEMPLATE_DIR, progress: bool = True,
              kernel_name: str | None = None, require_identity: bool = False, edition_label: str = "") -> Manifest:
    """Produce the reports of one edition.

    Parameters
    ----------
    notebook : Path
        Report notebook with one ``parameters`` cell defining ``refnis`` (checked first; nothing runs if not).
    communes : list of dict
        Each with ``refnis`` (5-character string), ``name`` (display only, never used in paths) and ``slug``
        (ASCII, used in file names).
    out_dir, edition : Path, str
        Outputs go to ``out_dir/edition/``.
    workers : int, optional
        Worker processes (default: number of CPUs), each with one kept kernel and one browser.
    force : bool
        Rerun communes even if their input hash is unchanged and their PDF exists.
    timeout : float
        Seconds allowed for one commune's notebook; then the kernel is interrupted (killed if needed),
        the commune marked ``timeout``, and the batch goes on.
    extra_hash : str
        Mixed into every input hash (the store's content checksum).
    data_vintage : str, optional
        Recorded in the manifest.
    edition_label : str
        Footer text for the edition (default ``édition <edition>``).
    require_identity : bool
        Fail a commune whose executed notebook does not declare, in an output's metadata
        (``{"mindit": {"refnis": code}}``), that it shows that commune. Any declared code other than the
        one asked for fails it in every case.

    Returns
    -------
    Manifest
        Also written to ``out_dir/edition/manifest.json``; ``manifest.failed`` lists failed communes.

    Raises
    ------
    NotebookValidationError
        If the notebook is not a valid report notebook.
    ValueError
        If a commune has an invalid REFNIS code or slug.
    """
    from tqdm import tqdm

    notebook = Path(notebook).resolve()
    validate_notebook(notebook)
    _check_communes(communes)
    edition_dir = Path(out_dir).resolve() / edition
    edition_dir.mkdir(parents=True, exist_ok=True)
    kernel_name = kernel_name or _kernel_name(notebook)
    base = base_hash(notebook, template_dir, extra_hash)

    with _edition_lock(edition_dir):
        remove_stale_temp_files(edition_dir)
        manifest_path = edition_dir / MANIFEST_NAME
        previous: dict[str, CommuneResult] = {}
        if manifest_path.is_file():
            try:
                previous = {r.refnis: r for r in Manifest.read(manifest_path).communes}
            except Exception:  # noqa: BLE001 - an unreadable manifest only means "nothing can be skipped"
                log.warning("cannot read %s: rerunning every commune", manifest_path)
        manifest = Manifest(edition=edition, notebook=str(notebook), data_vintage=data_vintage, started=_now(),
                            path=manifest_path)
        asked = {str(c["refnis"]) for c in communes}
        manifest.carried = [r for code, r in sorted(previous.items()) if code not in asked]

        tasks: list[CommuneTask] = []
        for c in communes:
            refnis = str(c["refnis"])
            task = CommuneTask(refnis=refnis, name=str(c.get("name") or refnis), slug=str(c["slug"]),
                               notebook=str(notebook), edition_dir=str(edition_dir), edition=edition,
                               timeout=timeout, input_hash=input_hash(base, refnis), template_dir=str(template_dir),
                               kernel_name=kernel_name, require_identity=require_identity,
                               edition_label=edition_label)
            prev = previous.get(refnis)
            if (not force and prev is not None and prev.status in SUCCESS and prev.input_hash == task.input_hash
                    and task.pdf_path.is_file() and task.ipynb_path.is_file()):
                manifest.communes.append(CommuneResult(
                    refnis=refnis, name=task.name, slug=task.slug, status=SKIPPED, seconds=0.0,
                    input_hash=task.input_hash, ipynb=str(task.ipynb_path), pdf=str(task.pdf_path),
                    started=prev.started, finished=prev.finished))
            else:
                tasks.append(task)
        manifest.workers = max(1, min(workers or os.cpu_count() or 1, len(tasks))) if tasks else 0
        manifest.write()

        bar = tqdm(total=len(communes), initial=len(communes) - len(tasks), file=sys.stderr, disable=not progress,
                   desc=f"reports {edition}", unit="commune")
        try:
            if tasks:
                for result in _run_pool(tasks, manifest.workers):
                    manifest.communes.append(result)
                    manifest.write()
                    bar.set_postfix_str(f"{result.refnis} {result.status}", refresh=False)
                    bar.update(1)
        finally:
            bar.close()
            manifest.finished = _now()
            manifest.write()
    return manifest


def _run_pool(tasks: list[CommuneTask], workers: int):
    """Run tasks on ``workers`` spawned processes; yield results as they come. A worker that dies is replaced
    and its commune marked ``kernel_error``."""
    ctx = mp.get_context("spawn")
    task_q, result_q = ctx.Queue(), ctx.Queue()
    for task in tasks:
        task_q.put(task)
    for _ in range(workers):
        task_q.put(None)
    by_refnis = {t.refnis: t for t in tasks}
    pending = set(by_refnis)
    procs: dict[int, Any] = {}
    in_flight: dict[int, str] = {}
    next_id = 0
    replacements = 0

    def spawn() -> None:
        nonlocal next_id
        proc = ctx.Process(target=_worker_main, args=(next_id, task_q, result_q), name=f"mindit-report-{next_id}")
        proc.start()
        procs[next_id] = proc
        next_id += 1

    for _ in range(workers):
        spawn()
    try:
        while pending:
            try:
                kind, wid, payload = result_q.get(timeout=1.0)
            except queue.Empty:
                for wid, proc in list(procs.items()):
                    if proc.is_alive():
                        continue
                    del procs[wid]
                    refnis = in_flight.pop(wid, None)
                    if refnis in pending:
                        pending.discard(refnis)
                        task = by_refnis[refnis]
                        yield CommuneResult(
                            refnis=refnis, name=task.name, slug=task.slug, status=KERNEL_ERROR, seconds=0.0,
                            input_hash=task.input_hash, finished=_now(),
                            error={"cell": None, "execution_count": None, "ename": "WorkerDied",
                                   "evalue": f"worker process exited with code {proc.exitcode}"})
                    # a worker that exits normally has taken its sentinel; only a crashed one is replaced
                    if proc.exitcode != 0 and pending and replacements < 2 * workers:
                        replacements += 1
                        spawn()
                if not procs and pending:
                    for refnis in sorted(pending):
                        task = by_refnis[refnis]
                        yield CommuneResult(
                            refnis=refnis, name=task.name, slug=task.slug, status=KERNEL_ERROR, seconds=0.0,
                            input_hash=task.input_hash, finished=_now(),
                            error={"cell": None, "execution_count": None, "ename": "NotRun",
                                   "evalue": "every worker process died"})
                    pending.clear()
                continue
            if kind == "start":
                in_flight[wid] = payload
            elif kind == "done":
                in_flight.pop(wid, None)
                if payload.refnis in pending:
                    pending.discard(payload.refnis)
                    yield payload
    finally:
        # normal end: workers got their sentinel and exit; interrupted: stop them now (they clean up on SIGTERM)
        deadline = time.monotonic() + (30 if not pending else 0)
        for proc in procs.values():
            proc.join(max(0.1, deadline - time.monotonic()))
        for proc in procs.values():
            if proc.is_alive():
                proc.terminate()  # SIGTERM: the worker shuts its kernel and browser down
        for proc in procs.values():
            proc.join(10)
            if proc.is_alive():
                proc.kill()
                proc.join(5)
        task_q.close()
        result_q.close()
