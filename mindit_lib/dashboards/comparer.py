"""*Comparer*: chosen communes, their parents and chosen indicators — a time series, bars for one year and a
table of the latest values, all from :mod:`mindit_lib.charts` and the catalogue."""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as widgets
import pandas as pd

from mindit_lib.dashboards import common
from mindit_lib.dashboards.common import e, tr
from mindit_lib.profile import Figures

#: colours of the compared communes beyond the first (which keeps the report's highlight colour)
PEER_COLOURS = ("#2a9d8f", "#e9a23b", "#8e5ea2", "#3b7dd8", "#6a994e", "#bc4b51", "#5c677d", "#d17a22")
PARENT_ROLES = ("arrondissement", "province", "region")
DEFAULT_INDICATORS = ("POPULATION_BY_COMMUNE", "INCOME_PER_INHABITANT")


@dataclass(frozen=True)
class Place:
    """A territory in a comparison: code, shown name, role (``commune`` for the first commune, ``peer`` for the
    other communes, else the parent's role)."""

    refnis: str
    name: str
    role: str


def comparison_places(figs: Figures, communes: list[str] | tuple[str, ...], parents: set[str],
                      lang: str = "fr") -> list[Place]:
    """The chosen communes in order, then the parents asked for (``arrondissement``, ``province``, ``region``):
    each arrondissement of a chosen commune once, the province and region once."""
    places = [Place(c, common.territory_name(figs.territories.get(c), lang), "commune" if i == 0 else "peer")
              for i, c in enumerate(communes)]
    seen = set(communes)
    for code in communes:
        for parent in common.parents_of(figs, code):
            if parent.role in parents and parent.refnis not in seen:
                seen.add(parent.refnis)
                places.append(Place(parent.refnis, common.territory_name(parent, lang), parent.role))
    return places


def comparison_series(figs: Figures, indicator_id: str, places: list[Place]) -> pd.DataFrame:
    """Published values of the indicator for the places: ``refnis, territory, role, period, value``."""
    frame = figs.values(indicator_id)
    order = {p.refnis: i for i, p in enumerate(places)}
    out = frame[frame["refnis"].isin(order) & frame["value"].notna()].copy()
    out["territory"] = out["refnis"].map({p.refnis: p.name for p in places})
    out["role"] = out["refnis"].map({p.refnis: p.role for p in places})
    out["_o"] = out["refnis"].map(order)
    out = out.sort_values(["_o", "period"]).drop(columns="_o")
    return out[["refnis", "territory", "role", "period", "value"]].reset_index(drop=True)


def comparison_year(figs: Figures, indicator_id: str, places: list[Place]) -> int | None:
    """The year compared in bars and table: the first commune's latest published year."""
    years = common.published_years(figs, indicator_id, places[0].refnis) if places else []
    return years[-1] if years else None


def comparison_table(figs: Figures, indicator_ids: list[str] | tuple[str, ...], places: list[Place],
                     lang: str = "fr") -> pd.DataFrame:
    """One row per place, one column per indicator (label and reference date), formatted values."""
    table = pd.DataFrame({"Territoire" if lang == "fr" else "Gebiet": [p.name for p in places]})
    for ind_id in indicator_ids:
        ind = figs.catalogue.indicator(ind_id)
        year = comparison_year(figs, ind_id, places)
        when = ind.reference_date_text(year) if year is not None else "n.d."
        table[f"{common.indicator_label(ind, lang)} ({when})"] = [
            common.value_text(figs, ind_id, p.refnis, year) if year is not None else "n.d." for p in places]
    return table


def place_colours(places: list[Place]) -> dict[str, str]:
    """Territory name → colour: the first commune in the report's highlight, other communes in distinct colours,
    parents in their role colour."""
    from mindit_lib.charts import ROLE_COLOURS

    colours, peers = {}, iter(PEER_COLOURS * 4)
    for p in places:
        colours[p.name] = ROLE_COLOURS["commune"] if p.role == "commune" else (
            next(peers) if p.role == "peer" else ROLE_COLOURS.get(p.role, "#999999"))
    return colours


def recolour(spec: object, colours: dict[str, str]) -> object:
    """Replace the territory colour scale of a spec (every ``color`` on the ``territory`` field)."""
    if isinstance(spec, dict):
        out = {k: recolour(v, colours) for k, v in spec.items()}
        color = out.get("color")
        if isinstance(color, dict) and color.get("field") == "territory" and "scale" in color:
            domain = [t for t in color["scale"].get("domain", colours) if t in colours]
            out["color"] = {**color, "scale": {"domain": domain, "range": [colours[t] for t in domain]}}
        return out
    if isinstance(spec, list):
        return [recolour(v, colours) for v in spec]
    return spec


def series_spec(figs: Figures, indicator_id: str, places: list[Place], lang: str = "fr") -> dict:
    """Time series of the places (:func:`mindit_lib.charts.evolution_chart`, in the indicator's unit)."""
    from mindit_lib import charts

    ind = figs.catalogue.indicator(indicator_id)
    series = comparison_series(figs, indicator_id, places)
    if series.empty or series["period"].nunique() < 2:
        return bars_spec(figs, indicator_id, places, lang)
    chart = charts.evolution_chart(series[["territory", "role", "period", "value"]],
                                   title=common.indicator_label(ind, lang), index=False, unit=ind.unit_short)
    return recolour(chart.to_dict(), place_colours(places))


def bars_spec(figs: Figures, indicator_id: str, places: list[Place], lang: str = "fr") -> dict:
    """Bars for the compared year (:func:`mindit_lib.charts.comparison_bars`; n.d. where no value)."""
    from mindit_lib import charts

    ind = figs.catalogue.indicator(indicator_id)
    year = comparison_year(figs, indicator_id, places)
    rows = pd.DataFrame({"territory": [p.name for p in places], "role": [p.role for p in places],
                         "value": [figs.value(indicator_id, p.refnis, year)[0] if year else None for p in places]})
    when = ind.reference_date_text(year) if year else "n.d."
    return charts.comparison_bars(rows, title=f"{common.indicator_label(ind, lang)} — {when}", unit=ind.unit_short,
                                  decimals=ind.decimals).to_dict()


class Comparer(common.Dashboard):
    """The *Comparer* dashboard."""

    name = "comparer"

    def build(self) -> widgets.Widget:
        lang = self.lang
        choices = common.commune_choices(self.figs, self.province, lang)
        first = self.figs.territories.communes_of(self.province)
        start = tuple(t.refnis for t in sorted(first, key=lambda t: -(self.figs.value(
            "POPULATION_BY_COMMUNE", t.refnis)[0] or 0))[:2])
        self.communes = widgets.SelectMultiple(options=choices, value=start, rows=8,
                                               description=tr("communes", lang), _dom_classes=["mindit-communes"])
        self.parent_boxes = {role: widgets.Checkbox(value=role != "region", description=tr(role, lang),
                                                    indent=False, _dom_classes=[f"mindit-parent-{role}"])
                             for role in PARENT_ROLES}
        indicators = common.indicator_choices(self.figs, self.province, lang)
        self.indicators = widgets.SelectMultiple(
            options=indicators, value=tuple(i for i in DEFAULT_INDICATORS if i in dict(indicators).values()), rows=8,
            description=tr("indicators", lang), layout=widgets.Layout(width="40em"),
            _dom_classes=["mindit-indicators"])
        self.focus = widgets.Dropdown(options=[], description=tr("chart_indicator", lang),
                                      layout=widgets.Layout(width="40em"), _dom_classes=["mindit-focus"])
        common.enable_offline_charts()
        from altair import JupyterChart

        self.series_chart = JupyterChart(None, embed_options={"actions": False})
        self.series_chart.add_class("mindit-series-chart")
        self.bars_chart = JupyterChart(None, embed_options={"actions": False})
        self.bars_chart.add_class("mindit-bars-chart")
        self.table = widgets.HTML("", _dom_classes=["mindit-compare-table"])
        for w, where in ((self.communes, "communes"), (self.indicators, "indicators"),
                         *((box, f"parent_{role}") for role, box in self.parent_boxes.items())):
            self.on_change(w, lambda _v: self.refresh(), where)
        self.on_change(self.focus, lambda _v: self.refresh_charts(), "focus")
        self.guard(self.refresh, "first")()
        parents = widgets.VBox([widgets.HTML(f"<strong>{e(tr('parents', lang))}</strong>"),
                                *self.parent_boxes.values()])
        return widgets.VBox([widgets.HBox([self.communes, parents]), self.indicators, self.focus,
                             self.series_chart, self.bars_chart, self.table])

    def places(self) -> list[Place]:
        parents = {role for role, box in self.parent_boxes.items() if box.value}
        return comparison_places(self.figs, list(self.communes.value), parents, self.lang)

    def refresh(self) -> None:
        chosen = list(self.indicators.value)
        options = [(label, i) for label, i in self.indicators.options if i in chosen]
        current = self.focus.value
        self.set_options(self.focus, options, current if current in chosen else (chosen[0] if chosen else None))
        places = self.places()
        self.table.value = (common.frame_to_html(comparison_table(self.figs, chosen, places, self.lang))
                            if places and chosen else "")
        self.refresh_charts()

    def refresh_charts(self) -> None:
        places, ind_id = self.places(), self.focus.value
        if not places or not ind_id:
            common.set_spec(self.series_chart, None)
            common.set_spec(self.bars_chart, None)
            return
        common.set_spec(self.series_chart, series_spec(self.figs, ind_id, places, self.lang))
        common.set_spec(self.bars_chart, bars_spec(self.figs, ind_id, places, self.lang))

    def on_user(self) -> None:
        lang = self.lang
        self.relabel(self.communes, common.commune_choices(self.figs, self.province, lang))
        self.relabel(self.indicators, common.indicator_choices(self.figs, self.province, lang))
        for role, box in self.parent_boxes.items():
            box.description = tr(role, lang)
        own = self.ctx.default_commune
        if own and own in dict((v, k) for k, v in self.communes.options) and own not in self.communes.value:
            self.communes.value = (own, *self.communes.value[:1])
        else:
            self.refresh()


DASHBOARD_CLASS = Comparer
