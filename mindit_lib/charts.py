"""Altair chart builders with French labels and number formats, and static rendering (vl-convert).

The builders are pure functions over tidy frames: they never query the store. Every chart carries the
French locale in its Vega-Lite config (``config.locale``: decimal comma, no-break space between
thousands), one palette (the commune in a strong colour, its parents in blues and greys) and renders
offline to SVG/PNG, which is how the PDF reports embed them (no JavaScript, no network).

Charts come back *configured* (``.configure(...)`` applied) so they are ready to render; a configured
chart cannot be layered or concatenated again. Where a builder cannot show something (e.g. a territory
without a value for the base year), it says so in the subtitle and in ``usermeta["mindit"]``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping

import altair as alt
import pandas as pd
import vl_convert as vlc

from mindit_lib.formatting import NBSP, format_value

__all__ = [
    "HIGHLIGHT", "ROLE_COLOURS", "SEX_COLOURS", "FONT", "FR_LOCALE", "ChartLike", "configure_fr",
    "evolution_chart", "age_pyramid", "comparison_bars", "to_svg", "to_png", "display_static",
]

ChartLike = alt.Chart | alt.LayerChart

#: Strong colour of the commune of the report (also used by :mod:`mindit_lib.maps`).
HIGHLIGHT = "#c8102e"
#: One colour per territory role: the commune stands out, its parents recede from blue to grey.
ROLE_COLOURS: dict[str, str] = {
    "commune": HIGHLIGHT,
    "arrondissement": "#1f4e79",
    "province": "#5b8fc7",
    "region": "#7f7f7f",
    "country": "#b3b3b3",
    "peer": "#9ab7d3",
}
OTHER_COLOUR = "#a6a6a6"
#: Pyramid colours (muted, so that the outline of the comparison stays readable on top).
SEX_COLOURS = {"Hommes": "#6f9fd0", "Femmes": "#e8a07a"}
SEX_LABELS = {"M": "Hommes", "F": "Femmes"}
COMPARE_COLOUR = "#1a1a1a"
MISSING_COLOUR = "#767676"
TEXT_COLOUR = "#333333"
#: Fonts available offline on the report machines (DejaVu is in fonts-dejavu-core).
FONT = "DejaVu Sans"
#: Plot width in pixels: with axes and legend the image is about 16 cm wide at 96 dpi.
WIDTH = 520

#: Vega-Lite ``config.locale``: French number format (same no-break space as the prose in
#: :mod:`mindit_lib.formatting`) and French month and day names.
FR_LOCALE: dict[str, dict] = {
    "number": {"decimal": ",", "thousands": NBSP, "grouping": [3], "currency": ["", f"{NBSP}€"],
               "percent": f"{NBSP}%"},
    "time": {
        "dateTime": "%A %e %B %Y à %X", "date": "%d/%m/%Y", "time": "%H:%M:%S", "periods": ["AM", "PM"],
        "days": ["dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"],
        "shortDays": ["dim.", "lun.", "mar.", "mer.", "jeu.", "ven.", "sam."],
        "months": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
                   "octobre", "novembre", "décembre"],
        "shortMonths": ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.",
                        "nov.", "déc."],
    },
}


# --------------------------------------------------------------------------------------------- helpers

def configure_fr(chart: ChartLike) -> ChartLike:
    """Apply the shared look: French locale, font, quiet axes, no frame around the view.

    Parameters
    ----------
    chart : alt.Chart or alt.LayerChart
        An unconfigured chart.

    Returns
    -------
    alt.Chart or alt.LayerChart
        The configured chart (it can no longer be layered or concatenated).
    """
    return (
        chart.configure(locale=FR_LOCALE, font=FONT, background="white")
        .configure_view(stroke=None)
        .configure_axis(labelColor=TEXT_COLOUR, titleColor=TEXT_COLOUR, labelFontSize=11, titleFontSize=11,
                        titleFontWeight="normal", domainColor="#888888", tickColor="#888888",
                        gridColor="#e6e6e6")
        .configure_legend(labelFontSize=11, titleFontSize=11, labelColor=TEXT_COLOUR, orient="bottom",
                          direction="horizontal", symbolStrokeWidth=2.5, labelLimit=0)
        .configure_title(fontSize=14, subtitleFontSize=11, subtitleColor="#555555", anchor="start",
                         color=TEXT_COLOUR, offset=10)
    )


def _title(text: str, notes: Iterable[str] = ()) -> alt.Title:
    notes = [n for n in notes if n]
    return alt.Title(text=text, subtitle=notes) if notes else alt.Title(text=text)


def _require(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what}: the frame lacks column(s) {', '.join(missing)} "
                         f"(has {', '.join(map(str, frame.columns))}).")


def _role_colour(role: object) -> str:
    return ROLE_COLOURS.get(str(role), OTHER_COLOUR)


def _territory_scale(frame: pd.DataFrame) -> alt.Scale:
    """Colour scale over territories (in their order of appearance), coloured by role."""
    pairs = frame.drop_duplicates("territory")[["territory", "role"]]
    return alt.Scale(domain=pairs["territory"].tolist(), range=[_role_colour(r) for r in pairs["role"]])


def _js_string(text: str) -> str:
    """A string literal for a Vega expression (quotes and apostrophes escaped)."""
    return json.dumps(str(text))


def _commune_names(frame: pd.DataFrame) -> list[str]:
    return frame.loc[frame["role"] == "commune", "territory"].drop_duplicates().tolist()


def _bold_labels(names: list[str]) -> alt.ExprRef | str:
    """Axis ``labelFontWeight``: bold for the commune's name."""
    if not names:
        return "normal"
    test = " || ".join(f"datum.value === {_js_string(n)}" for n in names)
    return alt.ExprRef(expr=f"({test}) ? 'bold' : 'normal'")


# ------------------------------------------------------------------------------------------- evolution

def _default_base(series: pd.DataFrame) -> int:
    """First period where every territory has a value; else the commune's first period; else the first."""
    territories = series["territory"].nunique()
    counts = series.groupby("period")["territory"].nunique()
    complete = counts[counts == territories]
    if len(complete):
        return int(complete.index.min())
    commune = series.loc[series["role"] == "commune", "period"]
    return int(commune.min() if len(commune) else series["period"].min())


def evolution_chart(series: pd.DataFrame, *, title: str, base_period: int | None = None, index: bool = True,
                    unit: str = "", break_between: tuple[int, int] | None = None,
                    break_label: str = "rupture de série", height: int = 260) -> ChartLike:
    """Lines with points: one indicator over time for a commune and its parents.

    Parameters
    ----------
    series : pd.DataFrame
        Columns ``territory`` (display name), ``role`` (``"commune"``, ``"arrondissement"``,
        ``"province"``, ``"region"``; other roles are drawn in grey), ``period`` (int year) and ``value``
        (float; missing values are rows with NaN and are not drawn). Territories keep their order of
        appearance in the legend.
    title : str
        Chart title.
    base_period : int, optional
        Year rebased to 100 when ``index`` is true. Default: the first period where every territory has
        a value. Territories without a value for that year are dropped and named in the subtitle.
    index : bool, default True
        Rebase each territory's series to 100 at ``base_period``; otherwise draw the values themselves.
    unit : str, optional
        Unit shown in the axis title and tooltips when ``index`` is false (e.g. ``"hab."``, ``"€"``).
    break_between : (int, int), optional
        Two consecutive years between which the series breaks (method change): a dashed vertical rule
        labelled ``break_label`` (default « rupture de série ») is drawn between them.
    break_label : str
        Text beside that rule (e.g. « changement de source » when the definition does not change).
    height : int, default 260
        Plot height in pixels (smaller for the short theme sections of the report).

    Returns
    -------
    alt.Chart or alt.LayerChart
        Configured chart. ``chart.to_dict()["usermeta"]["mindit"]`` holds ``base_period`` and
        ``dropped`` (territories left out for lack of a base value).

    Raises
    ------
    ValueError
        If columns are missing, there is no value at all, or ``base_period`` has no value at all.
    """
    _require(series, ("territory", "role", "period", "value"), "evolution_chart")
    data = series[["territory", "role", "period", "value"]].copy()
    data["period"] = pd.to_numeric(data["period"]).astype(int)
    data["value"] = pd.to_numeric(data["value"], errors="coerce").astype(float)
    data = data.dropna(subset=["value"])
    if data.empty:
        raise ValueError("evolution_chart: no value to draw (every value is missing).")
    notes: list[str] = []
    meta: dict[str, object] = {"index": index, "dropped": []}

    if index:
        base = int(base_period) if base_period is not None else _default_base(data)
        base_values = data[data["period"] == base].drop_duplicates("territory").set_index("territory")["value"]
        base_values = base_values[base_values != 0]
        if base_values.empty:
            raise ValueError(f"evolution_chart: no territory has a (non-zero) value for the base period {base}.")
        dropped = [t for t in data["territory"].drop_duplicates() if t not in base_values.index]
        data = data[data["territory"].isin(base_values.index)].copy()
        data["value"] = data["value"] / data["territory"].map(base_values) * 100
        if dropped:
            notes.append(f"Sans valeur pour {base}, donc non représenté(s) : {', '.join(dropped)}.")
        meta.update(base_period=base, dropped=dropped)
        y_title = f"Indice (base 100 = {base})"
        y_format, axis_format = ",.1f", ",~f"
    else:
        meta["base_period"] = None
        y_title = f"Valeur ({unit})" if unit else "Valeur"
        y_format = ",.0f" if data["value"].abs().max() >= 100 else ",.1f"
        axis_format = y_format

    value_title = "Indice" if index else (f"Valeur ({unit})" if unit else "Valeur")
    periods = sorted(data["period"].unique())
    x = alt.X("period:Q", title=None, scale=alt.Scale(domain=[periods[0], periods[-1]], nice=False, padding=10),
              axis=alt.Axis(format="d", values=periods if len(periods) <= 12 else alt.Undefined,
                            tickMinStep=1, labelFlush=True, grid=False))
    lines = alt.Chart(data).mark_line(point=alt.OverlayMarkDef(size=30, filled=True), strokeWidth=2).encode(
        x=x,
        y=alt.Y("value:Q", title=y_title, scale=alt.Scale(zero=False), axis=alt.Axis(format=axis_format)),
        color=alt.Color("territory:N", scale=_territory_scale(data), sort=None,
                        legend=alt.Legend(title=None, orient="bottom", columns=4)),
        strokeWidth=alt.condition(alt.datum.role == "commune", alt.value(3), alt.value(1.8)),
        tooltip=[alt.Tooltip("territory:N", title="Territoire"), alt.Tooltip("period:Q", title="Année"),
                 alt.Tooltip("value:Q", title=value_title, format=y_format)],
    )
    layers: list[alt.Chart] = [lines]
    if break_between is not None:
        first, second = sorted(int(y) for y in break_between)
        where = pd.DataFrame({"period": [(first + second) / 2], "label": [break_label]})
        rule = alt.Chart(where).mark_rule(strokeDash=[4, 3], color="#555555", strokeWidth=1).encode(x="period:Q")
        label = alt.Chart(where).mark_text(align="left", baseline="top", dx=4, dy=2, fontSize=10,
                                           fontStyle="italic", color="#555555").encode(
            x="period:Q", y=alt.value(0), text="label:N")
        layers += [rule, label]
        meta["break_between"] = [first, second]
    chart = alt.layer(*layers) if len(layers) > 1 else lines
    chart = chart.properties(title=_title(title, notes), width=WIDTH, height=height, usermeta={"mindit": meta})
    return configure_fr(chart)


# --------------------------------------------------------------------------------------------- pyramid

def _age_groups(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    """Shares (% of both sexes) by 5-year group: columns sex, group, age_start, age_end, share, value."""
    _require(frame, ("sex", "age", "value"), what)
    data = frame[["sex", "age", "value"]].copy()
    data["sex"] = data["sex"].astype(str).str.upper()
    unknown = sorted(set(data["sex"]) - set(SEX_LABELS))
    if unknown:
        raise ValueError(f"{what}: sex must be 'M' or 'F', got {unknown}.")
    data["age"] = pd.to_numeric(data["age"]).astype(int)
    if (data["age"] < 0).any():
        raise ValueError(f"{what}: negative ages.")
    data["value"] = pd.to_numeric(data["value"], errors="coerce").astype(float)
    if data["value"].isna().any():
        raise ValueError(f"{what}: some counts are missing; a pyramid needs every age and sex.")
    total = data["value"].sum()
    if not total > 0:
        raise ValueError(f"{what}: the total population is zero.")
    data["age_start"] = (data["age"].clip(upper=100) // 5) * 5
    grouped = data.groupby(["sex", "age_start"], as_index=False)["value"].sum()
    full = pd.MultiIndex.from_product([["M", "F"], range(0, 101, 5)], names=["sex", "age_start"])
    grouped = grouped.set_index(["sex", "age_start"]).reindex(full, fill_value=0.0).reset_index()
    grouped["age_end"] = grouped["age_start"] + 5
    grouped["group"] = [f"{a}–{a + 4}" if a < 100 else "100+" for a in grouped["age_start"]]
    grouped["share"] = grouped["value"] / total * 100
    grouped["sex_label"] = grouped["sex"].map(SEX_LABELS)
    grouped["x"] = grouped["share"].where(grouped["sex"] == "F", -grouped["share"])
    return grouped


def _outline(groups: pd.DataFrame) -> pd.DataFrame:
    """Points of a step outline (one vertical segment per age group and sex)."""
    rows = []
    for sex, part in groups.sort_values("age_start").groupby("sex", sort=False):
        for r in part.itertuples():
            rows.append({"sex": sex, "x": r.x, "age": r.age_start, "order": 2 * r.age_start})
            rows.append({"sex": sex, "x": r.x, "age": r.age_end, "order": 2 * r.age_start + 1})
    return pd.DataFrame(rows)


def age_pyramid(frame: pd.DataFrame, *, title: str, compare: pd.DataFrame | None = None,
                compare_label: str = "Comparaison") -> ChartLike:
    """Age pyramid in shares of the total population, by 5-year age group.

    Parameters
    ----------
    frame : pd.DataFrame
        Columns ``sex`` (``"M"``/``"F"``), ``age`` (int, single years 0..100; 100 and over are one
        group) and ``value`` (count). Ages absent from the frame count as zero; missing counts raise.
    title : str
        Chart title.
    compare : pd.DataFrame, optional
        Same columns for a reference territory (e.g. the province), drawn as a dark step outline over
        the bars: both are in shares, so a small commune compares with a large province.
    compare_label : str, optional
        Legend label of the outline, e.g. ``"Province de Liège"``.

    Returns
    -------
    alt.LayerChart
        Configured chart: men on the left (negative shares), women on the right; the shares of the
        bars sum to 100 over both sexes.
    """
    groups = _age_groups(frame, "age_pyramid")
    layers_frames = [groups]
    compare_groups = None
    if compare is not None:
        compare_groups = _age_groups(compare, "age_pyramid (compare)")
        layers_frames.append(compare_groups)
    top = max(f["share"].max() for f in layers_frames)
    step = 1.0 if top > 2 else 0.5
    limit = math.ceil(top / step) * step
    legend_domain = ["Hommes", "Femmes"] + ([compare_label] if compare_groups is not None else [])
    legend_range = [SEX_COLOURS["Hommes"], SEX_COLOURS["Femmes"]] + (
        [COMPARE_COLOUR] if compare_groups is not None else [])
    colour = alt.Color("sex_label:N", scale=alt.Scale(domain=legend_domain, range=legend_range),
                       legend=alt.Legend(title=None, orient="bottom", symbolType="square"))
    x = alt.X("x:Q", title="Part de la population totale (%)",
              scale=alt.Scale(domain=[-limit, limit], nice=False),
              axis=alt.Axis(labelExpr="format(abs(datum.value), ',.1~f')", tickCount=8, grid=True))
    y = alt.Y("age_start:Q", title="Âge", scale=alt.Scale(domain=[0, 105], nice=False),
              axis=alt.Axis(values=list(range(0, 101, 10)), grid=False))
    bars = alt.Chart(groups).mark_rect(stroke="white", strokeWidth=0.5).encode(
        x=x, x2=alt.X2(datum=0), y=y, y2="age_end:Q", color=colour,
        tooltip=[alt.Tooltip("sex_label:N", title="Sexe"), alt.Tooltip("group:N", title="Âge"),
                 alt.Tooltip("share:Q", title="Part (%)", format=",.2f"),
                 alt.Tooltip("value:Q", title="Effectif", format=",.0f")],
    )
    zero = alt.Chart(pd.DataFrame({"x": [0]})).mark_rule(color="#888888", strokeWidth=0.8).encode(x="x:Q")
    sides = pd.DataFrame({"x": [-limit, limit], "label": ["Hommes", "Femmes"], "align": ["left", "right"]})
    side_labels = [
        alt.Chart(sides.iloc[[i]]).mark_text(align=align, baseline="top", dx=3 if i == 0 else -3, dy=2,
                                             fontSize=12, fontWeight="bold", color=TEXT_COLOUR)
        .encode(x="x:Q", y=alt.value(0), text="label:N")
        for i, align in enumerate(("left", "right"))
    ]
    layers: list[alt.Chart] = [bars, zero, *side_labels]
    if compare_groups is not None:
        outline = _outline(compare_groups).assign(sex_label=compare_label)
        layers.append(alt.Chart(outline).mark_line(interpolate="linear", strokeWidth=1.4, orient="vertical")
                      .encode(x="x:Q", y="age:Q", order="order:Q", detail="sex:N", color=colour))
    notes = [f"Trait : {compare_label}, en part de sa population."] if compare_groups is not None else []
    chart = alt.layer(*layers).properties(title=_title(title, notes), width=WIDTH, height=330)
    return configure_fr(chart)


# ------------------------------------------------------------------------------------------------ bars

def comparison_bars(frame: pd.DataFrame, *, title: str, unit: str = "", decimals: int = 0) -> ChartLike:
    """Horizontal bars comparing one value across territories, the commune highlighted.

    Parameters
    ----------
    frame : pd.DataFrame
        Columns ``territory`` (display name, unique), ``role`` (``"commune"``, ``"arrondissement"``,
        ``"province"``, ``"region"``, ``"peer"``…) and ``value`` (float; NaN when not available).
        Rows are drawn in the given order, top to bottom.
    title : str
        Chart title.
    unit : str, optional
        Short unit appended to the value labels (``"%"``, ``"€"``, ``"hab./km²"``).
    decimals : int, default 0
        Decimals of the value labels.

    Returns
    -------
    alt.LayerChart
        Configured chart. A row whose value is missing has no bar (never a bar of 0) and the text
        « n.d. » instead of a value.
    """
    _require(frame, ("territory", "role", "value"), "comparison_bars")
    data = frame[["territory", "role", "value"]].copy()
    data["territory"] = data["territory"].astype(str)
    if data["territory"].duplicated().any():
        dupes = sorted(set(data.loc[data["territory"].duplicated(), "territory"]))
        raise ValueError(f"comparison_bars: territory names must be unique, repeated: {', '.join(dupes)}.")
    data["value"] = pd.to_numeric(data["value"], errors="coerce").astype(float)
    missing = data["value"].isna()
    data["colour"] = [_role_colour(r) for r in data["role"]]
    data["label"] = [format_value(v, unit, decimals) if not m else "n.d."
                     for v, m in zip(data["value"], missing, strict=True)]
    data["pos"] = data["value"].fillna(0.0)
    order = data["territory"].tolist()
    shown = data.loc[~missing, "value"]
    low, high = (min(0.0, shown.min()), max(0.0, shown.max())) if len(shown) else (0.0, 1.0)
    span = (high - low) or 1.0
    domain = [low - (0.22 * span if low < 0 else 0), high + (0.22 * span if high > 0 else 0)]

    y = alt.Y("territory:N", sort=order, title=None,
              axis=alt.Axis(labelFontWeight=_bold_labels(_commune_names(data)), labelLimit=220, ticks=False,
                            domain=False, labelPadding=6))
    x = alt.X("pos:Q", title=None, axis=None, scale=alt.Scale(domain=domain, nice=False))
    bars = alt.Chart(data[~missing]).mark_bar(height={"band": 0.72}).encode(
        x=x, y=y, color=alt.Color("colour:N", scale=None),
        tooltip=[alt.Tooltip("territory:N", title="Territoire"), alt.Tooltip("label:N", title="Valeur")],
    )
    layers: list[alt.Chart] = [bars]
    data["layer"] = ["nd" if m else ("neg" if v < 0 else "pos") for v, m in zip(data["pos"], missing, strict=True)]
    text_styles = {"pos": ("left", 4, "normal", TEXT_COLOUR), "neg": ("right", -4, "normal", TEXT_COLOUR),
                   "nd": ("left", 4, "italic", MISSING_COLOUR)}
    for layer, (align, dx, style, colour) in text_styles.items():
        rows = data[data["layer"] == layer]
        if not rows.empty:
            layers.append(alt.Chart(rows).mark_text(align=align, baseline="middle", dx=dx, fontSize=11,
                                                    fontStyle=style, color=colour)
                          .encode(x=x, y=y, text="label:N"))
    if low < 0:
        layers.append(alt.Chart(pd.DataFrame({"pos": [0.0]})).mark_rule(color="#888888").encode(x=x))
    notes = ["n.d. : non disponible."] if missing.any() else []
    chart = alt.layer(*layers).properties(title=_title(title, notes), width=WIDTH - 120,
                                          height=alt.Step(24))
    return configure_fr(chart)


# ------------------------------------------------------------------------------------------- rendering

def _spec(chart: ChartLike | Mapping) -> dict:
    # the builders' specs are checked by the tests (to_dict validates there); validating every report chart
    # against the Vega-Lite JSON schema again costs about as much as drawing it
    return dict(chart) if isinstance(chart, Mapping) else chart.to_dict(validate=False)


def _vl_version() -> str:
    major, minor = alt.SCHEMA_VERSION.lstrip("v").split(".")[:2]
    return f"{major}.{minor}"


def to_svg(chart: ChartLike | Mapping) -> str:
    """Render a chart (or a Vega-Lite spec dict) to SVG text, offline.

    Remote data is refused (``allowed_base_urls=[]``): charts carry their data inline.
    """
    return vlc.vegalite_to_svg(_spec(chart), vl_version=_vl_version(), allowed_base_urls=[])


def to_png(chart: ChartLike | Mapping, scale: float = 2) -> bytes:
    """Render a chart (or a Vega-Lite spec dict) to PNG bytes, offline; ``scale=2`` suits print at A4."""
    return vlc.vegalite_to_png(_spec(chart), vl_version=_vl_version(), scale=scale, allowed_base_urls=[])


class StaticSVG:
    """An SVG for notebooks and reports, shown as is (``IPython.display.SVG`` re-parses the whole document
    with minidom, which costs more than drawing a chart)."""

    def __init__(self, data: str):
        self.data = data

    def _repr_svg_(self) -> str:
        return self.data


def display_static(chart: ChartLike | Mapping, fmt: str = "svg"):
    """A static display object (SVG or PNG) for notebooks and the PDF reports.

    Parameters
    ----------
    chart : alt.Chart, alt.LayerChart or dict
        The chart to show.
    fmt : {"svg", "png"}
        Output format. PNG is safer for WeasyPrint (it drops SVG gradients).

    Returns
    -------
    StaticSVG or IPython.display.Image
        Both have ``.data`` (SVG text or PNG bytes).
    """
    from IPython.display import Image

    if fmt == "svg":
        return StaticSVG(to_svg(chart))
    if fmt == "png":
        return Image(data=to_png(chart), format="png")
    raise ValueError(f"display_static: fmt must be 'svg' or 'png', got {fmt!r}.")
