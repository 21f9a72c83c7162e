"""Benchmark: importing the mirror, against simply reading its raw files with pandas, in the same run.

    python benchmarks/imports.py          # after `bash scripts/setup.sh`; needs the mirror (../shared/data)

Prints (1) seconds to read every catalogue file with pandas/geopandas (the baseline: no validation, no store),
(2) seconds for a full import into a fresh store (target ≤ 30 s), (3) seconds for a whole `mindit update`
process when nothing changed (target ≤ 2 s), and the ratios to the baseline.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mindit_lib.config import load_config  # noqa: E402
from mindit_lib.importer import import_all  # noqa: E402
from mindit_lib.indicators import load_catalogue  # noqa: E402


def raw_datasets() -> list:
    """The catalogue's files (not the KBO register: a folder of optional zips, benchmarked by ``kbo.py``)."""
    return [ds for ds in load_catalogue().datasets.values() if ds.role != "register"]


def read_raw(source_dir: Path) -> float:
    """Read every file of the catalogue with pandas (GeoPackages and GeoJSON with geopandas, every layer)."""
    import geopandas as gpd
    import pandas as pd
    import pyogrio

    t0 = time.perf_counter()
    for ds in raw_datasets():
        path = source_dir / ds.mirror_path
        if path.suffix in (".gpkg", ".geojson"):
            for layer, _ in pyogrio.list_layers(path):
                gpd.read_file(path, layer=layer)
        else:
            sep = "|" if ".txt" in path.name else ","
            pd.read_csv(path, sep=sep, dtype=str, encoding="utf-8-sig")
    return time.perf_counter() - t0


def main() -> int:
    config = load_config()
    n = len(raw_datasets())
    with tempfile.TemporaryDirectory(prefix="mindit-bench-import-") as tmp:
        cfg = config.with_overrides(store_path=Path(tmp) / "bench.duckdb")
        raw = read_raw(cfg.source_dir)
        print(f"pandas read : {raw:6.2f} s  ({n} files, no validation, no store)", flush=True)
        t0 = time.perf_counter()
        outcomes = import_all(cfg, force=True)
        full = time.perf_counter() - t0
        failed = [o for o in outcomes if o.status == "failed"]
        print(f"full import : {full:6.2f} s  ({full / raw:.1f}× the raw read; target ≤ 30 s)"
              f"{'' if not failed else f'  FAILED: {[o.dataset for o in failed]}'}", flush=True)
        cmd = [str(Path(sys.executable).parent / "mindit"), "update", "--store", str(cfg.store_path),
               "--source-dir", str(cfg.source_dir)]
        t0 = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        update = time.perf_counter() - t0
        summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr.strip()
        print(f"update      : {update:6.2f} s  whole process, nothing new ({update / raw:.2f}× the raw read; "
              f"target ≤ 2 s) — {summary}")
    return int(bool(failed) or done.returncode != 0)


if __name__ == "__main__":
    raise SystemExit(main())
