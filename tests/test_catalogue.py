"""The indicator catalogue: complete metadata, valid references, extension files."""

from __future__ import annotations

import pytest

from mindit_lib.indicators import load_catalogue
from mindit_lib.indicators.catalogue import CatalogueError, merge_catalogue_files


def test_every_indicator_has_the_metadata_a_report_prints():
    cat = load_catalogue()
    for ind in cat.indicators.values():
        assert ind.label_fr and ind.definition_fr and ind.unit and ind.reference_date_rule, ind.id
        assert cat.sources_of(ind.id), ind.id
        assert cat.citation(ind.id).startswith("Source : ")
    for ds in cat.datasets.values():
        assert ds.publisher and ds.licence and ds.download_url.startswith("https://") and ds.mirror_path, ds.id


def test_extension_files_merge_and_refuse_duplicates(tmp_path):
    a = tmp_path / "a.yml"
    b = tmp_path / "b.yml"
    a.write_text("indicators:\n  X: {label_fr: x}\n", encoding="utf-8")
    b.write_text("indicators:\n  X: {label_fr: y}\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match="'X' is defined in both a.yml and b.yml"):
        merge_catalogue_files([a, b])
    b.write_text("indicators:\n  Y: {label_fr: y}\n", encoding="utf-8")
    assert set(merge_catalogue_files([a, b])["indicators"]) == {"X", "Y"}


def test_every_reference_date_rule_is_known():
    from mindit_lib.indicators.catalogue import REFERENCE_DATE_RULES

    for ind in load_catalogue().indicators.values():
        assert ind.reference_date_rule in REFERENCE_DATE_RULES, (ind.id, ind.reference_date_rule)
