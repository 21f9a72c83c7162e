"""The ``mindit`` command: import the official files, show what is stored, build the reports."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date

from mindit_lib.config import ConfigError, load_config
from mindit_lib.sources.base import SourceError
from mindit_lib.store import StoreError


def _config(args: argparse.Namespace):
    config = load_config(args.config)
    overrides = {"source_dir": getattr(args, "source_dir", None), "store_path": getattr(args, "store", None),
                 "output_dir": getattr(args, "out", None)}
    return config.with_overrides(**overrides)


def cmd_import(args: argparse.Namespace) -> int:
    """Import every dataset of the catalogue from the mirror (unchanged files are skipped), or with ``kbo
    PATH…`` the KBO extracts given."""
    from mindit_lib.importer import import_all, import_register

    config = _config(args)
    if getattr(args, "what", None) == "kbo":
        from mindit_lib.kbo.pipeline import DATASET
        from mindit_lib.store import Store

        if not args.paths:
            raise ValueError("`mindit import kbo` needs the extract(s): mindit import kbo "
                             "KboOpenData_0140_2025_10_Full.zip [KboOpenData_0141_…_Update.zip …] (applied in the "
                             "order given).")
        with Store(config.store_path) as store:
            return _print_outcomes(import_register(store, config, DATASET, paths=args.paths), config)
    if getattr(args, "fetch_from", None):  # refresh the mirror from a file server first (stops at a failure)
        from mindit_lib.download import refresh_mirror
        from mindit_lib.indicators import load_catalogue

        refresh_mirror(config, load_catalogue(), datasets=args.dataset or None, base_url=args.fetch_from,
                       on_result=lambda r: print(r.line(), flush=True))
    return _print_outcomes(import_all(config, args.dataset or None, force=args.force), config)


def _print_outcomes(outcomes, config) -> int:
    """One line per outcome, a summary, and the exit code (1 when any failed)."""
    width = max(len(o.dataset) for o in outcomes)
    for o in outcomes:
        line = f"{o.dataset:<{width}}  {o.status:<9}  {o.rows:>9} rows  {o.seconds:6.2f} s"
        if o.status in ("failed", "absent"):
            line += f"\n    → {o.message}"
        elif o.message:  # why it was imported: first import, file changed, importer changed…
            line += f"  ({o.message})"
        print(line)
    failed = [o for o in outcomes if o.status == "failed"]
    done = sum(o.status == "imported" for o in outcomes)
    absent = sum(o.status == "absent" for o in outcomes)
    print(f"{done} imported, {sum(o.status == 'unchanged' for o in outcomes)} unchanged, {len(failed)} failed"
          + (f", {absent} optional absent" if absent else "") + f"; store: {config.store_path}")
    if failed:
        print(f"{len(failed)} import(s) failed; what was stored before them is unchanged.", file=sys.stderr)
        return 1
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Show each dataset's last import and each indicator's coverage."""
    from mindit_lib.indicators import load_catalogue
    from mindit_lib.store import Store

    config = _config(args)
    with Store(config.store_path, read_only=True) as store:
        from mindit_lib.store_status import coverage, dataset_lines, province_gaps
        from mindit_lib.territories import Territories

        for line in dataset_lines(store, load_catalogue()):
            print(line)
        territories = Territories(store.territories())
        province = territories.get(config.province)
        own = [t.refnis for t in territories.communes_of(province.refnis)]
        cov = coverage(store, territories, own)
        gaps = province_gaps(store, territories, own)
        print(f"\n{'indicator':<40} years      communes with a value, first → last year: all = every commune "
              f"of the source files (Belgium's where a file is national; code lists: 2011 = 589, 2019 = 581, "
              f"2025 = 565), province = {province.display_name} ({len(own)} communes)")
        for ind, rows in cov.groupby("indicator_id"):
            first, last = rows.iloc[0], rows.iloc[-1]
            lists = " → ".join(dict.fromkeys(rows["lists"]))
            print(f"{ind:<40} {first.period}–{last.period}  all {first.all_communes} → {last.all_communes} "
                  f"(lists {lists}), province {first.province_communes} → {last.province_communes}")
            if ind in gaps:
                print(f"{'':<40} {gaps[ind]}")
        from mindit_lib.profile import Figures
        from mindit_lib.store_status import derived_lines, kbo_indicator_lines

        print(f"\n{'derived indicator':<40} years      communes of the province with a value, first → last year")
        for line in derived_lines(Figures(store), own):
            print(line)
        kbo = kbo_indicator_lines(store, own)
        if kbo:
            print(f"\n{'BCE/KBO indicator':<40} periods    communes of the province (after disclosure control)")
            for line in kbo:
                print(line)
    return 0


def cmd_reports(args: argparse.Namespace) -> int:
    """Run the report notebook for every commune (or those named) and render the PDFs."""
    from mindit_lib.reports.commune_batch import run_commune_reports

    config = _config(args)
    manifest = run_commune_reports(config, communes=args.commune, workers=args.workers, force=args.force,
                                   timeout=args.timeout, run_date=args.date)
    return 1 if manifest.failed else 0


def cmd_export(args: argparse.Namespace) -> int:
    """Export a commune's figures (and its parents') with their metadata."""
    from mindit_lib.exports import export_commune
    from mindit_lib.profile import figures

    config = load_config(args.config).with_overrides(store_path=args.store)  # --out is a file here
    paths = export_commune(figures(config), args.commune, fmt=args.format, out=args.out,
                           output_dir=config.output_dir, indicators=args.indicator, with_parents=args.with_parents,
                           decimal_comma=args.decimal_comma)
    for path in paths:
        print(path)
    return 0


def cmd_hub(args: argparse.Namespace) -> int:
    """Start JupyterHub (proxy, data service) with the project's configuration; Ctrl-C stops it all."""
    import signal
    import subprocess

    from mindit_lib.hub import check_ready, hub_command, hub_environment

    config = load_config(args.config)
    check_ready(config, args.spawner)
    env = hub_environment(config, bind_url=args.bind_url, hub_port=args.hub_port, proxy_api_port=args.proxy_api_port,
                          service_port=args.service_port, spawner=args.spawner, admins=args.admin or [])
    if args.spawner == "simple":
        print("mindit hub: spawner 'simple' — every person's server runs as this account (no isolation); "
              "for development and tests only.", file=sys.stderr)
    print(f"mindit hub: {args.bind_url}/hub/login (state in {config.hub_dir})", file=sys.stderr)
    proc = subprocess.Popen(hub_command(), cwd=config.hub_dir, env=env)
    signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        return proc.wait()


def cmd_users_add(args: argparse.Namespace) -> int:
    """Create or update hub accounts from a CSV (see ``mindit_lib.hub``)."""
    from mindit_lib.hub import add_accounts, read_accounts
    from mindit_lib.store import Store
    from mindit_lib.territories import Territories

    config = load_config(args.config)
    territories = Territories(Store(config.store_path, read_only=True).territories())
    accounts = read_accounts(args.file, territories, config.province)
    out, report = add_accounts(config, accounts, spawner=args.spawner, reset_passwords=args.reset_passwords)
    for line in report:
        print(line)
    if out:
        print(f"first passwords: {out} (readable by this account only; hand each over by a separate channel)")
    return 0


def cmd_contrib_add(args: argparse.Namespace) -> int:
    """Store a commune's private dataset, served only to that commune's users by the data service."""
    from mindit_lib.contrib import add_private_dataset
    from mindit_lib.store import Store
    from mindit_lib.territories import Territories

    config = load_config(args.config)
    commune = Territories(Store(config.store_path, read_only=True).territories()).get(args.commune, level=5)
    meta = add_private_dataset(config.private_dir, commune.refnis, args.file, name=args.name, replace=args.replace)
    print(f"{commune.display_name} ({commune.refnis}): private dataset {meta.name!r} stored — {meta.rows} rows, "
          f"columns {', '.join(meta.columns)}, sha256 {meta.sha256[:12]}")
    return 0


def cmd_contrib_list(args: argparse.Namespace) -> int:
    """List a commune's private datasets."""
    from mindit_lib.contrib import list_private_datasets
    from mindit_lib.store import Store
    from mindit_lib.territories import Territories

    config = load_config(args.config)
    commune = Territories(Store(config.store_path, read_only=True).territories()).get(args.commune, level=5)
    for d in list_private_datasets(config.private_dir, commune.refnis):
        print(f"{d.name:30} {d.rows:>8} rows  added {d.added} by {d.added_by}  sha256 {d.sha256[:12]}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``mindit``."""
    parser = argparse.ArgumentParser(prog="mindit", description="Mind it — territorial intelligence.")
    parser.add_argument("--config", help="a mindit.toml (default: $MINDIT_CONFIG, ./mindit.toml)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("import", help="import the official files of the mirror into the store; "
                       "`mindit import kbo FILE.zip…` imports KBO Open Data extracts")
    p.add_argument("what", nargs="?", choices=["kbo"], help="kbo: import the KBO/BCE extract(s) given")
    p.add_argument("paths", nargs="*", metavar="FILE.zip", help="with kbo: KboOpenData_…_Full.zip / _Update.zip "
                   "(or their folders), applied in the order given")
    p.add_argument("--dataset", action="append", help="only this dataset id (repeatable)")
    p.add_argument("--force", action="store_true", help="re-import files even when unchanged")
    p.add_argument("--source-dir", help="the mirror folder (default from mindit.toml)")
    p.add_argument("--store", help="the DuckDB store file")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("update", help="import only new or changed files of the mirror (same as import)")
    p.add_argument("--dataset", action="append", help="only this dataset id (repeatable)")
    p.add_argument("--source-dir", help="the mirror folder (default from mindit.toml)")
    p.add_argument("--store", help="the DuckDB store file")
    p.add_argument("--fetch-from", metavar="BASE_URL", help="first download the files from a server holding "
                   "the mirror's layout (BASE_URL/<mirror path>; unchanged files are not downloaded again)")
    p.set_defaults(func=cmd_import, force=False)

    p = sub.add_parser("status", help="what the store holds")
    p.add_argument("--store", help="the DuckDB store file")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("reports", help="build the PDF portrait of each commune")
    p.add_argument("--commune", action="append", help="code or name (repeatable; default: every commune)")
    p.add_argument("--out", help="output folder (default from mindit.toml)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="parallel workers (default: CPUs)")
    p.add_argument("--force", action="store_true", help="rebuild even unchanged reports")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds allowed per commune")
    p.add_argument("--date", type=date.fromisoformat, help="run date naming the edition (default: today)")
    p.add_argument("--store", help="the DuckDB store file")
    p.set_defaults(func=cmd_reports)

    p = sub.add_parser("export", help="export a commune's figures with their metadata (xlsx, csv, geojson, parquet)")
    p.add_argument("--commune", required=True, help="code or name of the commune")
    p.add_argument("--indicator", action="append", help="indicator id (repeatable; default: every indicator "
                   "with a value for the commune)")
    p.add_argument("--with-parents", action=argparse.BooleanOptionalAction, default=True,
                   help="add its arrondissement, province and region where they have values (default: yes)")
    p.add_argument("--format", help="xlsx, csv, geojson or parquet (default: the suffix of --out)")
    p.add_argument("--decimal-comma", action="store_true", help="CSV: write 12,5 instead of 12.5")
    p.add_argument("--out", help="file to write (default: <output>/exports/<refnis>_<slug>_<date>.<format>)")
    p.add_argument("--store", help="the DuckDB store file")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("hub", help="start JupyterHub: login, dashboards for communes, JupyterLab for analysts")
    p.add_argument("--bind-url", default=os.environ.get("MINDIT_HUB_BIND_URL", "http://127.0.0.1:8000"),
                   help="public URL (default http://127.0.0.1:8000)")
    p.add_argument("--hub-port", type=int, default=int(os.environ.get("MINDIT_HUB_PORT", "8081")),
                   help="the hub's internal API port (default 8081)")
    p.add_argument("--proxy-api-port", type=int, default=8001, help="the proxy's API port (default 8001)")
    p.add_argument("--service-port", type=int, default=10101, help="the data service's port (default 10101)")
    p.add_argument("--spawner", choices=("isolated", "simple"), default=os.environ.get("MINDIT_HUB_SPAWNER",
                   "isolated"), help="isolated: one Unix account per person (default; needs root); simple: "
                   "every server as this account (development, tests)")
    p.add_argument("--admin", action="append", help="hub administrator user name (repeatable)")
    p.set_defaults(func=cmd_hub)

    p = sub.add_parser("users", help="hub accounts")
    users = p.add_subparsers(dest="users_command", required=True)
    q = users.add_parser("add", help="create or update accounts from a CSV (username, communes, groups, admin, "
                         "password)")
    q.add_argument("file", help="the accounts CSV")
    q.add_argument("--spawner", choices=("isolated", "simple"), default=os.environ.get("MINDIT_HUB_SPAWNER",
                   "isolated"), help="isolated (default): also create each person's Unix account")
    q.add_argument("--reset-passwords", action="store_true", help="give existing accounts a new first password")
    q.set_defaults(func=cmd_users_add)

    p = sub.add_parser("contrib", help="private data of a commune (served only to its users)")
    contrib = p.add_subparsers(dest="contrib_command", required=True)
    q = contrib.add_parser("add", help="store a CSV as a private dataset of one commune")
    q.add_argument("file", help="the CSV (UTF-8)")
    q.add_argument("--commune", required=True, help="code or name of the commune")
    q.add_argument("--name", help="dataset name (default: from the file name)")
    q.add_argument("--replace", action="store_true", help="replace a dataset of the same name")
    q.set_defaults(func=cmd_contrib_add)
    q = contrib.add_parser("list", help="a commune's private datasets")
    q.add_argument("--commune", required=True, help="code or name of the commune")
    q.set_defaults(func=cmd_contrib_list)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``mindit`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ConfigError, SourceError, StoreError, LookupError, ValueError) as exc:
        print(f"mindit: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # an output folder that is a file, a read-only disk, a missing config file…
        where = f": {exc.filename}" if exc.filename else ""
        print(f"mindit: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except RuntimeError as exc:  # e.g. another batch is writing the same edition
        print(f"mindit: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
