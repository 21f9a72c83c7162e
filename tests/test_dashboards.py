"""Dashboards: the pure functions on real figures, the safety net, the private-data panel against a stand-in data
service, and the four notebooks executed with nbclient (outputs asserted)."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import nbformat
import pytest

from mindit_lib import access
from mindit_lib.config import REPO_ROOT
from mindit_lib.dashboards import DASHBOARDS, carte, common, comparer, evolutions, ma_commune, safety
from mindit_lib.formatting import format_value
from mindit_lib.profile import profile
from tests.conftest import read_csv_rows

DASHBOARD_DIR = REPO_ROOT / "notebooks" / "dashboards"
NBSP = "\u00a0"


def raw_population(data_dir: Path, code: str, year: int, indicator: str = "POPULATION_BY_COMMUNE") -> float:
    rows = read_csv_rows(data_dir / "compiled" / "population_observations.csv")
    [row] = [r for r in rows if r["indicator_id"] == indicator and r["geo_id"] == f"be:mun:{code}"
             and r["period"] == str(year)]
    return float(row["value"])


@pytest.fixture(scope="module")
def liege(figures):
    return profile("62063", figures_=figures)


# ------------------------------------------------------------------------------------------ Ma commune logic

def test_explorer_shows_the_raw_population_and_follows_year_and_indicator(liege, data_dir):
    assert raw_population(data_dir, "62063", 2026) == 198102
    html_2026 = ma_commune.explorer_html(liege, "POPULATION_BY_COMMUNE", 2026)
    assert re.search(r'class="mindit-value"[^>]*>198\u00a0102\u00a0hab\.<', html_2026)
    expected_2020 = format_value(raw_population(data_dir, "62063", 2020), "hab.", 0)
    assert f">{expected_2020}<" in ma_commune.explorer_html(liege, "POPULATION_BY_COMMUNE", 2020)
    share = raw_population(data_dir, "62063", 2026, "POPULATION_AGE_0_14") / 198102 * 100
    html_share = ma_commune.explorer_html(liege, "SHARE_AGE_0_14", 2026)
    assert f">{format_value(share, '%', 1)}<" in html_share
    assert "au 1er janvier 2026" in html_share and "Province de Liège" in html_share


def x_axis_range(spec: dict) -> str:
    """The x axis of the chart as Vega draws it (its accessible description in the SVG)."""
    import vl_convert

    svg = vl_convert.vegalite_to_svg(spec)
    return re.search(r'aria-label="X-axis for a linear scale with values from ([^"]+)"', svg).group(1)


def test_explorer_chart_is_the_library_evolution_chart_with_the_year_marked(liege):
    spec = ma_commune.explorer_chart(liege, "POPULATION_BY_COMMUNE", 2020)
    band = spec["layer"][0]
    assert band["mark"]["type"] == "rect" and band["data"]["values"] == [{"start": 2019.7, "end": 2020.3}]
    assert spec["title"]["text"] == "Population"
    assert spec["config"]["locale"]["number"]["decimal"] == ","  # the report's French locale
    # the marked year keeps the lines' axis: 2009–2026 (population series), not 0–2026
    assert x_axis_range(spec) == "2009 to 2026"
    assert x_axis_range(ma_commune.explorer_chart(liege, "POPULATION_BY_COMMUNE", None)) == "2009 to 2026"
    one_year = ma_commune.explorer_chart(liege, "CENSUS_UNEMPLOYMENT_RATE", None)  # a single census year: bars
    assert "Taux de chômage" in json.dumps(one_year, ensure_ascii=False)


def test_available_indicators_equal_the_computed_ones(figures):
    codes = [t.refnis for t in figures.territories.communes_of("60000")]
    plain = [i for i, ind in figures.catalogue.indicators.items() if not ind.dimensions]
    exact = {i for i in plain if common.has_commune_values(figures, i, codes)}
    assert common.available_indicators(figures, codes) & set(plain) == exact
    assert {"DENSITY", "POPULATION_GROWTH_10Y", "INCOME_PER_INHABITANT", "FISCAL_NBR_DECLARATIONS"} <= exact
    assert "KBO_ENTERPRISES_ACTIVE" not in exact  # not in `observation`: shown by the economy section only


def test_german_labels_for_german_speaking_users(figures):
    butgenbach = profile("63013", figures_=figures)
    html_de = ma_commune.explorer_html(butgenbach, "POPULATION_BY_COMMUNE", None, lang="de")
    assert "<strong>Bevölkerung</strong> — Bütgenbach," in html_de
    labels = dict((v, k) for k, v in common.indicator_choices(figures, "60000", "de"))
    assert labels["DENSITY"] == figures.catalogue.indicator("DENSITY").label_de
    names = dict((v, k) for k, v in common.commune_choices(figures, "60000", "de"))
    assert names["63013"] == "Bütgenbach" and names["62063"] == "Liège"
    assert access.UserContext("b", frozenset({"commune-63013"})).language == "de"


def test_portrait_is_the_report_notebook_for_the_chosen_commune(figures, config, monkeypatch):
    monkeypatch.setenv("MINDIT_STORE", str(config.store_path))  # the report's cells read the configured store
    cells = ma_commune.report_cells()
    report = nbformat.read(ma_commune.REPORT_NOTEBOOK, as_version=4)
    titles = [line for c in report.cells if c.cell_type == "markdown" for line in c.source.splitlines()
              if line.startswith("## ")]
    html = ma_commune.portrait_html("63013", cells)
    for title in titles:
        assert f"<h2>{title[3:]}</h2>" in html
    assert "Portrait de commune — <span class=\"nowrap\">Bütgenbach (Butgenbach)</span>" in html
    assert html.count("<svg") >= 4  # the report's static charts and map
    assert "refnis = " not in html  # the parameters cell is not shown


def test_latest_report_reads_the_manifests(tmp_path):
    def edition(name: str, entries: list[dict]) -> None:
        folder = tmp_path / name
        folder.mkdir()
        (folder / "manifest.json").write_text(json.dumps({"edition": name, "communes": entries}), encoding="utf-8")
        for e in entries:
            if e.get("pdf") and e["status"] != "missing":
                (folder / e["pdf"]).write_bytes(b"%PDF-1.7 " + name.encode())

    edition("donnees-2025-01-01_2026-03-01", [{"refnis": "62063", "status": "ok", "pdf": "62063_liege.pdf"}])
    edition("donnees-2026-01-01_2026-12-03", [{"refnis": "62063", "status": "ok", "pdf": "62063_liege.pdf"},
                                               {"refnis": "62096", "status": "notebook_error", "pdf": "x.pdf"}])
    assert ma_commune.latest_report(tmp_path, "62063") == tmp_path / "donnees-2026-01-01_2026-12-03" / "62063_liege.pdf"
    assert ma_commune.latest_report(tmp_path, "62096") is None  # failed: never offered
    assert ma_commune.latest_report(tmp_path / "nothing", "62063") is None


def test_commune_export_carries_metadata(figures):
    import io
    import zipfile

    from openpyxl import load_workbook

    name, data = ma_commune.commune_export(figures, "62063", "xlsx")
    assert name.startswith("62063_liege_") and name.endswith(".xlsx")
    book = load_workbook(io.BytesIO(data), read_only=True)
    assert "Métadonnées" in book.sheetnames
    rows = list(book["Données"].iter_rows(values_only=True))
    header = rows[0]
    pop = [r for r in rows[1:] if r[header.index("refnis")] == "62063"
           and r[header.index("indicator_id")] == "POPULATION_BY_COMMUNE" and r[header.index("period")] == 2026]
    assert pop[0][header.index("value")] == 198102
    name, data = ma_commune.commune_export(figures, "62063", "csv")
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert name.endswith(".zip") and any(n.endswith(".csv") for n in names)
    assert any(n.endswith(".csv.metadata.json") for n in names)


class _FakeService(BaseHTTPRequestHandler):
    """Stand-in for the hub's data service: commune 62063 has one dataset; anything else is refused."""

    def do_GET(self):  # noqa: N802
        if self.headers.get("Authorization") != "token t0k":
            self.send_response(403)
            self.end_headers()
            return
        if self.path == "/api/communes/62063/datasets":
            body = json.dumps({"datasets": [{"name": "budget", "rows": 2, "added": "2026-12-01"}]}).encode()
        elif self.path == "/api/communes/62063/datasets/budget":
            body = b"poste;montant\nvoirie;1200\n"
        else:
            self.send_response(403)
            self.end_headers()
            return
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def fake_service(monkeypatch):
    server = HTTPServer(("127.0.0.1", 0), _FakeService)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv(access.SERVICE_URL_ENV, f"http://127.0.0.1:{server.server_port}")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "t0k")
    yield
    server.shutdown()


def test_private_data_only_for_entitled_users_and_neutral_on_refusal(fake_service):
    member = access.UserContext("ana", frozenset({"commune-62063"}))
    assert ">budget<" in ma_commune.private_data_html("62063", member)
    preview, data = ma_commune.private_dataset_preview("62063", "budget")
    assert data == b"poste;montant\nvoirie;1200\n" and "<td>voirie</td>" in preview
    assert ma_commune.private_data_html("62096", member) == ""  # not entitled: nothing asked, nothing shown
    # entitled according to the groups, but the service refuses: its French message, nothing else
    other = access.UserContext("bob", frozenset({"commune-62096"}))
    refused = ma_commune.private_data_html("62096", other)
    assert "Vous n&#x27;avez pas accès aux données privées de cette commune." in refused
    assert "Traceback" not in refused and "127.0.0.1" not in refused


# ------------------------------------------------------------------------------------------ other dashboards

def test_comparer_frames(figures, data_dir):
    places = comparer.comparison_places(figures, ["62063", "62096"], {"arrondissement", "province"})
    assert [(p.refnis, p.role) for p in places] == [("62063", "commune"), ("62096", "peer"),
                                                    ("62000", "arrondissement"), ("60000", "province")]
    table = comparer.comparison_table(figures, ["POPULATION_BY_COMMUNE"], places)
    column = "Population (au 1er janvier 2026)"
    seraing = format_value(raw_population(data_dir, "62096", 2026), "hab.", 0)
    assert table[column].tolist()[:2] == [f"198{NBSP}102{NBSP}hab.", seraing]
    series = comparer.comparison_series(figures, "POPULATION_BY_COMMUNE", places)
    assert series.query("refnis == '62063' and period == 2026")["value"].item() == 198102
    spec = comparer.series_spec(figures, "POPULATION_BY_COMMUNE", places)
    scales = [layer["encoding"]["color"]["scale"] for layer in spec.get("layer", [spec])
              if "color" in layer.get("encoding", {})]
    assert scales[0]["range"][:2] == ["#c8102e", comparer.PEER_COLOURS[0]]  # two communes, two colours


def test_map_values_and_choropleth(figures, data_dir):
    values = carte.map_values(figures, "POPULATION_BY_COMMUNE", "60000", 5, 2026)
    assert len(values) == 84
    assert values.set_index("refnis").loc["62063", "value"] == raw_population(data_dir, "62063", 2026)
    arrs = carte.map_values(figures, "POPULATION_BY_COMMUNE", "60000", 4, 2026)
    assert len(arrs) == 4 and set(arrs["refnis"]) == {"61000", "62000", "63000", "64000"}
    layers = carte.map_layers(figures, "60000")
    spec = carte.choropleth_spec(layers[5], values, title="Population", legend="hab.")
    assert len(spec["datasets"]["mindit_shapes"]) == 84
    assert spec["params"][0]["name"] == carte.SELECTION
    assert "Liège" in carte.territory_panel(figures, "62063") and "198 102" in carte.territory_panel(
        figures, "62063").replace(NBSP, " ")


def test_largest_changes_from_the_raw_series(figures, data_dir):
    liege = profile("62063", figures_=figures)
    series = liege.series("POPULATION_BY_COMMUNE")
    top = evolutions.largest_changes(series, "62063", n=3)
    raw = {y: raw_population(data_dir, "62063", y) for y in range(2016, 2027)}
    raw_changes = {(y - 1, y): (raw[y] - raw[y - 1]) / raw[y - 1] * 100 for y in range(2017, 2027)}
    biggest = max(raw_changes, key=lambda k: abs(raw_changes[k]))
    in_top = {(int(s), int(t)): p for s, t, p in zip(top["start"], top["end"], top["change_pct"], strict=True)}
    assert biggest in in_top or max(abs(p) for p in in_top.values()) >= abs(raw_changes[biggest])
    for key, pct in in_top.items():
        if key in raw_changes:
            assert pct == pytest.approx(raw_changes[key])
    assert top["change_pct"].abs().is_monotonic_decreasing
    spec = evolutions.evolution_spec(liege, "POPULATION_BY_COMMUNE", top)
    assert len(spec["layer"][0]["data"]["values"]) == 3
    first, last = int(series["period"].min()), int(series["period"].max())
    assert x_axis_range(spec) == f"{first} to {last}"   # the highlighted spans do not stretch the axis to 0


# ------------------------------------------------------------------------------------------ safety net

def test_guarded_callback_shows_only_the_neutral_message(caplog):
    shown = []

    @safety.guarded(shown.append, "test.callback")
    def boom():
        raise RuntimeError(f"secret path {Path.home()}")

    with caplog.at_level("ERROR"):
        boom()
    [message] = shown
    assert re.search(r"incident [0-9a-f]{8}\)", message)
    assert "Une erreur est survenue (incident " in message and "L'équipe Mind it a été prévenue." in message
    assert str(Path.home()) not in message and "RuntimeError" not in message


def test_fault_hook_and_failed_load(monkeypatch):
    monkeypatch.setenv(safety.FAULT_ENV, "carte.load,evolutions.indicator=DENSITY")
    with pytest.raises(RuntimeError):
        safety.maybe_fault("evolutions.indicator", "DENSITY")
    safety.maybe_fault("evolutions.indicator", "POPULATION_BY_COMMUNE")  # other values pass
    import IPython.display

    from mindit_lib.dashboards import open_dashboard

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **_: shown.extend(objs))
    failed = open_dashboard("carte")
    assert failed.start() is None
    [html] = [o._repr_html_() for o in shown]
    assert re.fullmatch(r'<div class="mindit-incident".*>Une erreur est survenue \(incident [0-9a-f]{8}\)\. '
                        r"L'équipe Mind it a été prévenue\.</div>", html)
    assert "safety.py" not in html and "HOME" not in html


def test_dependencies_declare_anywidget():
    import tomllib

    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    assert any(d.startswith("anywidget") for d in project["dependencies"])


def test_voila_settings():
    settings = json.loads((DASHBOARD_DIR / "voila.json").read_text(encoding="utf-8"))
    conf = settings["VoilaConfiguration"]
    assert conf["strip_sources"] is True and conf["show_tracebacks"] is False and conf["template"] == "mindit"
    assert settings["VoilaExecutor"]["show_tracebacks"] is False
    assert settings["VoilaKernelManager"]["kernel_pools_config"]["ma_commune.ipynb"]["pool_size"] >= 1
    template = REPO_ROOT / "share" / "jupyter" / "voila" / "templates" / "mindit" / "index.html.j2"
    assert "cdn.jsdelivr" not in template.read_text(encoding="utf-8")
    assert sorted(p.stem for p in DASHBOARD_DIR.glob("*.ipynb")) == sorted(DASHBOARDS)


# ------------------------------------------------------------------------------------------ notebooks

def _execute(name: str, config, tmp_path) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    nb = nbformat.read(DASHBOARD_DIR / f"{name}.ipynb", as_version=4)
    work = tmp_path / name
    work.mkdir()
    env = {"MINDIT_STORE": str(config.store_path), "MINDIT_OUTPUT": str(config.output_dir)}
    setup = nbformat.v4.new_code_cell("import os\nos.environ.update(" + repr(env) + ")")
    nb.cells.insert(0, setup)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(work)}}).execute()
    return nb


def _widget_states(nb) -> list[dict]:
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    return [s["state"] for s in state.values()]


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_notebook_executes_and_shows_widgets(name, config, tmp_path):
    nb = _execute(name, config, tmp_path)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    text = json.dumps(outputs, ensure_ascii=False)
    assert "application/vnd.jupyter.widget-view+json" in text
    assert "Une erreur est survenue" not in text and "Traceback" not in text
    states = json.dumps(_widget_states(nb), ensure_ascii=False)
    if states != "[]":
        assert "Une erreur est survenue" not in states
    if name == "evolutions":
        assert "Plus fortes variations" in states
    if name == "comparer":
        assert "198\\u00a0102" in states or f"198{NBSP}102" in states


def test_notebooks_are_thin():
    for name in DASHBOARDS:
        nb = nbformat.read(DASHBOARD_DIR / f"{name}.ipynb", as_version=4)
        code = [c.source for c in nb.cells if c.cell_type == "code"]
        assert code == [f'from mindit_lib.dashboards import open_dashboard\n\ntableau = open_dashboard("{name}")',
                        "tableau.start()"]
        assert nb.cells[0].cell_type == "markdown"
