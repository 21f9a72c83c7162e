"""The real hub: proxy, login form, groups, the data service, what commune users and analysts may open.

One hub per module (``mindit hub --spawner simple`` on free ports); people created with ``mindit users add``.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
import requests

from mindit_lib.dashboards import common
from mindit_lib.testing_hub import HubProcess

PRIVATE_CSV = "quartier;logements_vides;source\nCentre;412;relevé communal 2026\nOutremeuse;97;relevé communal 2026\n"
ACCOUNTS = """username,communes,groups,admin,password
ann,Liège,,non,
bert,Bütgenbach,,non,
carla,,analysts,non,
dora,Liège|Seraing,province,non,
boss,,,oui,motdepasse-boss-2026
"""


@pytest.fixture(scope="module")
def hub(tmp_path_factory, config):
    # Évolutions' DENSITY callback fails on purpose in this hub (test hook of mindit_lib.dashboards.safety)
    running = HubProcess.start(tmp_path_factory.mktemp("hub"), config, spawner="simple",
                               extra_env={"MINDIT_DASHBOARD_FAULT": "evolutions.indicator=DENSITY"})
    yield running
    running.stop()


@pytest.fixture(scope="module")
def passwords(hub):
    return {**hub.add_users(ACCOUNTS), "boss": "motdepasse-boss-2026"}


@pytest.fixture(scope="module")
def private_dataset(hub, tmp_path_factory):
    path = tmp_path_factory.mktemp("contrib") / "Logements vides 2026.csv"
    path.write_bytes(PRIVATE_CSV.encode("utf-8"))
    out = hub.mindit("contrib", "add", "--commune", "Liège", str(path)).stdout
    assert "Liège (62063): private dataset 'logements-vides-2026' stored — 2 rows" in out
    return "logements-vides-2026"


@pytest.fixture(scope="module")
def sessions(hub, passwords):
    return {name: hub.login(name, passwords[name]) for name in ("ann", "bert", "carla", "dora", "boss")}


def test_accounts_get_their_groups_and_first_passwords(hub, passwords):
    assert set(passwords) == {"ann", "bert", "carla", "dora", "boss"}
    assert all(len(p) >= 10 for p in passwords.values())
    token = (hub.workdir / "hub" / "accounts-service.token").read_text().strip()
    users = {u["name"]: u for u in requests.get(f"{hub.url}/hub/api/users", timeout=10,
                                                headers={"Authorization": f"token {token}"}).json()}
    assert users["ann"]["groups"] == ["commune-62063"]
    assert users["bert"]["groups"] == ["commune-63013"]
    assert users["carla"]["groups"] == ["analysts"]
    assert sorted(users["dora"]["groups"]) == ["commune-62063", "commune-62096", "province"]
    assert users["boss"]["admin"] is True and users["ann"]["admin"] is False
    first = sorted((hub.workdir / "hub").glob("first-passwords-*.csv"))
    assert first and oct(first[-1].stat().st_mode & 0o777) == "0o600"


def test_an_accounts_file_with_errors_creates_nobody(hub, passwords):
    bad = "username,communes\nzoe,Liège\nYves!,Liège\nxavier,Namur\nwalter,Atlantis\n"
    path = hub.workdir / "bad.csv"
    path.write_text(bad, encoding="utf-8")
    result = hub.mindit("users", "add", str(path), "--spawner", "simple", check=False)
    assert result.returncode == 2
    assert "nothing was created, 3 problem(s)" in result.stderr
    assert "line 3: username 'Yves!'" in result.stderr
    assert "line 4: Namur" in result.stderr and "is not a commune of the province 60000" in result.stderr
    assert "line 5: commune 'Atlantis'" in result.stderr
    with pytest.raises(PermissionError):
        hub.login("zoe", "anything-at-all")


def test_wrong_password_is_refused(hub, passwords):
    with pytest.raises(PermissionError):
        hub.login("ann", passwords["ann"] + "x")


def test_unauthenticated_requests_are_sent_to_login(hub):
    for path in ("/services/mindit-data/api/communes/62063/datasets", "/user/ann/voila/render/ma_commune.ipynb",
                 "/hub/home"):
        resp = requests.get(hub.url + path, timeout=10)
        assert resp.url.startswith(f"{hub.url}/hub/login"), (path, resp.url)
        assert 'name="password"' in resp.text


def test_private_data_only_for_the_communes_own_users(hub, sessions, private_dataset):
    url = f"{hub.url}/services/mindit-data/api/communes/62063/datasets/{private_dataset}"
    own = sessions["ann"].get(url, timeout=10)
    assert own.status_code == 200
    assert own.content == PRIVATE_CSV.encode("utf-8")
    assert sessions["dora"].get(url, timeout=10).status_code == 200  # Liège is one of her two communes
    for other in ("bert", "carla", "boss"):
        refused = sessions[other].get(url, timeout=10)
        assert refused.status_code == 403, other
        assert refused.json()["message"] == "Vous n'avez pas accès aux données privées de cette commune."
        assert "Traceback" not in refused.text and "/" not in refused.json()["message"]
    listing = sessions["ann"].get(f"{hub.url}/services/mindit-data/api/communes/62063/datasets", timeout=10).json()
    assert [(d["name"], d["rows"], d["columns"]) for d in listing["datasets"]] == [
        (private_dataset, 2, ["quartier", "logements_vides", "source"])]
    assert sessions["bert"].get(f"{hub.url}/services/mindit-data/api/communes/62063/datasets",
                                timeout=10).status_code == 403


def test_every_access_is_logged(hub, sessions, private_dataset):
    sessions["bert"].get(f"{hub.url}/services/mindit-data/api/communes/62063/datasets/{private_dataset}", timeout=10)
    sessions["ann"].get(f"{hub.url}/services/mindit-data/api/communes/62063/datasets/{private_dataset}", timeout=10)
    entries = [json.loads(line) for line in (hub.workdir / "hub" / "data-access.log").read_text().splitlines()]
    reads = [(e["user"], e["commune"], e["dataset"], e["allowed"], e["status"]) for e in entries
             if e["action"] == "read"]
    assert ("bert", "62063", private_dataset, False, 403) in reads
    assert ("ann", "62063", private_dataset, True, 200) in reads
    assert all(e["time"].startswith("20") and e["client"] == "127.0.0.1" for e in entries)


def test_the_service_accepts_a_server_token_and_checks_its_owner(hub, passwords, private_dataset):
    admin_token = (hub.workdir / "hub" / "accounts-service.token").read_text().strip()
    url = f"{hub.url}/services/mindit-data/api/communes/62063/datasets/{private_dataset}"
    for user, expected in (("ann", 200), ("bert", 403)):
        token = requests.post(f"{hub.url}/hub/api/users/{user}/tokens", timeout=10,
                              headers={"Authorization": f"token {admin_token}"},
                              json={"scopes": ["access:services!service=mindit-data"], "expires_in": 300}).json()
        resp = requests.get(url, headers={"Authorization": f"token {token['token']}"}, timeout=10)
        assert resp.status_code == expected, user
    me = requests.get(f"{hub.url}/services/mindit-data/api/me", timeout=10,
                      headers={"Authorization": f"token {token['token']}"}).json()
    assert me == {"name": "bert", "groups": ["commune-63013"], "admin": False, "communes": ["63013"]}


FORBIDDEN_TO_COMMUNES = ("/lab", "/tree", "/terminals", "/api/contents", "/files/ma_commune.ipynb",
                         "/api/terminals", "/api/sessions", "/voila/tree", "/voila/render/secret.ipynb")


def test_commune_users_get_the_dashboards_and_nothing_else(hub, sessions):
    s = sessions["ann"]
    hub.wait_for_server(s, "ann")
    home = s.get(f"{hub.url}/user/ann/", timeout=30)
    assert home.url == f"{hub.url}/user/ann/voila/render/ma_commune.ipynb"
    for path in FORBIDDEN_TO_COMMUNES:
        resp = s.get(f"{hub.url}/user/ann{path}", timeout=10, allow_redirects=False)
        assert resp.status_code == 403, (path, resp.status_code)
    xsrf = s.cookies.get("_xsrf", path="/user/ann/") or ""
    started = s.post(f"{hub.url}/user/ann/api/kernels", json={"name": "python3"}, timeout=10,
                     headers={"X-XSRFToken": xsrf})
    assert started.status_code == 403  # no kernel by hand (and the page's own kernel takes widget messages only)
    page = s.get(f"{hub.url}/user/ann/lab", timeout=10)
    assert "Page non disponible" in page.text and "voila/render/ma_commune.ipynb" in page.text


def test_analysts_get_jupyterlab_the_notebooks_and_the_files(hub, sessions):
    s = sessions["carla"]
    hub.wait_for_server(s, "carla")
    assert s.get(f"{hub.url}/user/carla/", timeout=30).url == f"{hub.url}/user/carla/lab"
    for path in ("/lab", "/tree", "/api/contents/notebooks", "/files/README.md", "/api/terminals"):
        assert s.get(f"{hub.url}/user/carla{path}", timeout=30).status_code == 200, path
    listing = s.get(f"{hub.url}/user/carla/api/contents/notebooks", timeout=10).json()
    assert {c["name"] for c in listing["content"]} >= {"reports", "dashboards"}


def test_an_admin_can_deactivate_an_account(hub, passwords, sessions):
    hub.add_users("username,communes\nemil,Huy\n")
    emil = hub.add_users("username,communes\nemil,Huy\n")  # second run: password unchanged, none printed
    assert emil == {}
    pw = hub.mindit("users", "add", str(_write(hub, "username,communes\nemil,Huy\n")), "--spawner", "simple",
                    "--reset-passwords").stdout
    password = _first_password(pw)
    hub.login("emil", password)
    admin = sessions["boss"]
    page = admin.get(f"{hub.url}/hub/authorize", timeout=10)
    assert page.status_code == 200 and "emil" in page.text
    assert admin.get(f"{hub.url}/hub/authorize/emil", timeout=10).status_code == 200  # toggles: deactivated
    with pytest.raises(PermissionError):
        hub.login("emil", password)
    assert sessions["ann"].get(f"{hub.url}/hub/authorize", timeout=10).status_code == 403


def _write(hub: HubProcess, text: str):
    path = hub.workdir / "reset.csv"
    path.write_text(text, encoding="utf-8")
    return path


def _first_password(stdout: str) -> str:
    import csv
    import re

    path = re.search(r"first passwords: (\S+)", stdout).group(1)
    with open(path, encoding="utf-8") as fh:
        return next(csv.DictReader(fh))["first_password"]


# ---------------------------------------------------------------------------------------------- real browser
CHROMIUM = "/usr/bin/chromium"
NBSP = "\u00a0"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).is_file(), f"{CHROMIUM} is missing: install the Debian package chromium"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


class Visit:
    """A browser context of one person: console, requests and websocket frames recorded."""

    def __init__(self, browser, hub: HubProcess):
        self.hub = hub
        self.context = browser.new_context(viewport={"width": 1300, "height": 1000})
        self.page = self.context.new_page()
        self.console: list[str] = []
        self.frames: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.console.append(m.text))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("websocket", lambda ws: (ws.on("framereceived", self._keep), ws.on("framesent", self._keep)))

    def _keep(self, payload) -> None:
        self.frames.append(payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload)

    def login(self, username: str, password: str) -> None:
        """Through the hub's login form, as a person does."""
        self.page.goto(f"{self.hub.url}/hub/login")
        self.page.fill("#username_input", username)
        self.page.fill("#password_input", password)
        self.page.click("[type=submit]")

    def leaks(self) -> list[str]:
        text = "\n".join(self.frames) + self.page.content()
        needles = ("Traceback", "injected fault", "File \"/", "/work/", "/tmp/", "/root", "JUPYTERHUB_API_TOKEN",
                   str(self.hub.workdir))
        return [text[max(0, text.index(n) - 80):text.index(n) + 40] for n in needles if n in text]

    def check_clean(self) -> None:
        assert not [m for m in self.console if "Failed to load model class" in m or "model not found" in m.lower()]
        assert [u for u in self.requests if u.startswith("http") and not u.startswith(self.hub.url)] == []
        assert self.leaks() == []


def _value(page) -> str:
    return page.inner_text(".mindit-value").replace(NBSP, " ")


def test_a_commune_user_logs_in_and_sees_their_commune(hub, passwords, browser, figures):
    visit = Visit(browser, hub)
    page = visit.page
    visit.login("ann", passwords["ann"])
    page.wait_for_url(re.compile(r".*/user/ann/voila/render/ma_commune\.ipynb"), timeout=120_000)
    page.wait_for_selector(".mindit-value", timeout=120_000)
    # the commune comes from her hub group (on the server), not from anything in the page or the URL
    page.wait_for_selector(".mindit-portrait h1:has-text('Liège')", timeout=120_000)
    assert _value(page) == "198 102 hab."  # compiled/population_observations.csv, 62063, 2026
    # her first page came from the kernel her server pre-heated (mindit_lib.voila_pool), not from a new one
    assert re.search(r"Using pre-heated kernel: \S+ for ma_commune\.ipynb", hub.log_path.read_text(encoding="utf-8"))
    density = common.value_text(figures, "DENSITY", "62063", 2026).replace(NBSP, " ")
    page.select_option(".mindit-indicator select", "Densité de population")
    page.wait_for_selector(".mindit-explorer[data-indicator='DENSITY']", timeout=30_000)
    assert _value(page) == density
    page.select_option(".mindit-indicator select", "Population")
    page.wait_for_selector(".mindit-explorer[data-indicator='POPULATION_BY_COMMUNE']", timeout=30_000)
    page.select_option(".mindit-year select", "2020")
    page.wait_for_selector(".mindit-explorer[data-year='2020']", timeout=30_000)
    assert _value(page) == common.value_text(figures, "POPULATION_BY_COMMUNE", "62063", 2020).replace(NBSP, " ")
    visit.check_clean()
    visit.context.close()


def test_a_german_speaking_commune_gets_german_labels(hub, passwords, browser):
    visit = Visit(browser, hub)
    visit.login("bert", passwords["bert"])
    visit.page.wait_for_selector(".mindit-portrait h1:has-text('Bütgenbach')", timeout=120_000)
    assert "Einwohner" in visit.page.inner_text(".mindit-explorer") or "Bevölkerung" in visit.page.content()
    visit.check_clean()
    visit.context.close()


def test_a_failing_callback_shows_the_neutral_message_only(hub, passwords, browser):
    visit = Visit(browser, hub)
    page = visit.page
    visit.login("dora", passwords["dora"])
    page.wait_for_url(re.compile(r".*/user/dora/voila/render/ma_commune\.ipynb"), timeout=120_000)
    page.goto(f"{hub.url}/user/dora/voila/render/evolutions.ipynb")
    page.wait_for_selector(".mindit-evolution-chart svg.marks", timeout=120_000)
    page.select_option(".mindit-indicator select", "Densité de population")
    message = page.wait_for_selector(".mindit-incident", timeout=60_000).inner_text().strip()
    assert re.fullmatch(r"Une erreur est survenue \(incident [0-9a-f]{8}\)\. L'équipe Mind it a été prévenue\.",
                        message)
    time.sleep(0.3)
    visit.check_clean()
    incident = re.search(r"incident ([0-9a-f]{8})", message).group(1)
    assert f"incident {incident} in evolutions.indicator" in hub.log_path.read_text(encoding="utf-8")
    visit.context.close()
