"""*Évolutions*: an indicator over time for a commune and its parents, the largest year-to-year changes of the
commune highlighted on the chart and listed with the parents' change over the same years."""

from __future__ import annotations

import ipywidgets as widgets
import pandas as pd

from mindit_lib.dashboards import common
from mindit_lib.dashboards.common import tr
from mindit_lib.dashboards.ma_commune import mark_years
from mindit_lib.formatting import format_change, format_value
from mindit_lib.profile import Figures, Profile, profile

TOP_CHANGES = 3


def yearly_changes(series: pd.DataFrame) -> pd.DataFrame:
    """Changes between consecutive published years of each territory.

    Parameters
    ----------
    series : DataFrame
        ``refnis, territory, role, period, value`` (e.g. :meth:`Profile.series`).

    Returns
    -------
    DataFrame
        ``refnis, territory, role, start, end, value_start, value_end, change, change_pct`` (``change_pct`` in
        percent; NaN when the start value is 0).
    """
    data = series.dropna(subset=["value"]).sort_values(["refnis", "period"])
    parts = []
    for _, part in data.groupby("refnis", sort=False):
        prev = part.shift(1)
        frame = pd.DataFrame({"refnis": part["refnis"], "territory": part["territory"], "role": part["role"],
                              "start": prev["period"], "end": part["period"], "value_start": prev["value"],
                              "value_end": part["value"]}).dropna(subset=["start"])
        parts.append(frame)
    if not parts:
        return pd.DataFrame(columns=["refnis", "territory", "role", "start", "end", "value_start", "value_end",
                                     "change", "change_pct"])
    out = pd.concat(parts, ignore_index=True)
    out["start"] = out["start"].astype(int)
    out["end"] = out["end"].astype(int)
    out["change"] = out["value_end"] - out["value_start"]
    base = out["value_start"].where(out["value_start"] != 0)
    out["change_pct"] = out["change"] / base.abs() * 100
    return out


def largest_changes(series: pd.DataFrame, refnis: str, n: int = TOP_CHANGES) -> pd.DataFrame:
    """The commune's ``n`` largest year-to-year changes in relative terms (absolute value), largest first, each
    with the parents' change over the same years (columns ``change_pct_<refnis>``)."""
    changes = yearly_changes(series)
    own = changes[changes["refnis"] == refnis].copy()
    own = own.assign(_size=own["change_pct"].abs().fillna(own["change"].abs()))
    top = own.sort_values("_size", ascending=False).head(n).drop(columns="_size").reset_index(drop=True)
    for code in [c for c in series["refnis"].drop_duplicates() if c != refnis]:
        other = changes[changes["refnis"] == code].set_index(["start", "end"])["change_pct"]
        top[f"change_pct_{code}"] = [other.get((s, t)) for s, t in zip(top["start"], top["end"], strict=True)]
    return top


def changes_table(prof: Profile, indicator_id: str, top: pd.DataFrame, lang: str = "fr") -> pd.DataFrame:
    """The largest changes as a shown table: period, values, change (unit) and change in % for the commune, then
    the parents' change in %."""
    ind = prof.catalogue.indicator(indicator_id)
    table = pd.DataFrame({
        "Période" if lang == "fr" else "Zeitraum": [f"{s} → {t}"
                                                    for s, t in zip(top["start"], top["end"], strict=True)],
        "Valeur" if lang == "fr" else "Wert": [f"{format_value(a, ind.unit_short, ind.decimals)} → "
                                               f"{format_value(b, ind.unit_short, ind.decimals)}"
                                               for a, b in zip(top["value_start"], top["value_end"], strict=True)],
        common.territory_name(prof.commune, lang): [format_change(v) for v in top["change_pct"]],
    })
    for parent in prof.parents:
        column = f"change_pct_{parent.refnis}"
        if column in top and top[column].notna().any():
            table[common.territory_name(parent, lang)] = [format_change(v) for v in top[column]]
    return table


def evolution_spec(prof: Profile, indicator_id: str, top: pd.DataFrame, lang: str = "fr") -> dict:
    """The indicator's evolution (commune vs parents, :func:`mindit_lib.charts.evolution_chart`) with the
    largest changes shaded."""
    from mindit_lib import charts

    ind = prof.catalogue.indicator(indicator_id)
    series = prof.series(indicator_id).dropna(subset=["value"])
    names = {t.refnis: common.territory_name(t, lang) for t in prof.territories}
    series = series.assign(territory=series["refnis"].map(names))
    brk = ind.series_breaks[0] if ind.series_breaks else {}
    chart = charts.evolution_chart(series[["territory", "role", "period", "value"]],
                                   title=common.indicator_label(ind, lang), index=False, unit=ind.unit_short,
                                   break_between=tuple(brk["between"]) if brk else None,
                                   break_label=brk.get("label_fr", "rupture de série"))
    return mark_years(chart.to_dict(), list(zip(top["start"], top["end"], strict=True)))


def evolution_indicators(figs: Figures, province: str, lang: str = "fr") -> list[tuple[str, str]]:
    """Indicators with at least two years for the province's communes (a single census year has no evolution)."""
    key = ("dashboard_evolution_indicators", province)
    if key not in figs.memo:
        codes = {t.refnis for t in common.province_communes(figs, province)}
        keep = []
        for _label, ind_id in common.indicator_choices(figs, province):
            frame = figs.values(ind_id)
            if frame[frame["refnis"].isin(codes) & frame["value"].notna()]["period"].nunique() >= 2:
                keep.append(ind_id)
        figs.memo[key] = keep
    keep = set(figs.memo[key])
    return [(label, i) for label, i in common.indicator_choices(figs, province, lang) if i in keep]


class Evolutions(common.Dashboard):
    """The *Évolutions* dashboard."""

    name = "evolutions"

    def build(self) -> widgets.Widget:
        lang = self.lang
        choices = common.commune_choices(self.figs, self.province, lang)
        self.commune = widgets.Dropdown(options=choices, value=choices[0][1], description=tr("commune", lang),
                                        _dom_classes=["mindit-commune"])
        self.indicator = widgets.Dropdown(options=evolution_indicators(self.figs, self.province, lang),
                                          value="POPULATION_BY_COMMUNE", description=tr("indicator", lang),
                                          layout=widgets.Layout(width="40em"), _dom_classes=["mindit-indicator"])
        common.enable_offline_charts()
        from altair import JupyterChart

        self.chart = JupyterChart(None, embed_options={"actions": False})
        self.chart.add_class("mindit-evolution-chart")
        self.table = widgets.HTML("", _dom_classes=["mindit-changes"])
        self.on_change(self.commune, lambda _v: self.refresh(), "commune")
        self.on_change(self.indicator, lambda _v: self.refresh(), "indicator")
        self.guard(self.refresh, "first")()
        return widgets.VBox([widgets.HBox([self.commune, self.indicator]), self.chart, self.table])

    def refresh(self) -> None:
        prof = profile(self.commune.value, figures_=self.figs)
        ind_id = self.indicator.value
        series = prof.series(ind_id)
        series = series.assign(territory=series["refnis"].map(
            {t.refnis: common.territory_name(t, self.lang) for t in prof.territories}))
        top = largest_changes(series, prof.commune.refnis)
        common.set_spec(self.chart, evolution_spec(prof, ind_id, top, self.lang))
        heading = ("Plus fortes variations d'une année à l'autre" if self.lang == "fr"
                   else "Größte Veränderungen von Jahr zu Jahr")
        self.table.value = (f"<h3>{heading}</h3>"
                            + common.frame_to_html(changes_table(prof, ind_id, top, self.lang),
                                                   classes="mindit-table mindit-highlight-table"))

    def on_user(self) -> None:
        lang = self.lang
        self.commune.description = tr("commune", lang)
        self.indicator.description = tr("indicator", lang)
        self.relabel(self.commune, common.commune_choices(self.figs, self.province, lang))
        self.relabel(self.indicator, evolution_indicators(self.figs, self.province, lang))
        own = self.ctx.default_commune
        if own and self.commune.value != own:
            self.commune.value = own
        else:
            self.refresh()


DASHBOARD_CLASS = Evolutions
