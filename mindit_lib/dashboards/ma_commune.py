"""*Ma commune*: the commune's portrait (the same blocks and words as the PDF), an indicator explorer (indicator
and year selectors, value, parents, interactive chart), downloads (data with metadata, latest PDF report) and
the commune's private datasets for the people entitled to them.

One source with the PDF: the portrait is the report notebook itself (``notebooks/reports/commune_profile.ipynb``),
its markdown prose and its calls to :mod:`mindit_lib.sections`, run here for the chosen commune — whatever
the report shows, the dashboard shows.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pandas as pd

from mindit_lib import access
from mindit_lib.config import REPO_ROOT
from mindit_lib.dashboards import common
from mindit_lib.dashboards.common import e, tr
from mindit_lib.formatting import compare_phrase
from mindit_lib.profile import Figures, Profile, profile

REPORT_NOTEBOOK = REPO_ROOT / "notebooks" / "reports" / "commune_profile.ipynb"
#: statuses of a manifest entry whose PDF was published
PUBLISHED = ("ok", "skipped")
DEFAULT_INDICATOR = "POPULATION_BY_COMMUNE"


# --------------------------------------------------------------------------------------------- the portrait

@dataclass(frozen=True)
class ReportCell:
    """One cell of the report notebook: ``kind`` is ``"markdown"`` (then ``text`` is HTML) or ``"code"``."""

    kind: str
    text: str


@lru_cache(maxsize=4)
def _report_cells(path: str, mtime: float) -> tuple[ReportCell, ...]:
    import mistune
    import nbformat

    nb = nbformat.read(path, as_version=4)
    cells = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cells.append(ReportCell("markdown", mistune.html(cell.source)))
        elif cell.cell_type == "code" and "parameters" not in cell.metadata.get("tags", []):
            cells.append(ReportCell("code", cell.source))
    return tuple(cells)


def report_cells(path: str | Path = REPORT_NOTEBOOK) -> tuple[ReportCell, ...]:
    """The report notebook's cells without its ``parameters`` cell (markdown rendered to HTML; cached until the
    notebook changes)."""
    path = Path(path)
    return _report_cells(str(path), path.stat().st_mtime)


@contextlib.contextmanager
def _collect_displays() -> Iterator[list[Any]]:
    """Within the block, ``IPython.display.display(obj)`` appends ``obj`` to the yielded list."""
    import IPython.display

    shown: list[Any] = []
    original = IPython.display.display

    def collect(*objs: Any, **_: Any) -> None:
        shown.extend(objs)

    IPython.display.display = collect
    try:
        yield shown
    finally:
        IPython.display.display = original


def portrait_html(refnis: str, cells: tuple[ReportCell, ...] | None = None) -> str:
    """The report's content for one commune as HTML: its prose and the outputs of its calls, in order.

    The report's code cells run with ``refnis`` bound, as papermill runs them for the PDF.
    """
    cells = cells if cells is not None else report_cells()
    namespace: dict[str, Any] = {"refnis": refnis, "__name__": "mindit_portrait"}
    parts = []
    with _collect_displays() as shown:
        for cell in cells:
            if cell.kind == "markdown":
                parts.append(cell.text)
                continue
            exec(compile(cell.text, "<rapport>", "exec"), namespace)  # noqa: S102 — the repository's own report
            parts.extend(common.html_of(obj) for obj in shown)
            shown.clear()
    return f'<div class="mindit-portrait">{"".join(parts)}</div>'


# --------------------------------------------------------------------------------------------- explorer

def explorer_rows(prof: Profile, indicator_id: str, year: int | None, lang: str = "fr") -> pd.DataFrame:
    """The chosen indicator for the commune and its parents in ``year`` (latest when None): ``territory,
    role, refnis, period, value, status, text``."""
    rows = prof.latest(indicator_id, period=year)
    names = {t.refnis: common.territory_name(t, lang) for t in prof.territories}
    rows["territory"] = rows["refnis"].map(names)
    return rows


def explorer_html(prof: Profile, indicator_id: str, year: int | None, lang: str = "fr") -> str:
    """The value card: the commune's value (``.mindit-value``), its reference date, a plain comparison with the
    province, the parents' values the same year and the source line (same words as the report)."""

    ind = prof.catalogue.indicator(indicator_id)
    rows = explorer_rows(prof, indicator_id, year, lang)
    own = rows.iloc[0]
    period = own["period"]
    when = ind.reference_date_text(int(period)) if period is not None and not pd.isna(period) else ""
    phrase = ""
    province = rows[rows["role"] == "province"]
    if lang == "fr" and not province.empty and ind.aggregation != "sum":  # a count compared with a province: no
        phrase = compare_phrase(own["value"], province["value"].iloc[0], "la province")
    parents = "".join(f"<tr><th scope='row'>{e(r.territory)}</th><td class='num'>{e(r.text)}</td></tr>"
                      for r in rows.iloc[1:].itertuples() if not str(r.text).startswith("n.d.") or r.role != "region")
    return (f'<div class="mindit-explorer" data-indicator="{e(indicator_id)}" data-year="{e(period)}">'
            f"<p><strong>{e(common.indicator_label(ind, lang))}</strong> — {e(own['territory'])}, {e(when)}</p>"
            f'<p class="mindit-value" data-refnis="{e(own["refnis"])}">{e(own["text"])}</p>'
            + (f"<p>{e(phrase.capitalize())}.</p>" if phrase else "")
            + f'<table class="mindit-table"><tbody>{parents}</tbody></table>'
            f'<p class="note">{e(prof.catalogue.citation(indicator_id))}</p></div>')


def explorer_chart(prof: Profile, indicator_id: str, year: int | None, lang: str = "fr") -> dict:
    """The indicator's evolution (commune vs parents, in the indicator's unit) with the chosen year marked:
    a Vega-Lite spec from :func:`mindit_lib.charts.evolution_chart`."""
    from mindit_lib import charts

    ind = prof.catalogue.indicator(indicator_id)
    series = prof.series(indicator_id).dropna(subset=["value"])
    names = {t.refnis: common.territory_name(t, lang) for t in prof.territories}
    series = series.assign(territory=series["refnis"].map(names))
    if series["period"].nunique() < 2:
        return bars_spec(prof, indicator_id, year, lang)
    brk = ind.series_breaks[0] if ind.series_breaks else {}
    chart = charts.evolution_chart(series[["territory", "role", "period", "value"]],
                                   title=common.indicator_label(ind, lang), index=False, unit=ind.unit_short,
                                   break_between=tuple(brk["between"]) if brk else None,
                                   break_label=brk.get("label_fr", "rupture de série"))
    spec = chart.to_dict()
    if year is not None:
        spec = mark_years(spec, [(year, year)])
    return spec


def bars_spec(prof: Profile, indicator_id: str, year: int | None, lang: str = "fr") -> dict:
    """One year only (e.g. the 2021 census): bars commune vs parents (:func:`mindit_lib.charts.comparison_bars`)."""
    from mindit_lib import charts

    ind = prof.catalogue.indicator(indicator_id)
    rows = explorer_rows(prof, indicator_id, year, lang)
    return charts.comparison_bars(rows[["territory", "role", "value"]], title=common.indicator_label(ind, lang),
                                  unit=ind.unit_short, decimals=ind.decimals).to_dict()


def mark_years(spec: dict, spans: list[tuple[float, float]], *, colour: str = "#f5b041") -> dict:
    """Add shaded bands behind an evolution chart's lines (``(start, end)`` periods; a single year is a thin
    band around it). Returns a new spec."""
    spec = json.loads(json.dumps(spec))
    if "layer" not in spec:
        inner = {k: spec.pop(k) for k in ("mark", "encoding", "transform") if k in spec}
        spec["layer"] = [inner]
    rows = [{"start": a - (0.3 if a == b else 0), "end": b + (0.3 if a == b else 0)} for a, b in spans]
    # the band uses the lines' x scale (their explicit domain): with a scale of its own, Vega-Lite would merge
    # a domain starting at 0 into the shared axis and squeeze the years into its right edge
    lines_x = next((layer["encoding"]["x"] for layer in spec["layer"]
                    if isinstance(layer.get("encoding", {}).get("x"), dict)), {})
    x = {"field": "start", "type": "quantitative", "title": None}
    x["scale"] = dict(lines_x.get("scale") or {"zero": False})
    band = {"data": {"values": rows}, "mark": {"type": "rect", "color": colour, "opacity": 0.25},
            "encoding": {"x": x, "x2": {"field": "end"}}}
    spec["layer"] = [band, *spec["layer"]]
    return spec


# --------------------------------------------------------------------------------------------- downloads

def latest_report(output_dir: str | Path, refnis: str) -> Path | None:
    """The commune's most recent published PDF among the report editions of ``output_dir``.

    Reads ``<output_dir>/<edition>/manifest.json``; editions are ordered by run date then data vintage
    (``donnees-<vintage>_<run date>``); an entry counts when its status is ``ok`` or ``skipped`` and the
    PDF exists. None when there is none.
    """
    root = Path(output_dir)
    candidates = []
    for manifest in root.glob("*/manifest.json"):
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for entry in data.get("communes", []):
            if entry.get("refnis") != refnis or entry.get("status") not in PUBLISHED or not entry.get("pdf"):
                continue
            pdf = Path(entry["pdf"])
            pdf = pdf if pdf.is_absolute() else manifest.parent / pdf
            if pdf.is_file():
                edition = str(data.get("edition") or manifest.parent.name)
                match = re.match(r"^donnees-(\d{4}-\d{2}-\d{2})_(\d{4}-\d{2}-\d{2})$", edition)
                key = (match.group(2), match.group(1)) if match else ("", edition)
                candidates.append((key, entry.get("finished") or "", pdf))
    if not candidates:
        return None
    return max(candidates, key=lambda c: (c[0], c[1]))[2]


def commune_export(figs: Figures, refnis: str, fmt: str, export_date: date | None = None) -> tuple[str, bytes]:
    """``(file name, bytes)`` of the commune's data with metadata, through :mod:`mindit_lib.exports`: ``xlsx``
    (a « Métadonnées » sheet) or ``csv`` (a zip holding the CSV and its CSVW metadata)."""
    from mindit_lib.exports import export_commune

    with tempfile.TemporaryDirectory(prefix="mindit-export-") as tmp:
        paths = export_commune(figs, refnis, fmt=fmt, out=tmp, export_date=export_date)
        if fmt == "xlsx":
            return paths[0].name, paths[0].read_bytes()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in paths:
                archive.write(path, path.name)
        return paths[0].with_suffix(".zip").name, buffer.getvalue()


# --------------------------------------------------------------------------------------------- private data

def private_data_html(refnis: str, ctx: access.UserContext) -> str:
    """The commune's private datasets (name, rows, date) for an entitled user, read through the data service;
    a neutral French sentence when the service refuses or cannot answer; empty when not entitled."""
    if not ctx.may_read_private(refnis):
        return ""
    try:
        datasets = access.list_private_datasets(refnis)
    except access.AccessError as exc:
        return f'<p class="note mindit-private-error">{e(exc)}</p>'
    if not datasets:
        return "<p class='note'>Aucune donnée privée n'a encore été déposée pour cette commune.</p>"
    rows = [{"Jeu de données": d.get("name", ""), "Lignes": d.get("rows", ""), "Ajouté le": d.get("added", "")}
            for d in datasets]
    return common.frame_to_html(pd.DataFrame(rows), numeric=["Lignes"])


def private_dataset_preview(refnis: str, name: str, max_rows: int = 20) -> tuple[str, bytes]:
    """``(HTML preview of the first rows, the exact bytes)`` of one private dataset; an AccessError's message
    (French, safe) instead of the preview when refused."""
    try:
        data = access.read_private_dataset(refnis, name)
    except access.AccessError as exc:
        return f'<p class="note mindit-private-error">{e(exc)}</p>', b""
    frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, sep=None, engine="python",
                        nrows=max_rows)
    return common.frame_to_html(frame), data


# --------------------------------------------------------------------------------------------- widgets

class MaCommune(common.Dashboard):
    """The *Ma commune* dashboard."""

    name = "ma_commune"

    def build(self) -> widgets.Widget:
        lang = self.lang
        self.commune = widgets.Dropdown(options=common.commune_choices(self.figs, self.province, lang), value=None,
                                        description=tr("commune", lang), _dom_classes=["mindit-commune"])
        self.indicator = widgets.Dropdown(options=common.indicator_choices(self.figs, self.province, lang),
                                          value=DEFAULT_INDICATOR, description=tr("indicator", lang),
                                          layout=widgets.Layout(width="40em"), _dom_classes=["mindit-indicator"])
        self.year = widgets.Dropdown(options=[], description=tr("year", lang), _dom_classes=["mindit-year"])
        self.value = widgets.HTML(f"<p class='note'>{e(tr('choose_commune', lang))}</p>")
        common.enable_offline_charts()
        from altair import JupyterChart

        self.chart = JupyterChart(None, embed_options={"actions": False})
        self.chart.add_class("mindit-explorer-chart")
        self.downloads = widgets.HTML("")
        self.buttons = []
        for fmt, label in (("xlsx", "Données (Excel)"), ("csv", "Données (CSV)"), ("pdf", "Rapport PDF")):
            button = widgets.Button(description=label, icon="download", _dom_classes=[f"mindit-dl-{fmt}"])
            guarded = self.guard(lambda fmt=fmt: self.prepare_download(fmt), f"download_{fmt}")
            button.on_click(lambda _b, run=guarded: run())
            self.buttons.append(button)
        self.private = widgets.HTML("", _dom_classes=["mindit-private"])
        self.portrait = widgets.HTML("", _dom_classes=["mindit-portrait-box"])
        self.on_change(self.commune, self.show_commune, "commune")
        self.on_change(self.indicator, lambda _v: self.update_explorer(reset_year=True), "indicator")
        self.on_change(self.year, lambda _v: self.update_explorer(), "year")
        self.explorer = widgets.VBox([widgets.HBox([self.indicator, self.year]), self.value, self.chart])
        self._prof: Profile | None = None
        return widgets.VBox([self.commune, self.explorer, widgets.HBox(self.buttons), self.downloads, self.private,
                             self.portrait])

    def show(self) -> None:
        """Display, with the user's commune already shown (its portrait computed in the pre-heated kernel).
        A pre-heated kernel of a person without a commune of their own (province, analysts) draws one portrait
        ahead instead, so that the first-use costs (charts, shapes, figures) are paid before the request."""
        super().show()
        if common.preheating() and self._prof is None:
            self.guard(lambda: portrait_html(common.province_communes(self.figs, self.province)[0].refnis),
                       "warm_up")()

    # -- reactions
    def show_commune(self, refnis: str | None) -> None:
        self.downloads.value = ""
        if not refnis:
            self._prof = None
            return
        self._prof = profile(refnis, figures_=self.figs)
        self.update_explorer(reset_year=True)
        self.private.value = private_data_html(refnis, self.ctx)
        self.portrait.value = portrait_html(refnis)

    def update_explorer(self, reset_year: bool = False) -> None:
        if self._prof is None:
            return
        ind_id = self.indicator.value
        if reset_year:
            years = common.published_years(self.figs, ind_id, self._prof.commune.refnis)
            self.set_options(self.year, years, years[-1] if years else None)
        year = self.year.value
        self.value.value = explorer_html(self._prof, ind_id, year, self.lang)
        common.set_spec(self.chart, explorer_chart(self._prof, ind_id, year, self.lang))

    def prepare_download(self, fmt: str) -> None:
        refnis = self.commune.value
        if not refnis:
            self.downloads.value = f"<p class='note'>{e(tr('choose_commune', self.lang))}</p>"
            return
        if fmt == "pdf":
            pdf = latest_report(self.config.output_dir, refnis)
            if pdf is None:
                self.downloads.value = ("<p class='note mindit-no-report'>Aucun rapport PDF n'a encore été publié "
                                        "pour cette commune.</p>")
                return
            self.downloads.value = common.download_link(pdf.read_bytes(), pdf.name, "application/pdf",
                                                        "Télécharger le dernier rapport")
            return
        name, data = commune_export(self.figs, refnis, fmt)
        mime = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" if fmt == "xlsx"
                else "application/zip")
        self.downloads.value = common.download_link(data, name, mime, "Télécharger les données")

    def on_user(self) -> None:
        lang = self.lang
        self.commune.description = tr("commune", lang)
        self.indicator.description = tr("indicator", lang)
        self.year.description = tr("year", lang)
        self.relabel(self.commune, common.commune_choices(self.figs, self.province, lang))
        self.relabel(self.indicator, common.indicator_choices(self.figs, self.province, lang))
        default = self.ctx.default_commune
        if default and default in [v for _, v in self.commune.options]:
            if self.commune.value == default:
                self.show_commune(default)  # same commune, new user: private data and labels follow
            else:
                self.commune.value = default
        elif self._prof is not None:
            self.show_commune(self.commune.value)


DASHBOARD_CLASS = MaCommune
