"""Shared parts of the dashboards: labels in French or German, choices, offline interactive charts, HTML of the
report blocks, downloads, and the :class:`Dashboard` base class (guarded callbacks, user context).

The pure functions take :class:`~mindit_lib.profile.Figures` and return lists, frames or HTML strings; the
widget classes only wire them. Figures, labels, units, dates and sources come from the catalogue and the
library, like the PDF report.
"""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pandas as pd

from mindit_lib.access import ANONYMOUS, AccessError, UserContext, current_user_context
from mindit_lib.codes import fold_name
from mindit_lib.config import Config, load_config
from mindit_lib.dashboards import safety
from mindit_lib.formatting import format_value
from mindit_lib.indicators import Indicator
from mindit_lib.profile import Figures, figures
from mindit_lib.territories import Territory

#: indicators listed first in every selector (the report's key figures), then the others by label
FIRST_INDICATORS = ("POPULATION_BY_COMMUNE", "DENSITY", "SHARE_AGE_0_14", "SHARE_AGE_15_64", "SHARE_AGE_65_PLUS",
                    "INCOME_PER_INHABITANT")

UI = {
    "commune": {"fr": "Commune", "de": "Gemeinde"},
    "communes": {"fr": "Communes", "de": "Gemeinden"},
    "indicator": {"fr": "Indicateur", "de": "Indikator"},
    "indicators": {"fr": "Indicateurs", "de": "Indikatoren"},
    "year": {"fr": "Année", "de": "Jahr"},
    "level": {"fr": "Niveau", "de": "Ebene"},
    "choose_commune": {"fr": "Choisissez une commune pour afficher son portrait.",
                       "de": "Wählen Sie eine Gemeinde, um ihr Porträt anzuzeigen."},
    "loading": {"fr": "Chargement…", "de": "Wird geladen…"},
    "no_value": {"fr": "Pas de valeur pour cette sélection.", "de": "Kein Wert für diese Auswahl."},
    "arrondissement": {"fr": "Arrondissement", "de": "Bezirk"},
    "province": {"fr": "Province", "de": "Provinz"},
    "region": {"fr": "Région", "de": "Region"},
    "parents": {"fr": "Territoires de référence", "de": "Vergleichsgebiete"},
    "chart_indicator": {"fr": "Graphiques", "de": "Diagramme"},
}


def tr(key: str, lang: str = "fr") -> str:
    """A user-interface string in ``lang`` (French when missing)."""
    entry = UI[key]
    return entry.get(lang) or entry["fr"]


def territory_name(territory: Territory, lang: str = "fr") -> str:
    """The name shown in the dashboards: the report's display name in French (``"Bütgenbach (Butgenbach)"``),
    the German name in German where there is one (``"Lüttich"`` if the table has it, else the French name)."""
    if lang == "de":
        return territory.name_de or territory.name_fr
    return territory.display_name


def indicator_label(ind: Indicator, lang: str = "fr") -> str:
    """Catalogue label in ``lang`` (``label_de`` for German; French when the catalogue has none)."""
    return ind.label(lang)


def province_communes(figs: Figures, province: str) -> list[Territory]:
    """The communes of the configured province, by code."""
    return figs.territories.communes_of(province)


def commune_choices(figs: Figures, province: str, lang: str = "fr") -> list[tuple[str, str]]:
    """``(label, refnis)`` of the province's communes, sorted by label (accents ignored)."""
    pairs = [(territory_name(t, lang), t.refnis) for t in province_communes(figs, province)]
    return sorted(pairs, key=lambda p: fold_name(p[0]))


def has_commune_values(figs: Figures, indicator_id: str, communes: Iterable[str]) -> bool:
    """True when the indicator has at least one published value for one of ``communes``."""
    frame = figs.values(indicator_id)
    return bool(frame[frame["refnis"].isin(set(communes))]["value"].notna().any())


def available_indicators(figs: Figures, communes: Iterable[str]) -> set[str]:
    """The indicators with a value for some of ``communes``, without computing any derived indicator: the periods
    of stored indicators from one query, then the periods a derived one can have from those of its inputs (a
    ratio where numerator and denominator meet, with the denominator's offset or its latest period; a sum where
    every part is; a growth rate where the series has the year and the year ``lag`` before). On the store it
    equals :func:`has_commune_values` over every indicator (tested), in milliseconds instead of computing ~90
    indicators for every territory (seconds, in every dashboard kernel)."""
    stored = figs.store.query("""
        SELECT DISTINCT indicator_id, period FROM observation
        WHERE value IS NOT NULL AND refnis IN (SELECT unnest(?))""", [list(communes)])
    base: dict[str, set[int]] = {}
    for ind_id, period in stored.itertuples(index=False):
        base.setdefault(ind_id, set()).add(int(period))
    cat = figs.catalogue
    memo: dict[str, set[int]] = {}

    def periods(ind_id: str) -> set[int]:
        if ind_id in memo:
            return memo[ind_id]
        ind = cat.indicator(ind_id)
        if ind.kind == "base":
            out = base.get(ind_id, set())
        elif ind.kind == "ratio":
            num, den, out = periods(ind.numerator), ind.denominator, set()
            specs = [den, den.get("fallback") or {}]
            for spec in (x for x in specs if x.get("indicator")):
                have = periods(spec["indicator"])
                if den.get("period") == "latest":
                    out |= num if have else set()
                else:
                    out |= {p for p in num if p + int(spec.get("period_offset", 0)) in have}
        elif ind.kind == "sum":
            out = set.intersection(*(periods(p) for p in ind.parts))
        elif ind.kind == "growth":
            of = periods(ind.of)
            out = {p for p in of if p - ind.lag in of}
        else:
            out = set()
        memo[ind_id] = out
        return out

    return {i for i in cat.indicators if periods(i)}


def indicator_choices(figs: Figures, province: str, lang: str = "fr") -> list[tuple[str, str]]:
    """``(label, id)`` of the indicators that can be shown for the province's communes (no dimensions, at least
    one value): the report's key figures first, then the others by label."""
    key = ("dashboard_indicators", province)
    if key not in figs.memo:
        codes = [t.refnis for t in province_communes(figs, province)]
        available = available_indicators(figs, codes)
        figs.memo[key] = [i.id for i in figs.catalogue.indicators.values() if not i.dimensions and i.id in available]
    ids = figs.memo[key]
    first = [i for i in FIRST_INDICATORS if i in ids]
    rest = sorted((i for i in ids if i not in first),
                  key=lambda i: fold_name(indicator_label(figs.catalogue.indicator(i), lang)))
    return [(indicator_label(figs.catalogue.indicator(i), lang), i) for i in (*first, *rest)]


def published_years(figs: Figures, indicator_id: str, refnis: str) -> list[int]:
    """Years with a published value of the indicator for one territory, oldest first."""
    frame = figs.values(indicator_id)
    rows = frame[(frame["refnis"] == refnis) & frame["value"].notna()]
    return sorted(int(p) for p in rows["period"].unique())


def value_text(figs: Figures, indicator_id: str, refnis: str, year: int | None) -> str:
    """The formatted value (unit, catalogue decimals) of one territory and year, ``"n.d. (…)"`` when missing."""
    ind = figs.catalogue.indicator(indicator_id)
    value, _, status = figs.value(indicator_id, refnis, year)
    return format_value(value, ind.unit_short, ind.decimals, status=status)


def parents_of(figs: Figures, refnis: str) -> list[Territory]:
    """Arrondissement, province and region of a commune (nearest first)."""
    from mindit_lib.profile import PARENT_ROLES

    return [a for a in figs.territories.ancestors(refnis) if a.role in PARENT_ROLES]


# ----------------------------------------------------------------------------------------------- HTML helpers

def e(text: object) -> str:
    """HTML-escape any value."""
    return html.escape(str(text))


def html_of(obj: Any) -> str:
    """HTML for a display object of the report blocks (IPython HTML, the static SVG charts, PNG images)."""
    if obj is None:
        return ""
    if isinstance(obj, str):
        return e(obj)
    if hasattr(obj, "_repr_html_"):
        out = obj._repr_html_()
        return out[0] if isinstance(out, tuple) else (out or "")
    if hasattr(obj, "_repr_svg_"):
        return f'<div class="mindit-chart">{obj._repr_svg_()}</div>'
    if hasattr(obj, "_repr_png_"):
        data = obj._repr_png_()
        data = data[0] if isinstance(data, tuple) else data
        encoded = base64.b64encode(data).decode("ascii") if isinstance(data, bytes) else data
        return f'<img class="mindit-chart" alt="" src="data:image/png;base64,{encoded}">'
    raise TypeError(f"html_of: cannot show a {type(obj).__name__}")


def download_link(data: bytes, filename: str, mime: str, label: str) -> str:
    """An ``<a download>`` link carrying the file as a data URI (no file route on the server is needed, so
    the hub may keep ``/files`` closed to commune users)."""
    encoded = base64.b64encode(data).decode("ascii")
    size = f"{len(data) / 1024:,.0f}".replace(",", "\u00a0")
    return (f'<a class="mindit-download" download="{e(filename)}" href="data:{mime};base64,{encoded}">'
            f"{e(label)}</a> <span class='note'>({e(filename)}, {size}\u00a0ko)</span>")


# ------------------------------------------------------------------------------------------ offline charts

def _bundle_cache_path() -> Path:
    import altair
    import vl_convert

    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mindit"
    return base / f"jupyterchart-{altair.__version__}-vlc{vl_convert.__version__}.js"


def enable_offline_charts() -> None:
    """Interactive Altair charts with no network: the Vega bundle comes from vl-convert (built once and kept in
    ``~/.cache/mindit``: building it takes about 3 s) instead of a CDN."""
    import altair as alt
    from altair import JupyterChart

    alt.renderers.enable("jupyter", offline=True)
    if JupyterChart._is_offline:
        return
    path = _bundle_cache_path()
    try:
        if path.is_file():
            JupyterChart._esm = path.read_text(encoding="utf-8")
            JupyterChart._is_offline = True
            return
    except OSError:
        pass
    JupyterChart.enable_offline(True)
    try:
        from mindit_lib.atomic_files import atomic_write_text

        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, JupyterChart._esm)
    except OSError:
        safety.logger().warning("the offline chart bundle could not be cached at %s", path)


def chart_spec(chart: Any) -> dict:
    """A Vega-Lite spec dict from an Altair chart (or a dict, returned as is)."""
    return chart if isinstance(chart, dict) else chart.to_dict()


def set_spec(chart_widget: Any, spec: dict) -> None:
    """Replace what an interactive chart shows (same parameters and selections), without re-validating."""
    chart_widget.spec = spec


# ------------------------------------------------------------------------------------------ user context

def user_context() -> UserContext:
    """The caller's context from :func:`mindit_lib.access.current_user_context` (server side only); when the
    data service cannot answer, public figures only (logged)."""
    try:
        return current_user_context()
    except AccessError as exc:
        safety.logger().warning("user context unavailable (%s): public figures only", exc)
        return ANONYMOUS


def wait_for_request() -> None:
    """With Voilà's preheated kernels, wait until the page is requested (no-op otherwise)."""
    if os.environ.get("VOILA_PREHEAT", "False") != "True":
        return
    from voila.utils import wait_for_request as _wait

    _wait()


def preheating() -> bool:
    """True in a kernel that Voilà started ahead of any request."""
    return os.environ.get("VOILA_PREHEAT", "False") == "True"


# ------------------------------------------------------------------------------------------ base class

CSS = """<style>
.mindit-dashboard { font-family: "DejaVu Sans", sans-serif; color: #333; max-width: 1100px; }
.mindit-dashboard .mindit-table { border-collapse: collapse; margin: .4em 0; }
.mindit-dashboard .mindit-table th, .mindit-dashboard .mindit-table td { border-bottom: 1px solid #ddd;
  padding: .2em .6em; text-align: left; }
.mindit-dashboard .mindit-table td.num { text-align: right; white-space: nowrap; }
.mindit-dashboard .note { font-size: .85em; color: #555; }
.mindit-value { font-size: 2em; font-weight: bold; color: #c8102e; }
.mindit-highlight { background: #fde7c8; }
</style>"""


class Dashboard:
    """A dashboard: widgets built once over public figures, then the user's context applied.

    Subclasses implement :meth:`build` (return the body widget) and may override :meth:`on_user`
    (after the context and language changed). Every callback is wired through :meth:`on_change` or
    :meth:`guard`, so that an exception shows only the neutral message.
    """

    name = "dashboard"

    def __init__(self, *, config: Config | None = None, figs: Figures | None = None):
        self.config = config or load_config()
        self.figs = figs or figures(self.config)
        self.province = self.config.province
        self.ctx: UserContext = ANONYMOUS
        self.lang = "fr"
        self.status = widgets.HTML(value="", _dom_classes=["mindit-status"])
        self.body = self.build()
        self.root = widgets.VBox([widgets.HTML(CSS), self.status, self.body],
                                 _dom_classes=["mindit-dashboard", f"mindit-{self.name}"])

    # -- to implement
    def build(self) -> widgets.Widget:
        """Create the widgets (public figures, no user yet) and return the body."""
        raise NotImplementedError

    def on_user(self) -> None:
        """Apply :attr:`ctx` and :attr:`lang` (relabel, default commune, private data)."""

    # -- wiring
    def show_error(self, message_html: str) -> None:
        self._errors = getattr(self, "_errors", 0) + 1
        self.status.value = message_html

    def guard(self, fn: Callable[..., Any], where: str) -> Callable[..., Any]:
        """``fn`` wrapped: the fault hook checked, any exception turned neutral; an earlier message is cleared
        when the call (and everything it triggered) succeeded."""
        full = f"{self.name}.{where}"

        def run(*args: Any, **kwargs: Any) -> Any:
            before = getattr(self, "_errors", 0)
            safety.maybe_fault(full, args[0] if args else None)
            result = fn(*args, **kwargs)
            if getattr(self, "_errors", 0) == before:
                self.status.value = ""
            return result

        return safety.guarded(self.show_error, full)(run)

    def on_change(self, widget: widgets.Widget, fn: Callable[[Any], Any], where: str) -> None:
        """Call ``fn(new_value)`` (guarded) when the widget's value changes (not while relabelling)."""
        guarded_fn = self.guard(fn, where)
        widget.observe(lambda change: None if getattr(self, "_quiet", False) else guarded_fn(change["new"]),
                       names="value")

    def relabel(self, dropdown: widgets.Widget, options: list[tuple[str, Any]]) -> None:
        """New option labels, keeping the selected value; no callback runs (the caller refreshes)."""
        if list(dropdown.options) == list(options):
            return
        value = dropdown.value
        values = [v for _, v in options]
        if isinstance(value, tuple):
            value = tuple(v for v in value if v in values)
        elif value not in values:
            value = values[0] if values else None
        self.set_options(dropdown, options, value)

    def set_options(self, dropdown: widgets.Widget, options: list, value: Any) -> None:
        """Replace a selector's options and value without running its callbacks."""
        self._quiet = True
        try:
            dropdown.options = options
            dropdown.value = value
        finally:
            self._quiet = False

    # -- life cycle
    def apply_user(self, ctx: UserContext) -> None:
        """Set the user context (entitled communes, language) and let the dashboard follow it."""
        self.ctx = ctx
        self.lang = ctx.language if ctx.communes else "fr"
        self.on_user()

    def show(self) -> None:
        """Display the dashboard. In the hub (the server's environment names the user) the context is applied
        now; a preheated kernel confirms it in :meth:`start` once the page is requested."""
        from IPython.display import display

        self.guard(lambda: self.apply_user(user_context()), "user")()
        display(self.root)

    def start(self) -> None:
        """After the request (preheated kernels): re-read the user context and apply it if it changed."""
        def confirm() -> None:
            wait_for_request()
            ctx = user_context()
            if ctx != self.ctx:
                self.apply_user(ctx)

        self.guard(confirm, "start")()


def frame_to_html(frame: pd.DataFrame, *, classes: str = "mindit-table", numeric: Iterable[str] = ()) -> str:
    """A plain HTML table (escaped), ``numeric`` columns right-aligned."""
    numeric = set(numeric)
    head = "".join(f"<th>{e(c)}</th>" for c in frame.columns)
    rows = []
    for row in frame.itertuples(index=False):
        cells = "".join(f'<td class="num">{e(v)}</td>' if c in numeric else f"<td>{e(v)}</td>"
                        for c, v in zip(frame.columns, row, strict=True))
        rows.append(f"<tr>{cells}</tr>")
    return f'<table class="{classes}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
