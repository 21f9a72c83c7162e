"""Chart builders: assert on the Vega-Lite spec and render every builder to SVG and PNG (offline).

The frames below are small test fixtures with plausible numbers; the library never ships numbers.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from IPython.display import Image

from mindit_lib import charts
from mindit_lib.formatting import NBSP

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _data(spec: dict, layer: dict) -> list[dict]:
    """Rows of a layer's data, whether inline or in the top-level ``datasets``."""
    data = layer.get("data", spec.get("data"))
    if "values" in data:
        return data["values"]
    return spec["datasets"][data["name"]]


def _layers(spec: dict) -> list[dict]:
    return spec.get("layer", [spec])


def _assert_renders(chart, *texts: str) -> str:
    svg = charts.to_svg(chart)
    assert svg.lstrip().startswith("<svg") and len(svg) > 1000
    for text in texts:
        assert text in svg, f"{text!r} not in the SVG"
    png = charts.to_png(chart)
    assert png.startswith(PNG_SIGNATURE) and len(png) > 1000
    return svg


def _assert_french_locale(spec: dict) -> None:
    number = spec["config"]["locale"]["number"]
    assert number["decimal"] == ","
    assert number["thousands"] in (NBSP, "\u202f", " ")
    assert number["grouping"] == [3]


# ------------------------------------------------------------------------------------------- evolution

@pytest.fixture
def income_series() -> pd.DataFrame:
    rows = []
    values = {
        ("Liège", "commune"): {2015: 190.0, 2016: 200.0, 2017: 210.0, 2018: 220.0},
        ("Arrondissement de Liège", "arrondissement"): {2015: 400.0, 2016: 410.0, 2017: 420.0, 2018: 430.5},
        ("Province de Liège", "province"): {2016: 1000.0, 2017: 1010.0, 2018: 1030.0},
        ("Région wallonne", "region"): {2017: 3600.0, 2018: 3650.0},  # no value for 2016
    }
    for (name, role), series in values.items():
        for period, value in series.items():
            rows.append({"territory": name, "role": role, "period": period, "value": value})
    return pd.DataFrame(rows)


def test_evolution_rebases_each_series_to_100(income_series):
    chart = charts.evolution_chart(income_series, title="Revenu moyen par habitant — Liège", base_period=2016)
    spec = chart.to_dict()
    lines = _layers(spec)[0]
    rows = pd.DataFrame(_data(spec, lines))
    commune = rows[rows["territory"] == "Liège"].set_index("period")["value"]
    assert commune[2016] == pytest.approx(100)
    assert commune[2018] == pytest.approx(110)  # 200 → 220
    assert commune[2015] == pytest.approx(95)
    assert lines["encoding"]["y"]["title"] == "Indice (base 100 = 2016)"
    assert lines["encoding"]["x"]["field"] == "period"
    assert lines["mark"]["type"] == "line" and lines["mark"]["point"]
    # the region has no 2016 value: dropped, and said so
    assert "Région wallonne" not in set(rows["territory"])
    assert spec["usermeta"]["mindit"] == {"index": True, "dropped": ["Région wallonne"], "base_period": 2016}
    assert any("Région wallonne" in line for line in spec["title"]["subtitle"])
    # the commune has the highlight colour, parents the role colours, legend at the bottom
    colour = lines["encoding"]["color"]
    assert colour["scale"]["domain"][0] == "Liège"
    assert colour["scale"]["range"][0] == charts.HIGHLIGHT
    assert colour["scale"]["range"][2] == charts.ROLE_COLOURS["province"]
    assert colour["legend"]["orient"] == "bottom"
    _assert_french_locale(spec)
    _assert_renders(chart, "Revenu moyen par habitant — Liège", "Indice (base 100 = 2016)")


def test_evolution_default_base_is_first_common_period(income_series):
    spec = charts.evolution_chart(income_series, title="Revenu").to_dict()
    assert spec["usermeta"]["mindit"]["base_period"] == 2017  # the first year where all four have a value
    rows = pd.DataFrame(_data(spec, _layers(spec)[0]))
    region = rows[rows["territory"] == "Région wallonne"].set_index("period")["value"]
    assert region[2017] == pytest.approx(100)
    assert region[2018] == pytest.approx(3650 / 36)
    assert spec["usermeta"]["mindit"]["dropped"] == []


def test_evolution_break_and_raw_values(income_series):
    chart = charts.evolution_chart(income_series, title="Population", index=False, unit="hab.",
                                   break_between=(2017, 2016))
    spec = chart.to_dict()
    lines, rule, label = _layers(spec)
    rows = pd.DataFrame(_data(spec, lines))
    assert rows.loc[(rows["territory"] == "Liège") & (rows["period"] == 2018), "value"].item() == 220
    assert lines["encoding"]["y"]["title"] == "Valeur (hab.)"
    assert rule["mark"]["type"] == "rule" and rule["mark"]["strokeDash"]
    assert _data(spec, rule)[0]["period"] == 2016.5
    assert _data(spec, label)[0]["label"] == "rupture de série"
    _assert_renders(chart, "rupture de série", f"1{NBSP}000")  # French thousands on the axis


def test_evolution_missing_values_are_not_drawn_as_zero(income_series):
    series = pd.concat([income_series, pd.DataFrame([{"territory": "Liège", "role": "commune", "period": 2019,
                                                      "value": np.nan}])])
    spec = charts.evolution_chart(series, title="Revenu", base_period=2016).to_dict()
    rows = pd.DataFrame(_data(spec, _layers(spec)[0]))
    assert 2019 not in set(rows["period"])


def test_evolution_rejects_bad_input(income_series):
    with pytest.raises(ValueError, match="value"):
        charts.evolution_chart(income_series.drop(columns="value"), title="x")
    with pytest.raises(ValueError, match="base period 1990"):
        charts.evolution_chart(income_series, title="x", base_period=1990)


# --------------------------------------------------------------------------------------------- pyramid

def _population(total: float, older: float) -> pd.DataFrame:
    ages = np.arange(0, 104)  # a few centenarians above 100
    weights = np.exp(-(((ages - 45) / (38 + older)) ** 2))
    men = np.round(weights / weights.sum() * total * 0.49)
    women = np.round(weights / weights.sum() * total * 0.51 * np.where(ages > 75, 1.3, 1.0))
    return pd.DataFrame({"sex": ["M"] * len(ages) + ["F"] * len(ages), "age": np.r_[ages, ages],
                         "value": np.r_[men, women]})


def test_age_pyramid_shares_and_sides():
    commune = _population(7_900, 0)
    province = _population(1_110_000, 6)
    chart = charts.age_pyramid(commune, title="Amay — pyramide des âges", compare=province,
                               compare_label="Province de Liège")
    spec = chart.to_dict()
    layers = _layers(spec)
    bars = pd.DataFrame(_data(spec, layers[0]))
    assert len(bars) == 2 * 21  # 0–4 … 95–99, 100+ for both sexes
    assert bars["share"].sum() == pytest.approx(100)
    assert (bars.loc[bars["sex"] == "M", "x"] <= 0).all() and (bars.loc[bars["sex"] == "F", "x"] >= 0).all()
    assert set(bars["sex_label"]) == {"Hommes", "Femmes"}
    assert {"0–4", "95–99", "100+"} <= set(bars["group"])
    centenarians = commune.loc[commune["age"] >= 100].groupby("sex")["value"].sum()
    top = bars[bars["group"] == "100+"].set_index("sex")["value"]
    assert top["M"] == centenarians["M"] and top["F"] == centenarians["F"]
    # comparison drawn as a line over the bars, also in shares summing to 100
    outline = layers[-1]
    assert outline["mark"]["type"] == "line"
    points = pd.DataFrame(_data(spec, outline))
    assert points.groupby(["sex", "age"])["x"].first().abs().sum() > 0
    assert points.drop_duplicates(["sex", "order"]).shape[0] == 2 * 21 * 2
    per_group = points[points["order"] % 2 == 0]
    assert per_group["x"].abs().sum() == pytest.approx(100)
    assert outline["encoding"]["color"]["scale"]["domain"] == ["Hommes", "Femmes", "Province de Liège"]
    _assert_french_locale(spec)
    _assert_renders(chart, "Amay — pyramide des âges", "Hommes", "Femmes", "Province de Liège", "Âge")


def test_age_pyramid_without_compare_and_errors():
    frame = _population(3_000, 0)
    chart = charts.age_pyramid(frame, title="Pyramide")
    assert all(layer["mark"]["type"] != "line" for layer in _layers(chart.to_dict()))
    _assert_renders(chart, "Hommes")
    with pytest.raises(ValueError, match="'M' or 'F'"):
        charts.age_pyramid(frame.assign(sex="X"), title="x")
    with pytest.raises(ValueError, match="missing"):
        charts.age_pyramid(frame.assign(value=np.nan), title="x")


# ------------------------------------------------------------------------------------------------ bars

@pytest.fixture
def income_bars() -> pd.DataFrame:
    return pd.DataFrame({
        "territory": ["Amay", "Arrondissement de Huy", "Province de Liège", "Région wallonne"],
        "role": ["commune", "arrondissement", "province", "region"],
        "value": [21345.6, 22010.2, np.nan, 23120.0],
    })


def test_comparison_bars_highlight_and_missing(income_bars):
    chart = charts.comparison_bars(income_bars, title="Revenu médian par déclaration à Liège", unit="€")
    spec = chart.to_dict()
    layers = _layers(spec)
    bars = layers[0]
    assert bars["mark"]["type"] == "bar"
    rows = pd.DataFrame(_data(spec, bars))
    assert "Province de Liège" not in set(rows["territory"])  # no bar of 0 for the missing value
    assert rows.set_index("territory").loc["Amay", "colour"] == charts.HIGHLIGHT
    assert bars["encoding"]["color"]["scale"] is None
    assert bars["encoding"]["y"]["sort"] == income_bars["territory"].tolist()
    labels = {r["territory"]: r["label"] for layer in layers[1:] if layer["mark"]["type"] == "text"
              for r in _data(spec, layer)}
    assert labels["Province de Liège"] == "n.d."
    assert labels["Amay"] == f"21{NBSP}346{NBSP}€"
    assert "n.d." in " ".join(spec["title"]["subtitle"])
    _assert_french_locale(spec)
    svg = _assert_renders(chart, "Revenu médian par déclaration à Liège", "n.d.", f"23{NBSP}120{NBSP}€")
    assert "NaN" not in svg


def test_comparison_bars_negative_values_and_decimals(income_bars):
    frame = income_bars.assign(value=[-1.26, 0.8, np.nan, 2.34])
    chart = charts.comparison_bars(frame, title="Évolution annuelle (%)", unit="%", decimals=1)
    spec = chart.to_dict()
    text_layers = [layer for layer in _layers(spec) if layer["mark"]["type"] == "text"]
    negative = [layer for layer in text_layers if layer["mark"]["align"] == "right"]
    assert [r["label"] for r in _data(spec, negative[0])] == [f"-1,3{NBSP}%"]
    _assert_renders(chart, "Évolution annuelle (%)", "n.d.")


def test_comparison_bars_all_missing_and_duplicates(income_bars):
    chart = charts.comparison_bars(income_bars.assign(value=math.nan), title="Rien")
    spec = chart.to_dict()
    assert _data(spec, _layers(spec)[0]) == []
    _assert_renders(chart, "n.d.")
    with pytest.raises(ValueError, match="unique"):
        charts.comparison_bars(pd.concat([income_bars, income_bars]), title="x")


# ------------------------------------------------------------------------------------------- rendering

def test_display_static(income_bars):
    chart = charts.comparison_bars(income_bars, title="Liège")
    svg = charts.display_static(chart)
    assert isinstance(svg, charts.StaticSVG) and "Liège" in svg.data and svg._repr_svg_() == svg.data
    png = charts.display_static(chart, fmt="png")
    assert isinstance(png, Image) and png.data.startswith(PNG_SIGNATURE)
    with pytest.raises(ValueError, match="fmt"):
        charts.display_static(chart, fmt="pdf")
