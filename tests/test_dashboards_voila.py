"""The dashboards as users see them: a real standalone Voilà server (the repository's voila.json and template) over
HTTP, then headless Chromium (Debian's, through Playwright): values, charts, no CDN, no leak.

One Voilà server and one browser for the whole module. Chromium missing is a failure, never a skip.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from mindit_lib.config import REPO_ROOT
from mindit_lib.dashboards import DASHBOARDS, common

DASHBOARD_DIR = REPO_ROOT / "notebooks" / "dashboards"
CHROMIUM = "/usr/bin/chromium"
#: the deliberate faults of this module: a callback (Évolutions, indicator DENSITY) and a whole dashboard load
FAULTS = "evolutions.indicator=DENSITY,panne.load"
NBSP = "\u00a0"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 120) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (loopback)
        return resp.status, resp.read().decode("utf-8")


@pytest.fixture(scope="module")
def voila(config, tmp_path_factory):
    """A Voilà server over a copy of the dashboards (plus a test-only failing notebook), on the session store."""
    root = tmp_path_factory.mktemp("dashboards")
    for name in DASHBOARDS:
        shutil.copy(DASHBOARD_DIR / f"{name}.ipynb", root)
    shutil.copy(DASHBOARD_DIR / "voila.json", root)
    panne = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Panne"),
        nbformat.v4.new_code_cell("from mindit_lib.dashboards import open_dashboard\n\n"
                                  'tableau = open_dashboard("panne")'),
        nbformat.v4.new_code_cell("tableau.start()"),
        nbformat.v4.new_code_cell("open('/nonexistent/secret/path.txt').read()"),  # a raw failing cell
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(panne, root / "panne.ipynb")
    port = _free_port()
    env = {**os.environ, "MINDIT_STORE": str(config.store_path), "MINDIT_OUTPUT": str(root / "no-reports"),
           "JUPYTER_PATH": str(REPO_ROOT / "share" / "jupyter"), "MINDIT_DASHBOARD_FAULT": FAULTS}
    log = open(root / "voila.log", "w", encoding="utf-8")  # noqa: SIM115 — closed at teardown
    proc = subprocess.Popen([str(Path(sys.executable).parent / "voila"), "--no-browser", f"--port={port}",
                             "--Voila.ip=127.0.0.1", str(root)], cwd=root, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            _get(base + "/voila/static/voila.js", timeout=5)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                log.close()
                raise RuntimeError("voila did not start:\n" + (root / "voila.log").read_text()[-3000:]) from None
            time.sleep(0.3)
    yield {"base": base, "root": root, "log": root / "voila.log", "store": config.store_path}
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def _leaks(text: str, voila: dict) -> list[str]:
    needles = ["Traceback", "injected fault", "safety.py", "ZeroDivisionError", "FileNotFoundError", "secret/path",
               "open_dashboard", "tableau.start", str(REPO_ROOT), str(voila["root"]), str(voila["store"]),
               f"HOME={os.environ.get('HOME')}"]
    return [n for n in needles if n in text]


@pytest.mark.parametrize("name,expected", [("ma_commune", "Le portrait de votre commune"),
                                           ("comparer", "Choisissez des communes"),
                                           ("carte", "La carte d'un indicateur"),
                                           ("evolutions", "Un indicateur au fil des années")])
def test_page_over_http(voila, name, expected):
    status, page = _get(f"{voila['base']}/voila/render/{name}.ipynb")
    assert status == 200
    assert expected in page.replace("&#39;", "'")
    assert "application/vnd.jupyter.widget-view+json" in page
    assert _leaks(page, voila) == []
    assert "cdn.jsdelivr" not in page and "unpkg.com" not in page


def test_failing_load_and_failing_cell_are_neutral(voila):
    status, page = _get(f"{voila['base']}/voila/render/panne.ipynb")
    assert status == 200
    # outputs travel in the page as JSON (rendered by the page's script): read them as text
    page = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), page)
    assert re.search(r"Une erreur est survenue \(incident [0-9a-f]{8}\)\. L'équipe Mind it a été prévenue\.",
                     page.replace("&#39;", "'"))
    assert "Une erreur est survenue. L'équipe Mind it a été prévenue." in page.replace("&#39;", "'")  # raw cell
    assert _leaks(page, voila) == []
    time.sleep(0.2)
    logged = voila["log"].read_text(encoding="utf-8")
    assert "injected fault in panne.load" in logged and "Traceback" in logged  # the details are in the log


# ----------------------------------------------------------------------------------------------- browser

@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).is_file(), f"{CHROMIUM} is missing: install the Debian package chromium"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


class Watched:
    """A page with its console messages, requests and websocket frames recorded."""

    def __init__(self, browser):
        self.page = browser.new_page(viewport={"width": 1300, "height": 1000})
        self.console: list[str] = []
        self.requests: list[str] = []
        self.frames: list[str] = []
        self.page.on("console", lambda m: self.console.append(m.text))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("websocket", self._socket)

    def _socket(self, ws):
        def keep(payload):
            self.frames.append(payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload)

        ws.on("framereceived", keep)
        ws.on("framesent", keep)

    def check_clean(self, voila):
        assert not [m for m in self.console if "Failed to load model class" in m or "model not found" in m.lower()]
        outside = [u for u in self.requests if u.startswith("http") and not u.startswith(voila["base"])]
        assert outside == []  # no CDN, nothing outside the server
        assert _leaks("\n".join(self.frames), voila) == []
        assert _leaks(self.page.content(), voila) == []

    def open(self, voila, name: str, selector: str) -> float:
        """Load a dashboard and wait for ``selector``; return the seconds it took."""
        start = time.perf_counter()
        self.page.goto(f"{voila['base']}/voila/render/{name}.ipynb")
        self.page.wait_for_selector(selector, timeout=120_000)
        return time.perf_counter() - start

    def close(self):
        self.page.close()


def _value(page) -> str:
    return page.inner_text(".mindit-value").replace(NBSP, " ")


def test_ma_commune_in_the_browser(voila, browser, figures):
    w = Watched(browser)
    page = w.page
    first_widget = w.open(voila, "ma_commune", ".mindit-commune select")
    page.select_option(".mindit-commune select", "Liège")
    page.wait_for_selector(".mindit-value:has-text('198')", timeout=60_000)
    assert _value(page) == "198 102 hab."
    page.wait_for_selector(".mindit-explorer-chart svg.marks", timeout=60_000)
    page.wait_for_selector(".mindit-portrait h1:has-text('Liège')", timeout=120_000)
    # indicator switch → the value and the chart follow
    density = common.value_text(figures, "DENSITY", "62063", 2026).replace(NBSP, " ")
    t = time.perf_counter()
    page.select_option(".mindit-indicator select", "Densité de population")
    page.wait_for_selector(".mindit-explorer[data-indicator='DENSITY']")
    page.wait_for_function("() => document.querySelector('.mindit-explorer-chart svg.marks')"
                           " && document.querySelector('.mindit-explorer-chart svg.marks').textContent"
                           ".includes('Densité de population')")
    switch = time.perf_counter() - t
    assert _value(page) == density
    # year → the raw file's value of that year
    page.select_option(".mindit-indicator select", "Population")
    page.wait_for_selector(".mindit-explorer[data-indicator='POPULATION_BY_COMMUNE']")
    page.select_option(".mindit-year select", "2020")
    page.wait_for_selector(".mindit-explorer[data-year='2020']")
    assert _value(page) == common.value_text(figures, "POPULATION_BY_COMMUNE", "62063", 2020).replace(NBSP, " ")
    # downloads: no report published in this output folder → said plainly; the data as an xlsx link
    page.click(".mindit-dl-pdf")
    page.wait_for_selector(".mindit-no-report")
    page.click(".mindit-dl-xlsx")
    link = page.wait_for_selector("a.mindit-download", timeout=60_000)
    assert link.get_attribute("download").startswith("62063_liege_")
    w.check_clean(voila)
    print(f"\nMa commune: first widget {first_widget:.2f} s, indicator switch → chart {switch * 1000:.0f} ms")
    w.close()


def test_failing_callback_shows_the_neutral_message(voila, browser):
    w = Watched(browser)
    page = w.page
    w.open(voila, "evolutions", ".mindit-evolution-chart svg.marks")
    page.select_option(".mindit-indicator select", "Densité de population")  # the injected fault
    message = page.wait_for_selector(".mindit-incident", timeout=60_000).inner_text()
    assert re.fullmatch(r"Une erreur est survenue \(incident [0-9a-f]{8}\)\. L'équipe Mind it a été prévenue\.",
                        message.strip())
    incident = re.search(r"incident ([0-9a-f]{8})", message).group(1)
    w.check_clean(voila)
    time.sleep(0.3)
    assert f"incident {incident} in evolutions.indicator" in voila["log"].read_text(encoding="utf-8")
    # the dashboard keeps working after the error
    page.select_option(".mindit-indicator select", "Population")
    page.wait_for_selector(".mindit-incident", state="detached", timeout=60_000)
    w.close()


def test_comparer_and_carte_in_the_browser(voila, browser):
    w = Watched(browser)
    page = w.page
    w.open(voila, "comparer", ".mindit-series-chart svg.marks")
    page.wait_for_selector(".mindit-bars-chart svg.marks", timeout=60_000)
    assert "198 102 hab." in page.inner_text(".mindit-compare-table").replace(NBSP, " ")
    w.open(voila, "carte", ".mindit-map svg.marks path")
    assert page.locator(".mindit-map svg.marks path[aria-roledescription='geoshape']").count() == 84
    box = page.locator(".mindit-map svg.marks").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.55, box["y"] + box["height"] * 0.55)
    panel = page.wait_for_selector(".mindit-map-panel h3", timeout=60_000)
    assert panel.inner_text().strip()
    assert "Population" in page.inner_text(".mindit-map-panel")
    w.check_clean(voila)
    w.close()
