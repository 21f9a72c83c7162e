"""Benchmark: the report batch (2 workers, kept kernels, one browser per worker) against the naive loop
(papermill CLI, ``jupyter nbconvert --no-input``, headless Chromium, one subprocess each, per commune).

    python benchmarks/reports.py                           # real report notebook, 12 Liège communes
    python benchmarks/reports.py --notebook tests/fixtures/notebooks/report_fixture.ipynb --communes 4
    python benchmarks/reports.py --full                    # and the batch over the province's 84 communes

Outputs go to a temporary folder (or ``--out``, e.g. ``benchmarks/out/``, which git ignores).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mindit_lib.reports import run_batch  # noqa: E402

DEFAULT_NOTEBOOK = REPO / "notebooks" / "reports" / "commune_profile.ipynb"
LIEGE_12 = ["61003", "61010", "61012", "62003", "62006", "62009", "62063", "63001", "63013", "63023", "64008",
            "64015"]
BIN = Path(sys.executable).parent
CHROMIUM = "/usr/bin/chromium"


def communes_for(codes: list[str]) -> list[dict]:
    return [{"refnis": code, "name": f"Commune {code}", "slug": f"commune-{code}"} for code in codes]


def time_batch(notebook: Path, codes: list[str], out: Path, workers: int, timeout: float) -> tuple[float, int]:
    t0 = time.perf_counter()
    manifest = run_batch(notebook, communes_for(codes), out, "bench", workers=workers, force=True,
                         timeout=timeout, extra_hash="benchmark", progress=True)
    seconds = time.perf_counter() - t0
    for r in manifest.failed:
        print(f"  batch: {r.refnis} {r.status} {r.error}", file=sys.stderr)
    return seconds, len(manifest.communes) - len(manifest.failed)


def time_naive(notebook: Path, codes: list[str], out: Path) -> tuple[float, int]:
    """What a user would write: three subprocesses per commune."""
    out.mkdir(parents=True, exist_ok=True)
    ok = 0
    t0 = time.perf_counter()
    for code in codes:
        ipynb, html, pdf = (out / f"{code}.{ext}" for ext in ("ipynb", "html", "pdf"))
        steps = [
            [str(BIN / "papermill"), "-r", "refnis", code, str(notebook), str(ipynb), "--no-progress-bar"],
            [str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(ipynb), "--output", html.stem,
             "--output-dir", str(out)],
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
             f"--print-to-pdf={pdf}", html.as_uri()],
        ]
        try:
            for step in steps:
                subprocess.run(step, check=True, capture_output=True, timeout=300)
            ok += pdf.is_file()
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            print(f"  naive: {code} failed: {exc}", file=sys.stderr)
    return time.perf_counter() - t0, ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notebook", type=Path, default=DEFAULT_NOTEBOOK)
    parser.add_argument("--refnis", nargs="+", help="REFNIS codes (default: 12 Liège communes)")
    parser.add_argument("--communes", type=int, default=12, help="use the first N codes (default 12)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--full", action="store_true",
                        help="also time the batch over every commune of the configured province (or every code given)")
    parser.add_argument("--out", type=Path, help="output folder (default: a temporary one)")
    args = parser.parse_args(argv)

    if not args.notebook.is_file():
        parser.error(f"{args.notebook} does not exist yet: pass --notebook (e.g. a test fixture)")
    codes = (args.refnis or LIEGE_12)[: args.communes]
    status = 0
    with tempfile.TemporaryDirectory(prefix="mindit-bench-") as tmp:
        out = args.out or Path(tmp)
        print(f"notebook {args.notebook} · {len(codes)} communes · {args.workers} workers", flush=True)
        batch_s, batch_ok = time_batch(args.notebook, codes, out / "batch", args.workers, args.timeout)
        print(f"batch : {batch_s:7.1f} s total · {batch_s / len(codes):5.2f} s/report · {batch_ok} PDFs", flush=True)
        naive_s, naive_ok = time_naive(args.notebook.resolve(), codes, out / "naive")
        print(f"naive : {naive_s:7.1f} s total · {naive_s / len(codes):5.2f} s/report · {naive_ok} PDFs")
        print(f"ratio : naive / batch = {naive_s / batch_s:.1f}×  (target ≥ 10×)", flush=True)
        status |= not (batch_ok == len(codes) == naive_ok)
        if args.full:
            every = args.refnis or province_codes()
            full_s, full_ok = time_batch(args.notebook, every, out / "full", args.workers, args.timeout)
            print(f"full  : {full_s:7.1f} s total · {full_s / len(every):5.2f} s/report · {full_ok}/{len(every)} PDFs"
                  f"  (target ≤ 1.00 s/report with 2 workers)")
            status |= full_ok != len(every)
    return int(status)


def province_codes() -> list[str]:
    """Every commune of the configured province, from the store (run `mindit import` first)."""
    from mindit_lib.config import load_config
    from mindit_lib.store import Store
    from mindit_lib.territories import Territories

    config = load_config()
    with Store(config.store_path, read_only=True) as store:
        territories = Territories(store.territories())
    return [t.refnis for t in territories.communes_of(config.province)]


if __name__ == "__main__":
    raise SystemExit(main())
