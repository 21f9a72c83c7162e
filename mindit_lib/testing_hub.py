"""Helpers to run a real JupyterHub of Mind it on free ports and use it as people do (tests, benchmarks).

``HubProcess.start`` runs ``mindit hub`` (proxy, hub, data service) in its own process group with its state
under a work folder; ``add_users`` runs ``mindit users add``; ``login`` goes through the real login form.
"""

from __future__ import annotations

import csv
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from mindit_lib.config import Config

MINDIT = str(Path(sys.executable).parent / "mindit")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(workdir: Path, config: Config) -> Path:
    """A mindit.toml in ``workdir`` with the paths of ``config`` and hub state/private data under ``workdir``."""
    path = workdir / "mindit.toml"
    path.write_text(
        f'[territory]\nprovince = "{config.province}"\n[paths]\nsource_dir = "{config.source_dir}"\n'
        f'store = "{config.store_path}"\noutput = "{config.output_dir}"\nhub = "{workdir / "hub"}"\n'
        f'private = "{workdir / "private"}"\n', encoding="utf-8")
    return path


@dataclass
class HubProcess:
    """A running hub (``mindit hub``) and how to reach it."""

    workdir: Path
    config_file: Path
    url: str
    hub_port: int
    proc: subprocess.Popen
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    started_seconds: float = 0.0

    @classmethod
    def start(cls, workdir: Path, config: Config, *, spawner: str = "simple", admins: tuple[str, ...] = (),
              timeout: float = 60.0, extra_env: dict[str, str] | None = None) -> HubProcess:
        """Start the hub and wait until ``/hub/health`` answers 200 (raises with the log's end otherwise)."""
        workdir.mkdir(parents=True, exist_ok=True)
        config_file = write_config(workdir, config)
        port, hub_port = free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MINDIT_", "JUPYTERHUB_"))}
        env["MINDIT_HUB_PORT"] = str(hub_port)
        env.update(extra_env or {})
        cmd = [MINDIT, "--config", str(config_file), "hub", "--spawner", spawner,
               "--bind-url", f"http://127.0.0.1:{port}", "--hub-port", str(hub_port),
               "--proxy-api-port", str(free_port()), "--service-port", str(free_port())]
        for admin in admins:
            cmd += ["--admin", admin]
        log_path = workdir / "hub.log"
        t0 = time.perf_counter()
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        hub = cls(workdir, config_file, f"http://127.0.0.1:{port}", hub_port, proc, log_path, env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"the hub exited with {proc.returncode}:\n{hub.log_tail()}")
            try:
                if requests.get(f"{hub.url}/hub/health", timeout=2).status_code == 200:
                    hub.started_seconds = time.perf_counter() - t0
                    return hub
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        hub.stop()
        raise RuntimeError(f"the hub did not answer within {timeout:.0f} s:\n{hub.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def mindit(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run a ``mindit`` command against this hub's configuration."""
        result = subprocess.run([MINDIT, "--config", str(self.config_file), *args], env=self.env,
                                capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            raise RuntimeError(f"mindit {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result

    def add_users(self, csv_text: str, *, spawner: str = "simple") -> dict[str, str]:
        """``mindit users add`` with this CSV; returns the first passwords (user → password)."""
        path = self.workdir / f"users-{time.time_ns()}.csv"
        path.write_text(csv_text, encoding="utf-8")
        out = self.mindit("users", "add", str(path), "--spawner", spawner).stdout
        match = re.search(r"first passwords: (\S+)", out)
        if not match:
            return {}
        with open(match.group(1), encoding="utf-8") as fh:
            return {row["username"]: row["first_password"] for row in csv.DictReader(fh)}

    def login(self, username: str, password: str) -> requests.Session:
        """A session logged in through the hub's login form (raises when the hub refuses)."""
        session = requests.Session()
        session.get(f"{self.url}/hub/login", timeout=10)
        resp = session.post(f"{self.url}/hub/login", timeout=60, allow_redirects=False,
                            data={"username": username, "password": password, "_xsrf": session.cookies.get("_xsrf")})
        if resp.status_code != 302:
            raise PermissionError(f"login of {username} refused (HTTP {resp.status_code})")
        return session

    def wait_for_server(self, session: requests.Session, username: str, timeout: float = 60.0) -> float:
        """Start (if needed) and wait for the person's server; returns the seconds it took."""
        t0 = time.perf_counter()
        session.get(f"{self.url}/hub/spawn/{username}", timeout=timeout, allow_redirects=False)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # a page (not an API path) so that the server's OAuth with the hub happens, as in a browser
            page = session.get(f"{self.url}/user/{username}/", timeout=30)
            if page.url.startswith(f"{self.url}/user/{username}/"):
                status = session.get(f"{self.url}/user/{username}/api/status", timeout=10, allow_redirects=False)
                if status.status_code == 200:
                    return time.perf_counter() - t0
            time.sleep(0.2)
        raise RuntimeError(f"the server of {username} did not start within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """Stop the hub and everything it started (its process group)."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
            except ProcessLookupError:
                pass
