"""The report batch, executed for real: papermill, kept kernels, nbconvert and Debian's Chromium (no mocks)."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

import nbformat
import pytest

from mindit_lib.reports import (
    Manifest,
    NotebookValidationError,
    notebook_to_html,
    render_pdf,
    run_batch,
    validate_notebook,
)

pypdf = pytest.importorskip("pypdf")

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
NOTEBOOK = FIXTURES / "report_fixture.ipynb"
TIMEOUT = 8.0
GOOD = [
    {"refnis": "63012", "name": "Bütgenbach (Butgenbach)", "slug": "butgenbach"},
    {"refnis": "62096", "name": "Saint-Nicolas (Liège)", "slug": "saint-nicolas"},
    {"refnis": "99001", "name": "L'Écluse / Sluis", "slug": "l-ecluse"},
]
FAILING = {"99990": "notebook_error", "99991": "timeout", "99992": "kernel_error"}
BAD = [
    {"refnis": "99990", "name": "Raises", "slug": "raises"},
    {"refnis": "99991", "name": "Hangs", "slug": "hangs"},
    {"refnis": "99992", "name": "Kernel dies", "slug": "dies"},
]
pytestmark = pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Debian's chromium")


def _pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(path).pages)


def _marked_processes(marker: str) -> list[str]:
    """Command lines of live processes whose environment carries ``marker`` (kernels, workers, browsers)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        if int(pid) == os.getpid():
            continue
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            status = Path(f"/proc/{pid}/stat").read_text().split()[2]
        except OSError:
            continue
        # multiprocessing's resource tracker lives as long as the test process itself, by design
        if marker.encode() in environ and status != "Z" and "resource_tracker" not in cmdline:
            found.append(f"{pid}: {cmdline[:120]}")
    return found


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """One real batch: three good communes and three failing ones, two workers."""
    marker = f"mindit-test-{uuid.uuid4().hex}"
    os.environ["MINDIT_TEST_MARKER"] = marker  # inherited by workers and kernels
    out = tmp_path_factory.mktemp("reports")
    t0 = time.monotonic()
    try:
        manifest = run_batch(NOTEBOOK, GOOD + BAD, out, "2026-12", workers=2, force=False, timeout=TIMEOUT,
                             extra_hash="store-v1", data_vintage="2026-01-01", progress=False)
    finally:
        os.environ.pop("MINDIT_TEST_MARKER", None)
    return {"manifest": manifest, "out": out, "dir": out / "2026-12", "seconds": time.monotonic() - t0,
            "marker": marker}


def _by_refnis(manifest: Manifest) -> dict:
    return {r.refnis: r for r in manifest.communes}


def test_good_communes_get_pdfs_with_their_names(batch):
    results = _by_refnis(batch["manifest"])
    for commune in GOOD:
        r = results[commune["refnis"]]
        assert r.status == "ok", r
        pdf = batch["dir"] / f"{commune['refnis']}_{commune['slug']}.pdf"
        assert r.pdf == str(pdf) and pdf.is_file()
        text = _pdf_text(pdf)
        assert commune["name"].split(" (")[0] in text
        assert f"Code REFNIS : {commune['refnis']}" in text
        assert "Page 1 / 1" in text and "édition 2026-12" in text
        assert "import os" not in text  # no code in the report
        reader = pypdf.PdfReader(pdf)
        assert reader.metadata.title == f"Portrait de commune — {commune['name']}"
    assert "Bütgenbach" in _pdf_text(batch["dir"] / "63012_butgenbach.pdf")


def test_failures_are_recorded_and_the_batch_goes_on(batch):
    manifest = batch["manifest"]
    results = _by_refnis(manifest)
    assert {r.refnis for r in manifest.failed} == set(FAILING)
    for refnis, status in FAILING.items():
        r = results[refnis]
        assert r.status == status, r
        assert r.pdf is None and not list(batch["dir"].glob(f"{refnis}_*.pdf"))
        assert r.error["source_cell"] == 4, r.error  # the cell of the fixture that fails
        assert Path(r.ipynb).is_file()
    error = results["99990"].error
    assert error["ename"] == "ValueError" and "données manquantes pour 99990" in error["evalue"]
    executed = nbformat.read(results["99990"].ipynb, as_version=4)
    assert any(o.get("ename") == "ValueError" for o in executed.cells[error["cell"]].outputs)
    assert executed.metadata.papermill.parameters == {"refnis": "99990"}
    assert results["99991"].seconds < TIMEOUT + 10
    assert results["99992"].error["ename"] == "DeadKernelError"


def test_manifest_on_disk(batch):
    data = json.loads((batch["dir"] / "manifest.json").read_text(encoding="utf-8"))
    assert data["edition"] == "2026-12" and data["data_vintage"] == "2026-01-01"
    assert data["started"] and data["finished"]
    assert data["counts"]["ok"] == 3 and data["counts"]["failed"] == 3 and data["counts"]["total"] == 6
    entry = next(c for c in data["communes"] if c["refnis"] == "62096")
    assert entry["name"] == "Saint-Nicolas (Liège)" and len(entry["input_hash"]) == 64
    assert set(entry) >= {"refnis", "name", "status", "seconds", "error", "ipynb", "pdf", "input_hash"}


def test_safe_paths_and_no_temp_files(batch):
    names = sorted(p.name for p in batch["dir"].iterdir())
    assert not [n for n in names if ".tmp" in n], names
    for name in names:
        assert name.isascii() and "'" not in name and " " not in name
    assert [p for p in batch["out"].rglob("*") if p.parent != batch["dir"] and p != batch["dir"]] == []


def test_no_kernel_or_worker_left_behind(batch):
    time.sleep(0.5)
    assert _marked_processes(batch["marker"]) == []
    psutil = pytest.importorskip("psutil")
    children = psutil.Process().children(recursive=True)
    assert not [c for c in children if "ipykernel" in " ".join(c.cmdline())]


def test_rerun_skips_unchanged_and_force_reruns(batch):
    t0 = time.monotonic()
    again = run_batch(NOTEBOOK, GOOD, batch["out"], "2026-12", workers=2, force=False, timeout=TIMEOUT,
                      extra_hash="store-v1", progress=False)
    assert [r.status for r in again.communes] == ["skipped"] * 3 and again.failed == []
    assert time.monotonic() - t0 < 5
    pdf = batch["dir"] / "63012_butgenbach.pdf"
    before = pdf.stat().st_mtime_ns
    forced = run_batch(NOTEBOOK, GOOD[:1], batch["out"], "2026-12", workers=1, force=True, timeout=TIMEOUT,
                       extra_hash="store-v1", progress=False)
    assert forced.communes[0].status == "ok" and pdf.stat().st_mtime_ns != before
    # a new store checksum changes the input hash: the commune is run again
    changed = run_batch(NOTEBOOK, GOOD[1:2], batch["out"], "2026-12", workers=1, timeout=TIMEOUT,
                        extra_hash="store-v2", progress=False)
    assert changed.communes[0].status == "ok"


@pytest.mark.parametrize("notebook, message", [
    ("no_parameters.ipynb", "exactly one cell tagged 'parameters'"),
    ("reassigns_refnis.ipynb", "reassigned after the parameters cell"),
])
def test_invalid_notebooks_are_refused_before_running(tmp_path, notebook, message):
    with pytest.raises(NotebookValidationError, match=message):
        validate_notebook(FIXTURES / notebook)
    with pytest.raises(NotebookValidationError, match=message):
        run_batch(FIXTURES / notebook, GOOD, tmp_path, "x", workers=1, timeout=TIMEOUT, progress=False)
    assert not list(tmp_path.rglob("*"))


def test_invalid_slug_refused(tmp_path):
    with pytest.raises(ValueError, match="slug"):
        run_batch(NOTEBOOK, [{"refnis": "62063", "name": "Liège", "slug": "../liège"}], tmp_path, "x",
                  workers=1, timeout=TIMEOUT, progress=False)


def test_kernel_that_cannot_start_is_retried_then_reported(tmp_path):
    manifest = run_batch(NOTEBOOK, GOOD[:1], tmp_path, "x", workers=1, timeout=TIMEOUT, progress=False,
                         kernel_name="no-such-kernel-mindit")
    (r,) = manifest.communes
    assert r.status == "kernel_error" and r.kernel_start_retries == 3 and r.error["ename"] == "KernelStartError"
    assert manifest.failed == [r]


def test_render_pdf_on_its_own(batch, tmp_path):
    executed = batch["dir"] / "62096_saint-nicolas.ipynb"
    html, title = notebook_to_html(executed, name="Saint-Nicolas (Liège)")
    assert title == "Portrait de commune — Saint-Nicolas (Liège)"
    assert "<script src" not in html and "cdn" not in html.lower()
    pdf = render_pdf(executed, tmp_path / "alone.pdf", name="Saint-Nicolas (Liège)", edition="test")
    assert "Saint-Nicolas (Liège)" in _pdf_text(pdf) and "édition test" in _pdf_text(pdf)
    assert [p.name for p in tmp_path.iterdir()] == ["alone.pdf"]
