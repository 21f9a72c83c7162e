"""French formats and the configuration."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from mindit_lib.config import ConfigError, load_config
from mindit_lib.formatting import (
    NBSP,
    compare_phrase,
    format_change,
    format_date,
    format_number,
    format_percent,
    format_value,
)


def test_numbers_and_dates_in_french():
    assert format_number(198102) == f"198{NBSP}102"
    assert format_number(1125300) == f"1{NBSP}125{NBSP}300"
    assert format_percent(12.24) == f"12,2{NBSP}%"
    assert format_value(2854.83, "hab./km²", 1) == f"2{NBSP}854,8{NBSP}hab./km²"
    assert format_date(date(2026, 1, 1)) == "1er janvier 2026"
    assert format_date(date(2026, 12, 3)) == "3 décembre 2026"
    assert format_change(-0.43) == f"−0,4{NBSP}%"


def test_missing_values_are_never_zero():
    assert format_number(None) == "n.d. (non disponible)"
    assert format_number(float("nan"), status="confidential") == "n.d. (confidentiel)"
    assert format_value(None, "%", 1, status="not_published") == "n.d. (non publié)"


def test_comparison_phrases():
    assert compare_phrase(110, 100, "la province") == f"environ 10{NBSP}% de plus que la province"
    assert compare_phrase(101, 100, "la province") == "comparable à la province"
    assert compare_phrase(50, 100, "la province") == "environ la moitié de la province"
    assert compare_phrase(None, 100, "la province") == ""


def test_config_file_and_environment_overrides(tmp_path, monkeypatch):
    cfg = tmp_path / "mindit.toml"
    cfg.write_text('[territory]\nprovince = "90000"\n[paths]\nsource_dir = "mirror"\nstore = "s.duckdb"\n',
                   encoding="utf-8")
    for var in ("MINDIT_PROVINCE", "MINDIT_SOURCE_DIR", "MINDIT_STORE", "MINDIT_OUTPUT", "MINDIT_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    loaded = load_config(cfg)
    assert loaded.province == "90000"
    assert loaded.source_dir == (tmp_path / "mirror").resolve()
    assert loaded.store_path == (tmp_path / "s.duckdb").resolve()
    monkeypatch.setenv("MINDIT_PROVINCE", "60000")
    monkeypatch.setenv("MINDIT_STORE", str(tmp_path / "other.duckdb"))
    loaded = load_config(cfg)
    assert loaded.province == "60000" and loaded.store_path == (tmp_path / "other.duckdb").resolve()


def test_bad_configuration_is_explained(tmp_path, monkeypatch):
    monkeypatch.delenv("MINDIT_PROVINCE", raising=False)
    cfg = tmp_path / "mindit.toml"
    cfg.write_text('[territory]\nprovince = "Liège"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="not a REFNIS code"):
        load_config(cfg)
    cfg.write_text('[paths]\nstore = 5\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="paths must be text"):
        load_config(cfg)
    cfg.write_text("[territory\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(cfg)
    monkeypatch.setenv("MINDIT_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match="MINDIT_CONFIG"):
        load_config()


def test_repository_config_points_to_the_shared_mirror(monkeypatch):
    for var in ("MINDIT_PROVINCE", "MINDIT_SOURCE_DIR", "MINDIT_STORE", "MINDIT_OUTPUT", "MINDIT_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    repo = Path(__file__).resolve().parent.parent
    loaded = load_config(repo / "mindit.toml")
    assert loaded.province == "60000"
    assert loaded.source_dir == (repo.parent / "shared" / "data").resolve()


def test_importing_the_library_skips_the_slow_iri_checker_only():
    import subprocess
    import sys

    code = ("import mindit_lib, time; t = time.perf_counter(); import altair, jsonschema; "
            "print(sorted({'iri', 'uri', 'date'} & set(jsonschema.FormatChecker.checkers)), "
            "'rfc3987_syntax' in __import__('sys').modules and __import__('sys').modules['rfc3987_syntax'] is None)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["['date',", "'uri']", "True"]  # every other format checker is still there
