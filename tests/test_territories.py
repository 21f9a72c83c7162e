"""Territory lookup, hierarchy and display names on the real territory table."""

from __future__ import annotations

from datetime import date

import pytest

from mindit_lib.codes import normalize_refnis, slugify
from mindit_lib.territories import TerritoryError, commune_list


@pytest.fixture(scope="module")
def terr(figures):
    return figures.territories


@pytest.mark.parametrize("query", ["62063", 62063, "Liège", "LIEGE", "liege", "Luik", " Liège "])
def test_lookup_any_spelling(terr, query):
    assert terr.get(query, level=5).refnis == "62063"


@pytest.mark.parametrize("query,code,display", [
    ("Butgenbach", "63013", "Bütgenbach (Butgenbach)"), ("BÜTGENBACH", "63013", "Bütgenbach (Butgenbach)"),
    ("Saint-Vith", "63067", "Sankt Vith (Saint-Vith)"), ("sankt vith", "63067", "Sankt Vith (Saint-Vith)"),
    ("La Calamine", "63040", "Kelmis (La Calamine)"), ("Amblève", "63001", "Amel (Amblève)"),
    ("Bullange", "63012", "Büllingen (Bullange)"), ("Eupen", "63023", "Eupen"),
    ("Saint-Nicolas (Liège)", "62093", "Saint-Nicolas"), ("Hannuit", "64034", "Hannut"),
])
def test_display_names(terr, query, code, display):
    t = terr.get(query, level=5)
    assert (t.refnis, t.display_name) == (code, display)


def test_hierarchy_of_the_province(terr):
    communes = terr.communes_of("60000")
    assert len(communes) == 84
    by_arr = {a: sum(1 for c in communes if c.parent_refnis == a) for a in ("61000", "62000", "63000", "64000")}
    assert by_arr == {"61000": 17, "62000": 24, "63000": 29, "64000": 14}
    assert [a.refnis for a in terr.ancestors("63013")] == ["63000", "60000", "03000", "01000"]
    # Wallonia: 262 communes in 2011 and 2019 (the 2019 recodings are one to one), 261 since Bastogne and
    # Bertogne merged on 1 January 2025
    assert len(terr.communes_of("03000", at=date(2011, 1, 1))) == 262
    assert len(terr.communes_of("03000", at=date(2019, 1, 1))) == 262
    assert len(terr.communes_of("03000")) == 261


def test_unknown_and_ambiguous_names_are_actionable(terr):
    with pytest.raises(TerritoryError, match="Bütgenbach"):
        terr.get("Bütgenbah")
    with pytest.raises(TerritoryError, match="unknown REFNIS code '99999'"):
        terr.get("99999")


def test_commune_list_checks_the_province(terr):
    assert [t.refnis for t in commune_list(terr, "60000", ["Liège", 63013])] == ["62063", "63013"]
    with pytest.raises(TerritoryError, match="not in Province de Liège"):
        commune_list(terr, "60000", ["Namur"])
    with pytest.raises(TerritoryError, match="Province de Liège \\(60000\\), a province, not a commune"):
        commune_list(terr, "60000", ["Province de Liège"])
    assert len(commune_list(terr, "20002")) == 27  # Brabant wallon: a province whose code does not end in 000
    for not_a_province in ("62000", "03000", "62063"):
        with pytest.raises(TerritoryError, match="not a province"):
            commune_list(terr, not_a_province)


def test_lookup_accepts_geo_ids_and_suggests_each_name_once(terr):
    assert terr.get("be:mun:62063").refnis == "62063"
    with pytest.raises(TerritoryError) as err:
        terr.get("Sankt Vit")
    assert str(err.value).count("Sankt Vith (Saint-Vith) (63067)") == 1


@pytest.mark.parametrize("raw,code", [("62063", "62063"), (62063, "62063"), ("3000", "03000"), (3000.0, "03000"),
                                      ("be:mun:61003", "61003"), ("62063.0", "62063")])
def test_normalize_refnis(raw, code):
    assert normalize_refnis(raw) == code


@pytest.mark.parametrize("bad", [None, "Liège", "123456", 62063.5, True, ""])
def test_normalize_refnis_refuses(bad):
    with pytest.raises(ValueError):
        normalize_refnis(bad)


@pytest.mark.parametrize("name,slug", [("Saint-Nicolas (Liège)", "saint-nicolas-liege"), ("Bütgenbach", "butgenbach"),
                                       ("Braine-l’Alleud", "braine-l-alleud"), ("A/B\\C..", "a-b-c"),
                                       ("", "territoire")])
def test_slugs_are_ascii_and_path_safe(name, slug):
    assert slugify(name) == slug
