"""*Carte*: a choropleth of any indicator over the province's communes or arrondissements (values on hover); a
click on a territory shows its key figures (the report's table for a commune)."""

from __future__ import annotations

import ipywidgets as widgets
import pandas as pd

from mindit_lib.dashboards import common
from mindit_lib.dashboards.common import e, tr
from mindit_lib.profile import Figures

SELECTION = "choix"
#: display simplification of the shapes (metres): under a pixel on a 700 px map of the province
TOLERANCE_M = 150
LEVELS = {5: {"fr": "Communes", "de": "Gemeinden"}, 4: {"fr": "Arrondissements", "de": "Bezirke"}}
MISSING_FILL = "#e0e0e0"


def map_layers(figs: Figures, province: str) -> dict[int, list[dict]]:
    """GeoJSON features (``refnis``, ``name`` properties, simplified, EPSG:4326) of the province's communes
    (level 5) and arrondissements (level 4); prepared once per store content (Figures memo)."""
    key = ("dashboard_map_layers", province)
    if key not in figs.memo:
        from mindit_lib import maps

        communes = figs.territories.communes_of(province)
        names = {t.refnis: t.display_name for t in communes}
        arr_codes = {t.parent_refnis for t in communes}
        names.update({c: figs.territories.get(c).display_name for c in arr_codes})
        shapes5 = figs.store.geometry("statbel2011", 5)
        shapes4 = figs.store.geometry("statbel2011", 4)
        shapes3 = figs.store.geometry("statbel2011", 3)
        shapes5 = maps.simplify_for_display(shapes5[shapes5["refnis"].isin(names)], TOLERANCE_M)
        shapes4 = maps.simplify_for_display(shapes4[shapes4["refnis"].isin(arr_codes)], TOLERANCE_M)
        shapes3 = maps.simplify_for_display(shapes3[shapes3["refnis"] == province], TOLERANCE_M)
        base = maps.locator_base(shapes5.assign(name=shapes5["refnis"].map(names)),
                                 shapes4.assign(name=shapes4["refnis"].map(names)), shapes3)
        figs.memo[key] = {5: base.commune_features, 4: base.arrondissement_features}
    return figs.memo[key]


def level_territories(figs: Figures, province: str, level: int) -> list:
    """The province's communes (5) or arrondissements (4)."""
    communes = figs.territories.communes_of(province)
    if level == 5:
        return communes
    codes = sorted({t.parent_refnis for t in communes})
    return [figs.territories.get(c) for c in codes]


def map_years(figs: Figures, indicator_id: str, province: str, level: int) -> list[int]:
    """Years with at least one published value at that level in the province."""
    codes = {t.refnis for t in level_territories(figs, province, level)}
    frame = figs.values(indicator_id)
    rows = frame[frame["refnis"].isin(codes) & frame["value"].notna()]
    return sorted(int(p) for p in rows["period"].unique())


def map_values(figs: Figures, indicator_id: str, province: str, level: int, year: int | None,
               lang: str = "fr") -> pd.DataFrame:
    """``refnis, name, value, text`` of every territory of the level for ``year`` (NaN and ``n.d. (…)`` when
    not available)."""
    ind = figs.catalogue.indicator(indicator_id)
    rows = []
    for t in level_territories(figs, province, level):
        value, _, _status = figs.value(indicator_id, t.refnis, year) if year is not None else (None, None, None)
        rows.append({"refnis": t.refnis, "name": common.territory_name(t, lang),
                     "value": float("nan") if value is None else value,
                     "text": common.value_text(figs, indicator_id, t.refnis, year) if year is not None else "n.d."})
    frame = pd.DataFrame(rows)
    frame.attrs["unit"] = ind.unit_short
    return frame


def choropleth_spec(features: list[dict], values: pd.DataFrame, *, title: str, legend: str,
                    width: int = 640) -> dict:
    """A Vega-Lite choropleth (Mercator) over GeoJSON ``features`` joined on ``refnis`` to ``values``
    (``refnis, name, value, text``): a sequential colour scale, grey where no value, the value in the tooltip,
    a click selection ``choix`` on ``refnis`` (read back by the dashboard)."""
    import altair as alt

    from mindit_lib.charts import HIGHLIGHT, configure_fr

    lookup = values[["refnis", "value", "text"]].copy()
    lookup["value"] = lookup["value"].astype(float).where(lookup["value"].notna(), None)
    pick = alt.selection_point(name=SELECTION, fields=["refnis"], on="click", clear="dblclick", empty=False)
    chart = (
        alt.Chart(alt.NamedData(name="mindit_shapes"))
        .mark_geoshape(stroke="white", strokeWidth=0.6)
        .transform_calculate(refnis="datum.properties.refnis", name="datum.properties.name")
        .transform_lookup(lookup="refnis", from_=alt.LookupData(alt.InlineData(values=lookup.to_dict("records")),
                                                               key="refnis", fields=["value", "text"]))
        .encode(
            color=alt.condition("isValid(datum.value)", alt.Color("value:Q", title=legend,
                                                                   scale=alt.Scale(scheme="blues")),
                                alt.value(MISSING_FILL)),
            stroke=alt.condition(pick, alt.value(HIGHLIGHT), alt.value("white")),
            strokeWidth=alt.condition(pick, alt.value(2.5), alt.value(0.6)),
            tooltip=[alt.Tooltip("name:N", title="Territoire"), alt.Tooltip("text:N", title="Valeur")],
        )
        .add_params(pick)
        .project(type="mercator")
        .properties(title=title, width=width, height=round(width * 0.62))
    )
    spec = configure_fr(chart).to_dict()
    spec.setdefault("datasets", {})["mindit_shapes"] = features
    return spec


def territory_panel(figs: Figures, refnis: str, lang: str = "fr") -> str:
    """HTML shown for a clicked territory: a commune's key figures (the report's table), an arrondissement's
    name with the commune count."""
    territory = figs.territories.get(refnis)
    name = e(common.territory_name(territory, lang))
    if territory.level == 5:
        from mindit_lib import sections
        from mindit_lib.profile import profile

        table = common.html_of(sections.key_figures(profile(refnis, figures_=figs)))
        return f'<div class="mindit-map-panel" data-refnis="{e(refnis)}"><h3>{name}</h3>{table}</div>'
    count = len(figs.territories.communes_of(refnis))
    return (f'<div class="mindit-map-panel" data-refnis="{e(refnis)}"><h3>{name}</h3>'
            f"<p>{count} communes.</p></div>")


class Carte(common.Dashboard):
    """The *Carte* dashboard."""

    name = "carte"

    def build(self) -> widgets.Widget:
        lang = self.lang
        self.indicator = widgets.Dropdown(options=common.indicator_choices(self.figs, self.province, lang),
                                          value="POPULATION_BY_COMMUNE", description=tr("indicator", lang),
                                          layout=widgets.Layout(width="40em"), _dom_classes=["mindit-indicator"])
        self.level = widgets.ToggleButtons(options=[(v[lang], k) for k, v in LEVELS.items()], value=5,
                                           _dom_classes=["mindit-level"])
        self.year = widgets.Dropdown(options=[], description=tr("year", lang), _dom_classes=["mindit-year"])
        self.panel = widgets.HTML("", _dom_classes=["mindit-map-panel-box"])
        common.enable_offline_charts()
        from altair import JupyterChart

        map_layers(self.figs, self.province)
        self.map = JupyterChart(self._spec_chart(), embed_options={"actions": False})
        self.map.add_class("mindit-map")
        self.on_change(self.indicator, lambda _v: self.refresh(reset_year=True), "indicator")
        self.on_change(self.level, lambda _v: self.refresh(reset_year=True), "level")
        self.on_change(self.year, lambda _v: self.refresh(), "year")
        clicked = self.guard(self.show_selection, "click")
        self.map.selections.observe(lambda change: clicked(change["new"]), names=[SELECTION])
        self.guard(lambda: self.refresh(reset_year=True), "first")()
        return widgets.VBox([widgets.HBox([self.indicator, self.level, self.year]),
                             widgets.HBox([self.map, self.panel])])

    def _spec_chart(self):
        """The first chart (an Altair chart, so that the widget registers the click selection)."""
        import altair as alt

        spec = choropleth_spec(map_layers(self.figs, self.province)[5],
                               map_values(self.figs, "POPULATION_BY_COMMUNE", self.province, 5, None, self.lang),
                               title="", legend="")
        return alt.Chart.from_dict(spec, validate=False)

    def refresh(self, reset_year: bool = False) -> None:
        ind_id, level = self.indicator.value, self.level.value
        if reset_year:
            years = map_years(self.figs, ind_id, self.province, level)
            self.set_options(self.year, years, years[-1] if years else None)
        year = self.year.value
        ind = self.figs.catalogue.indicator(ind_id)
        values = map_values(self.figs, ind_id, self.province, level, year, self.lang)
        when = ind.reference_date_text(year) if year is not None else "n.d."
        spec = choropleth_spec(map_layers(self.figs, self.province)[level], values,
                               title=f"{common.indicator_label(ind, self.lang)} — {when}", legend=ind.unit_short)
        common.set_spec(self.map, spec)

    def show_selection(self, selection) -> None:
        chosen = [row.get("refnis") for row in (getattr(selection, "value", None) or []) if row.get("refnis")]
        self.panel.value = territory_panel(self.figs, chosen[0], self.lang) if chosen else ""

    def on_user(self) -> None:
        lang = self.lang
        self.indicator.description = tr("indicator", lang)
        self.year.description = tr("year", lang)
        self.relabel(self.indicator, common.indicator_choices(self.figs, self.province, lang))
        own = self.ctx.default_commune
        if own:
            self.panel.value = territory_panel(self.figs, own, lang)
        self.refresh()


DASHBOARD_CLASS = Carte
