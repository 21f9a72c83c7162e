"""The `mindit` command line: import, status, and its errors."""

from __future__ import annotations

import shutil

from mindit_lib.cli import main


def test_status_lists_datasets_and_coverage(config, capsys):
    assert main(["status", "--store", str(config.store_path)]) == 0
    out = capsys.readouterr().out
    assert "compiled_population" in out and "3696 rows" in out
    assert (f"{'POPULATION_BY_COMMUNE':<40} 2009–2026  all 589 → 84 (lists 2011 → 2011/2019/2025), "
            "province 84 → 84") in out
    assert f"{'POPULATION_SEX_AGE':<40} 2009–2015  all 589 → 589 (lists 2011), province 84 → 84" in out
    # files in the 2025 geography count the 565 communes of 2025, the communes created in 2019/2025 included
    assert f"{'BUILDING_STOCK_DWELLINGS':<40} 2025–2025  all 565 → 565 (lists 2025), province 84 → 84" in out
    assert "MIXED" not in out  # no period holds a dissolved commune beside its successor
    # each dataset says plainly what it is
    assert ("→ check only: its 84 communes are identical to statbel_boundaries_2011 (codes, names, attributes, "
            "shapes); adds no data") in out
    assert "→ reference table postal_code (1,152 postal code–commune pairs)" in out
    assert "→ reference table refnis_crosswalk (55 code changes); 2 date(s) differ" in out
    # derived indicators too, with the communes that miss the latest year and why
    assert f"{'DENSITY':<40} 2009–2026  (ratio) province 84 → 84" in out
    assert f"{'PERMITS_DWELLINGS_PER_1000_INHABITANTS':<40} 2009–2025  (ratio) province 84 → 81" in out
    assert "missing in 2025: Amel (Amblève) (63001) : non publié par la source; Limbourg (63046)" in out
    assert "bce_kbo_open_data" in out and "no extract" in out  # the optional register, said plainly


def test_update_imports_nothing_when_nothing_changed(config, capsys):
    from mindit_lib.store import Store

    with Store(config.store_path, read_only=True) as store:
        before = store.content_checksum()
    assert main(["update", "--store", str(config.store_path), "--source-dir", str(config.source_dir)]) == 0
    out = capsys.readouterr().out
    assert "0 imported" in out and " 0 failed" in out
    with Store(config.store_path, read_only=True) as store:
        assert store.content_checksum() == before


def test_import_with_a_wrong_mirror_names_the_file_and_exits_nonzero(config, tmp_path, capsys):
    store = tmp_path / "s.duckdb"
    shutil.copy(config.store_path, store)
    code = main(["import", "--store", str(store), "--source-dir", str(tmp_path / "nowhere"),
                 "--dataset", "compiled_population"])
    assert code == 1
    out = capsys.readouterr()
    assert "population_observations.csv: file not found" in out.out and "source_dir" in out.out
    assert "what was stored before them is unchanged" in out.err


def test_status_without_a_store_says_what_to_run(tmp_path, capsys):
    assert main(["status", "--store", str(tmp_path / "none.duckdb")]) == 2
    assert "run `mindit import` first" in capsys.readouterr().err
