"""Benchmark: the hub as people meet it — hub start, cold and warm first widget of *Ma commune*, indicator switch,
and the page time of N people opening their *Ma commune* at once (real hub and proxy on loopback, real login form,
headless Chromium for the browser numbers, logged-in ``requests`` sessions for the concurrent ones).

    python benchmarks/hub.py               # 20 concurrent people, 2 rounds (about 4 minutes on 2 cores)
    python benchmarks/hub.py --users 5 --rounds 1

Each number is printed beside its target (issue 4) with ok/MISSED and beside a baseline measured in the same run:

* hub B (``MINDIT_VOILA_POOLS='{}'``: no pre-heated kernel) gives the "same page without a pool" baselines;
* hub A (``{"ma_commune.ipynb": 1}``: one pre-heated Ma commune kernel per person, the shipped default) gives the
  cold login, the warm first widget, the indicator switch and the concurrent page time.

"First widget" is the moment the commune's figure (``.mindit-value``) is in the page. "Page time" (concurrent
phase) is one HTTP GET of ``/user/<name>/voila/render/ma_commune.ipynb`` through the proxy, from the request until
the last byte of the HTML (which already holds the pre-heated outputs); it excludes static assets and the widgets'
websocket. Before each round every pool is refilled and its kernel has run the dashboard (see
:func:`wait_pool_warm`). The hub's
state lives in a temporary folder; the store is the repository's (``mindit import`` first). Every process the
benchmark starts (hubs, proxies, servers, kernels, the browser) is stopped at the end, also on Ctrl-C or error.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import psutil
import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mindit_lib.config import Config, load_config  # noqa: E402
from mindit_lib.testing_hub import HubProcess  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
DASHBOARD = "ma_commune.ipynb"
WARM_POOLS = '{"ma_commune.ipynb": 1}'
NO_POOLS = "{}"
LIEGE = "62063"
FIRST_WIDGET = ".mindit-value"
TARGETS = {"warm": 1.0, "cold": 8.0, "switch": 0.300, "p95": 3.0}


# ------------------------------------------------------------------------------------------------ processes
class Janitor:
    """Every hub started here, stopped with all its descendants (servers and kernels run in their own sessions,
    so stopping the hub's process group alone could leave them behind)."""

    def __init__(self) -> None:
        self.hubs: list[HubProcess] = []

    def start(self, workdir: Path, config: Config, pools: str) -> HubProcess:
        hub = HubProcess.start(workdir, config, spawner="simple", timeout=90,
                               extra_env={"MINDIT_VOILA_POOLS": pools})
        self.hubs.append(hub)
        return hub

    def stop(self, hub: HubProcess) -> None:
        try:
            tree = psutil.Process(hub.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            tree = []
        hub.stop()  # SIGTERM: the hub stops the servers it spawned (cleanup_servers), then the proxy
        alive = [p for p in tree if p.is_running()]
        for p in alive:
            with _gone():
                p.terminate()
        _, alive = psutil.wait_procs(alive, timeout=10)
        for p in alive:
            with _gone():
                p.kill()
        psutil.wait_procs(alive, timeout=5)
        if hub in self.hubs:
            self.hubs.remove(hub)

    def stop_all(self) -> None:
        for hub in list(self.hubs):
            self.stop(hub)


@contextmanager
def _gone() -> Iterator[None]:
    try:
        yield
    except psutil.NoSuchProcess:
        pass


def kernels_of(hub: HubProcess) -> tuple[int, float, float]:
    """Kernel processes under the hub: how many, their resident memory (GB) and the median CPU seconds each used
    (a kernel that ran the dashboard once: the CPU cost of one pre-heat, whatever the machine's load)."""
    try:
        tree = psutil.Process(hub.proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return 0, 0.0, 0.0
    rss, cpu = [], []
    for p in tree:
        with _gone():
            if any("ipykernel" in part for part in p.cmdline()):
                rss.append(p.memory_info().rss)
                times = p.cpu_times()
                cpu.append(times.user + times.system)
    return len(rss), sum(rss) / 1e9, statistics.median(cpu) if cpu else 0.0


# ------------------------------------------------------------------------------------------------ hub helpers
HANDED_OUT = re.compile(r"Using pre-heated kernel: (\S+) for ")


def wait_pool_warm(hub: HubProcess, session: requests.Session, username: str, timeout: float = 180) -> float:
    """Wait until ``username``'s server holds a pre-heated kernel that has run the whole dashboard: a kernel that
    Voilà has not handed out yet (its server logs "Using pre-heated kernel: <id>" when it does), with every kernel
    of the server idle and silent for 1.5 s. (Voilà's "Kernel pool of … is filled" is logged once the kernel has
    *started*, before the dashboard ran in it; counting kernels fails once used ones are culled, and the refill
    comes ``MINDIT_VOILA_FILL_DELAY`` seconds after a page took the last one.) Returns the seconds waited."""
    t0 = time.monotonic()
    quiet_since, last = None, None
    while time.monotonic() - t0 < timeout:
        listed = session.get(f"{hub.url}/user/{username}/api/kernels", timeout=10).json()
        used = set(HANDED_OUT.findall(hub.log_path.read_text(encoding="utf-8", errors="replace")))
        fresh = [k for k in listed if k["id"] not in used]
        state = (tuple(sorted(k["id"] for k in listed)), all(k["execution_state"] == "idle" for k in listed),
                 max((k["last_activity"] for k in listed), default=""))
        if fresh and state[1]:
            if state != last:
                quiet_since, last = time.monotonic(), state
            elif time.monotonic() - quiet_since >= 1.5:
                return time.monotonic() - t0
        else:
            quiet_since, last = None, None
        time.sleep(0.25)
    raise RuntimeError(f"the pre-heated kernel of {username} was not ready within {timeout:.0f} s")


def spawn_seconds(hub: HubProcess, username: str) -> float | None:
    """What the hub logged for the start of ``username``'s server."""
    found = re.findall(rf"User {re.escape(username)} took ([0-9.]+) seconds to start", hub.log_tail(100_000))
    return float(found[-1]) if found else None


def start_server(hub: HubProcess, session: requests.Session, username: str, timeout: float = 120) -> float:
    """Start a person's server and log its session in to it, without rendering a dashboard (which would use the
    pre-heated kernel): readiness from the hub's API, then the OAuth redirects up to the server's callback."""
    t0 = time.perf_counter()
    session.get(f"{hub.url}/hub/spawn/{username}", timeout=timeout, allow_redirects=False)
    token = (hub.workdir / "hub" / "accounts-service.token").read_text().strip()
    deadline = time.monotonic() + timeout
    while not requests.get(f"{hub.url}/hub/api/users/{username}", headers={"Authorization": f"token {token}"},
                           timeout=10).json().get("servers", {}).get("", {}).get("ready"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the server of {username} did not start within {timeout:.0f} s:\n{hub.log_tail()}")
        time.sleep(0.2)
    server_login(hub, session, username)
    return time.perf_counter() - t0


def server_login(hub: HubProcess, session: requests.Session, username: str) -> None:
    """Log a hub session in to the person's running server (OAuth redirects up to the server's callback, which sets
    its cookie), without rendering the dashboard."""
    url = page_url(hub, username)
    for _ in range(8):  # page → hub's authorize → server's oauth_callback (sets the cookie) → stop
        resp = session.get(url, timeout=30, allow_redirects=False)
        if "/oauth_callback" in url or resp.status_code not in (301, 302, 303, 307):
            break
        url = urljoin(url, resp.headers["Location"])
    status = session.get(f"{hub.url}/user/{username}/api/status", timeout=10, allow_redirects=False)
    if status.status_code != 200:
        raise RuntimeError(f"{username}: logged in to the hub but not to the server (HTTP {status.status_code})")


def page_url(hub: HubProcess, username: str) -> str:
    return f"{hub.url}/user/{username}/voila/render/{DASHBOARD}"


def fetch_page(session: requests.Session, url: str) -> float:
    """Seconds for one GET of the dashboard, to the last byte; raises when it is not the dashboard."""
    t0 = time.perf_counter()
    resp = session.get(url, timeout=120)
    seconds = time.perf_counter() - t0
    if resp.status_code != 200 or "widget-view" not in resp.text:  # (escaped in JSON when not pre-heated)
        raise RuntimeError(f"{url}: HTTP {resp.status_code}, not the dashboard ({resp.url})")
    return seconds


def add_people(hub: HubProcess, people: dict[str, str]) -> dict[str, str]:
    """Accounts (username → commune REFNIS) through ``mindit users add``; returns their first passwords."""
    rows = "".join(f"{user},{refnis}\n" for user, refnis in people.items())
    return hub.add_users("username,communes\n" + rows)


# ------------------------------------------------------------------------------------------------ browser
def browser_login(browser, hub: HubProcess, username: str, password: str):
    """A fresh browser context logged in through the form; returns (context, page, seconds to first widget)."""
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", username)
    page.fill("#password_input", password)
    t0 = time.perf_counter()
    page.click("[type=submit]")
    page.wait_for_selector(FIRST_WIDGET, timeout=120_000)
    return context, page, time.perf_counter() - t0


def browser_first_widget(context, hub: HubProcess, username: str) -> float:
    """Open the dashboard in a new tab of a logged-in context; seconds to the first widget."""
    page = context.new_page()
    t0 = time.perf_counter()
    page.goto(page_url(hub, username))
    page.wait_for_selector(FIRST_WIDGET, timeout=120_000)
    seconds = time.perf_counter() - t0
    page.close()
    return seconds


CHART_SAYS = ("() => { const s = document.querySelector('.mindit-explorer-chart svg.marks');"
              " return s && s.textContent.includes('Densité de population'); }")
CHART_NOT = ("() => { const s = document.querySelector('.mindit-explorer-chart svg.marks');"
             " return s && !s.textContent.includes('Densité de population'); }")


def switch_times(page, repeats: int) -> tuple[list[float], list[float]]:
    """Population → Densité de population: seconds until the kernel's answer is in the page (the explorer's
    data-indicator) and until the chart is redrawn with the new indicator."""
    page.wait_for_selector(".mindit-explorer-chart svg.marks", timeout=60_000)
    answered, charted = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        page.select_option(".mindit-indicator select", "Densité de population")
        page.wait_for_selector(".mindit-explorer[data-indicator='DENSITY']", timeout=30_000)
        answered.append(time.perf_counter() - t0)
        page.wait_for_function(CHART_SAYS, timeout=30_000)
        charted.append(time.perf_counter() - t0)
        page.select_option(".mindit-indicator select", "Population")
        page.wait_for_selector(".mindit-explorer[data-indicator='POPULATION_BY_COMMUNE']", timeout=30_000)
        page.wait_for_function(CHART_NOT, timeout=30_000)
    return answered, charted


# ------------------------------------------------------------------------------------------------ report
@dataclass
class Row:
    what: str
    seconds: float
    target: float | None = None
    baseline: str = ""
    baseline_seconds: float | None = None

    def line(self) -> str:
        target = f"≤ {self.target:5.2f} s" if self.target is not None else "—"
        status = ("ok" if self.seconds <= self.target else "MISSED") if self.target is not None else ""
        ratio = f"{self.seconds / self.baseline_seconds:5.2f}×" if self.baseline_seconds else ""
        base = f"{self.baseline} {self.baseline_seconds:.2f} s" if self.baseline_seconds is not None else ""
        return f"{self.what:<46} {self.seconds:7.2f} s  {target:>9}  {status:<6}  {ratio:>6}  {base}"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0–100) of at least one value."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def say(text: str) -> None:
    print(text, flush=True)


def timed(label: str, fn: Callable[[], float]) -> float:
    seconds = fn()
    say(f"  {label}: {seconds:.2f} s")
    return seconds


# ------------------------------------------------------------------------------------------------ phases
def phase_no_pool(janitor: Janitor, browser, config: Config, tmp: Path, repeats: int) -> dict[str, float]:
    """Hub B, no pre-heated kernel: hub start, cold login, then the same page with the server running."""
    say("hub B — MINDIT_VOILA_POOLS='{}' (no pre-heated kernel)")
    hub = janitor.start(tmp / "hub-b", config, NO_POOLS)
    out = {"start": hub.started_seconds}
    say(f"  hub start → healthy: {hub.started_seconds:.2f} s")
    password = add_people(hub, {"liege": LIEGE})["liege"]
    context, _, out["cold"] = browser_login(browser, hub, "liege", password)
    say(f"  cold login → first widget: {out['cold']:.2f} s (server start {spawn_seconds(hub, 'liege')} s)")
    out["warm"] = statistics.median(timed("first widget, server running", lambda: browser_first_widget(
        context, hub, "liege")) for _ in range(repeats))
    context.close()
    session = hub.login("liege", password)
    out["http"] = statistics.median(timed("HTTP page", lambda: fetch_page(session, page_url(hub, "liege")))
                                    for _ in range(repeats))
    janitor.stop(hub)
    return out


def phase_pooled(janitor: Janitor, browser, config: Config, tmp: Path, repeats: int) -> tuple[HubProcess, dict]:
    """Hub A, one pre-heated Ma commune kernel per person: hub start, cold login, warm first widget, switch."""
    say(f"hub A — MINDIT_VOILA_POOLS='{WARM_POOLS}'")
    hub = janitor.start(tmp / "hub-a", config, WARM_POOLS)
    out: dict = {"start": hub.started_seconds}
    say(f"  hub start → healthy: {hub.started_seconds:.2f} s")
    password = add_people(hub, {"liege": LIEGE})["liege"]
    context, page, out["cold"] = browser_login(browser, hub, "liege", password)
    out["spawn"] = spawn_seconds(hub, "liege") or 0.0
    say(f"  cold login → first widget: {out['cold']:.2f} s (server start {out['spawn']:.2f} s)")
    session = hub.login("liege", password)
    server_login(hub, session, "liege")
    say(f"  pool warm again {wait_pool_warm(hub, session, 'liege'):.1f} s later")
    answered, charted = switch_times(page, repeats)
    out["switch"], out["switch_answer"] = statistics.median(charted), statistics.median(answered)
    say("  indicator switch → chart: " + ", ".join(f"{s * 1000:.0f}" for s in charted)
        + " ms (kernel answer in page: " + ", ".join(f"{s * 1000:.0f}" for s in answered) + " ms)")
    warm, alone = [], []
    for _ in range(repeats):
        wait_pool_warm(hub, session, "liege")
        warm.append(timed("first widget, pool warm", lambda: browser_first_widget(context, hub, "liege")))
    context.close()
    for _ in range(repeats):
        wait_pool_warm(hub, session, "liege")
        alone.append(timed("HTTP page, one person alone, pool warm",
                           lambda: fetch_page(session, page_url(hub, "liege"))))
    out["warm"], out["alone"] = statistics.median(warm), statistics.median(alone)
    wait_pool_warm(hub, session, "liege")
    return hub, out


def phase_concurrent(hub: HubProcess, communes: list[tuple[str, str]], rounds: int, parallel: int) -> dict:
    """N people of N communes: servers started (``parallel`` at a time), pools filled, then every round all of
    them GET their Ma commune page at once (each from its own thread and logged-in session)."""
    people = {f"bench{i + 1:02d}": refnis for i, (refnis, _) in enumerate(communes)}
    say(f"{len(people)} people of different communes ({', '.join(name for _, name in communes[:5])}, …)")
    passwords = add_people(hub, people)
    with ThreadPoolExecutor(parallel) as pool:
        sessions = dict(zip(people, pool.map(lambda u: hub.login(u, passwords[u]), people), strict=True))
    t0 = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        spawns = list(pool.map(lambda u: start_server(hub, sessions[u], u), people))
    say(f"  {len(people)} servers started in {time.perf_counter() - t0:.1f} s ({parallel} at a time; "
        f"each {min(spawns):.1f}–{max(spawns):.1f} s)")
    t0 = time.perf_counter()
    warm_all(hub, sessions, parallel)
    say(f"  every pre-heated kernel ready {time.perf_counter() - t0:.1f} s later")
    times: list[float] = []
    errors: list[str] = []
    for r in range(rounds):
        got, failed = one_round(hub, sessions)
        errors += failed
        times += got
        say(f"  round {r + 1}: {len(got)} pages, p50 {percentile(got, 50):.2f} s, p95 {percentile(got, 95):.2f} s, "
            f"max {max(got):.2f} s" if got else f"  round {r + 1}: no page")
        if r + 1 < rounds:
            t0 = time.perf_counter()
            warm_all(hub, sessions, parallel)
            say(f"  every pool refilled and pre-heated {time.perf_counter() - t0:.1f} s later")
    kernels, gb, cpu = kernels_of(hub)
    return {"times": times, "errors": errors, "spawns": spawns, "kernels": kernels, "gb": gb, "cpu": cpu}


def warm_all(hub: HubProcess, sessions: dict[str, requests.Session], parallel: int) -> None:
    """:func:`wait_pool_warm` for every person."""
    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(lambda u: wait_pool_warm(hub, sessions[u], u, timeout=300), sessions))


def one_round(hub: HubProcess, sessions: dict[str, requests.Session]) -> tuple[list[float], list[str]]:
    """Every person GETs their own page at the same moment (one thread each); page times and errors."""
    barrier = threading.Barrier(len(sessions))
    got: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def visit(user: str) -> None:
        barrier.wait()
        try:
            seconds = fetch_page(sessions[user], page_url(hub, user))
            with lock:
                got.append(seconds)
        except (RuntimeError, requests.RequestException) as exc:
            with lock:
                errors.append(f"{user}: {exc}")

    threads = [threading.Thread(target=visit, args=(u,), daemon=True) for u in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return got, errors


def import_floor() -> float:
    """Seconds for a bare interpreter to import JupyterHub's application (the floor of any hub start)."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import jupyterhub.app"], check=True)
    return time.perf_counter() - t0


def province_communes(config: Config) -> list[tuple[str, str]]:
    from mindit_lib.store import Store
    from mindit_lib.territories import Territories

    with Store(config.store_path, read_only=True) as store:
        territories = Territories(store.territories())
    return [(t.refnis, t.name_fr) for t in sorted(territories.communes_of(config.province), key=lambda t: t.refnis)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=20, help="concurrent people, one commune each (default 20)")
    parser.add_argument("--rounds", type=int, default=2, help="pages per person in the concurrent phase")
    parser.add_argument("--repeats", type=int, default=3, help="repetitions of the single-person timings")
    parser.add_argument("--parallel", type=int, default=4, help="servers started at a time (default 4)")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).is_file():
        parser.error(f"{CHROMIUM} is missing: install the Debian package chromium")
    config = load_config()
    communes = [c for c in province_communes(config) if c[0] != LIEGE][: args.users]
    if len(communes) < args.users:
        parser.error(f"--users {args.users}: the province has {len(communes) + 1} communes")

    def interrupted(signum, frame):  # SIGTERM behaves like Ctrl-C: the finally below stops everything
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    from playwright.sync_api import sync_playwright

    janitor = Janitor()
    t_run = time.perf_counter()
    say(f"{psutil.cpu_count()} cores · load average at start {load()}"
        + ("  (other work is running: absolute times are inflated, compare the ratios)"
           if os.getloadavg()[0] > 0.5 * (psutil.cpu_count() or 1) else ""))
    try:
        with tempfile.TemporaryDirectory(prefix="mindit-hub-bench-") as tmp, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                floor = import_floor()
                say(f"python -c 'import jupyterhub.app': {floor:.2f} s")
                b = phase_no_pool(janitor, browser, config, Path(tmp), args.repeats)
                hub, a = phase_pooled(janitor, browser, config, Path(tmp), args.repeats)
            finally:
                browser.close()
            c = phase_concurrent(hub, communes, args.rounds, args.parallel)
            janitor.stop_all()
    except KeyboardInterrupt:
        say("interrupted: stopping every process started")
        return 130
    finally:
        janitor.stop_all()
    times = c["times"]
    n_pages = args.users * args.rounds
    rows = [
        Row("hub start → /hub/health 200 (hub A)", a["start"], None, "import jupyterhub.app", floor),
        Row("cold login → first widget (spawn included)", a["cold"], TARGETS["cold"], "warm first widget",
            a["warm"]),
        Row("first widget, server running, pool warm", a["warm"], TARGETS["warm"], "same, no pool (hub B)",
            b["warm"]),
        Row("indicator switch → updated chart", a["switch"], TARGETS["switch"], "kernel answer in page",
            a["switch_answer"]),
        Row(f"page time p95, {args.users} people at once", percentile(times, 95), TARGETS["p95"],
            "one person alone", a["alone"]),
    ]
    say("")
    say(f"{'measured (median of ' + str(args.repeats) + ' unless said)':<46} {'value':>9}  {'target':>9}  "
        f"{'status':<6}  {'ratio':>6}  baseline (same run)")
    for row in rows:
        say(row.line())
    say(f"  p50 {percentile(times, 50):.2f} s · max {max(times):.2f} s · {len(times)}/{n_pages} pages"
        f" · {len(c['errors'])} errors · page = GET of the dashboard HTML through the proxy, to its last byte")
    say(f"  hub B (no pool): start {b['start']:.2f} s · cold {b['cold']:.2f} s · HTTP page {b['http']:.2f} s"
        f" vs {a['alone']:.2f} s with a warm pool")
    say(f"  hub A: server start in the cold login {a['spawn']:.2f} s · {args.users} servers started "
        f"{min(c['spawns']):.1f}–{max(c['spawns']):.1f} s each · {c['kernels']} kernels alive at the end "
        f"({c['gb']:.1f} GB resident, median {c['cpu']:.1f} CPU s each: the cost of one pre-heat)")
    for err in c["errors"][:5]:
        say(f"  error: {err}")
    say(f"whole run {time.perf_counter() - t_run:.0f} s · load average at the end {load()}")
    return 1 if c["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
