"""Run the JupyterHub of Mind it and manage its accounts (``mindit hub``, ``mindit users add``).

Accounts come from a CSV (UTF-8, ``,`` or ``;``), one person per line:

========== ===============================================================================================
username   login, 1–32 characters a-z 0-9 ``_`` ``-`` starting with a letter (also the Unix account name)
communes   the communes the person works for: REFNIS codes or names, separated by ``|`` (may be empty)
groups     ``province`` and/or ``analysts``, separated by ``|`` (may be empty)
admin      ``oui``/``non`` (optional; hub administrators approve sign-ups, deactivate, reset passwords)
password   optional first password (≥ 10 characters); empty = a random one is generated
========== ===============================================================================================

The whole file is checked before anything is written. First passwords are written to a file readable by
the hub's account only (``<hub_dir>/first-passwords-<time>.csv``), never printed: hand each one over by a
separate channel; people change it at ``/hub/change-password``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pwd
import re
import secrets
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from mindit_lib.access import ANALYSTS_GROUP, PROVINCE_GROUP, group_for_commune
from mindit_lib.atomic_files import atomic_path
from mindit_lib.config import REPO_ROOT, Config
from mindit_lib.territories import Territories, TerritoryError

HUB_CONFIG = REPO_ROOT / "hub_config" / "jupyterhub_config.py"
USERNAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
TRUE_WORDS = {"oui", "yes", "true", "1", "ja", "x"}
FALSE_WORDS = {"non", "no", "false", "0", "nein", ""}
SPAWNERS = ("isolated", "simple")


class HubError(RuntimeError):
    """The hub cannot be started or an account file is refused; the message says what to do."""


@dataclass
class Account:
    """One person of the accounts CSV."""

    username: str
    groups: list[str] = field(default_factory=list)
    admin: bool = False
    password: str | None = None
    line: int = 0


def _split(cell: str | None) -> list[str]:
    return [part.strip() for part in re.split(r"[|]", cell or "") if part.strip()]


def read_accounts(path: str | Path, territories: Territories, province: str) -> list[Account]:
    """Read and check an accounts CSV (see the module docstring); every problem is listed with its line.

    Communes must be communes of the configured ``province``.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise HubError(f"{path}: cannot read the accounts file as UTF-8 text ({exc}).") from None
    first = text.splitlines()[0] if text.strip() else ""
    reader = csv.DictReader(io.StringIO(text), delimiter=";" if first.count(";") > first.count(",") else ",")
    if not reader.fieldnames or "username" not in [f.strip() for f in reader.fieldnames]:
        raise HubError(f"{path}, line 1: a header with at least the column 'username' is needed "
                       "(columns: username, communes, groups, admin, password).")
    unknown_cols = {f.strip() for f in reader.fieldnames} - {"username", "communes", "groups", "admin", "password",
                                                             "email", "name"}
    if unknown_cols:
        raise HubError(f"{path}, line 1: unknown column(s) {sorted(unknown_cols)}; "
                       "known: username, communes, groups, admin, password, email, name.")
    problems: list[str] = []
    accounts: list[Account] = []
    seen: set[str] = set()
    communes_of_province = {t.refnis for t in territories.communes_of(province)}
    for number, raw in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
        name = row.get("username", "").lower()
        if not USERNAME.match(name):
            problems.append(f"line {number}: username {row.get('username')!r} — use 1–32 characters a-z, 0-9, "
                            "'_' or '-', starting with a letter.")
            continue
        if name in seen:
            problems.append(f"line {number}: username {name!r} appears twice.")
        seen.add(name)
        groups: list[str] = []
        for commune in _split(row.get("communes")):
            try:
                t = territories.get(commune)
            except TerritoryError as exc:
                problems.append(f"line {number}: commune {commune!r}: {exc}")
                continue
            if t.refnis not in communes_of_province:
                problems.append(f"line {number}: {t.display_name} ({t.refnis}) is not a commune of the province "
                                f"{province}.")
                continue
            groups.append(group_for_commune(t.refnis))
        for group in _split(row.get("groups")):
            if group.lower() not in (PROVINCE_GROUP, ANALYSTS_GROUP):
                problems.append(f"line {number}: group {group!r} — use 'province' and/or 'analysts' "
                                "(communes go in the column 'communes').")
            else:
                groups.append(group.lower())
        admin_word = row.get("admin", "").lower()
        if admin_word not in TRUE_WORDS | FALSE_WORDS:
            problems.append(f"line {number}: admin {row.get('admin')!r} — use oui or non.")
        password = row.get("password") or None
        if password is not None and len(password) < 10:
            problems.append(f"line {number}: the password of {name} is shorter than 10 characters.")
        accounts.append(Account(name, sorted(set(groups)), admin_word in TRUE_WORDS, password, number))
    if problems:
        raise HubError(f"{path}: nothing was created, {len(problems)} problem(s):\n  " + "\n  ".join(problems))
    if not accounts:
        raise HubError(f"{path}: no account in the file.")
    return accounts


# -- the hub's REST API, with the accounts service's token ------------------------------------------------------
class HubAPI:
    """Minimal client of the hub's REST API (token of the ``mindit-accounts`` service)."""

    def __init__(self, api_url: str, token: str):
        self.api_url = api_url.rstrip("/")
        self.token = token

    def request(self, method: str, path: str, body: object | None = None, ok: tuple[int, ...] = (200, 201, 204)):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.api_url + path, data=data, method=method, headers={
            "Authorization": f"token {self.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 (the local hub)
                payload = resp.read()
                return json.loads(payload) if payload else None
        except urllib.error.HTTPError as exc:
            if exc.code in ok:
                return None
            raise HubError(f"the hub refused {method} {path}: HTTP {exc.code} {exc.read()[:200]!r}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise HubError(f"the hub does not answer at {self.api_url} ({exc}): start it with `mindit hub` "
                           "(or set MINDIT_HUB_PORT to its API port).") from None


def hub_api(config: Config) -> HubAPI:
    """The API client for the hub of this configuration (it must have been started once)."""
    token_file = config.hub_dir / "accounts-service.token"
    if not token_file.exists():
        raise HubError(f"no hub state in {config.hub_dir}: start the hub once with `mindit hub`.")
    port = os.environ.get("MINDIT_HUB_PORT", "8081")
    return HubAPI(f"http://127.0.0.1:{port}/hub/api", token_file.read_text().strip())


def set_native_password(db_path: Path, username: str, password: str, *, authorize: bool = True) -> None:
    """Create or update a NativeAuthenticator account (bcrypt hash) in the hub's sqlite database."""
    import bcrypt
    import sqlalchemy as sa
    from nativeauthenticator.orm import Base, UserInfo

    engine = sa.create_engine(f"sqlite:///{db_path}")
    Base.metadata.create_all(engine)
    with sa.orm.Session(engine) as db:
        info = db.query(UserInfo).filter(UserInfo.username == username).first()
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt())
        if info is None:
            db.add(UserInfo(username=username, password=hashed, is_authorized=authorize))
        else:
            info.password = hashed
            info.is_authorized = authorize
        db.commit()
    engine.dispose()


def native_account_exists(db_path: Path, username: str) -> bool:
    """Whether NativeAuthenticator already has this person (their password is then left as it is)."""
    import sqlalchemy as sa

    engine = sa.create_engine(f"sqlite:///{db_path}")
    try:
        with engine.connect() as con:
            has_table = sa.inspect(con).has_table("users_info")
            return has_table and con.execute(
                sa.text("SELECT 1 FROM users_info WHERE username = :u"), {"u": username}).first() is not None
    finally:
        engine.dispose()


def ensure_unix_account(username: str) -> bool:
    """Create the person's Unix account (home 0700, no login shell) when missing; True when created."""
    try:
        pwd.getpwnam(username)
        return False
    except KeyError:
        pass
    if os.geteuid() != 0:
        raise HubError(f"the isolated spawner needs a Unix account {username!r}: run as root, or create it "
                       "yourself (useradd), or start the hub with --spawner simple (no isolation).")
    subprocess.run(["useradd", "--create-home", "--shell", "/usr/sbin/nologin", "--user-group", username],
                   check=True, capture_output=True)
    home = Path(pwd.getpwnam(username).pw_dir)
    os.chmod(home, 0o700)
    return True


def add_accounts(config: Config, accounts: list[Account], *, spawner: str = "isolated",
                 reset_passwords: bool = False) -> tuple[Path | None, list[str]]:
    """Create or update the accounts in the running hub (users, groups, admin flag, native passwords).

    Returns
    -------
    (Path or None, list of str)
        The file of first passwords (None when no password was set) and a line per account for the terminal.
    """
    api = hub_api(config)
    db_path = config.hub_dir / "jupyterhub.sqlite"
    api.request("GET", "/")  # fails early, with the message, when the hub is not running
    existing_groups = {g["name"] for g in api.request("GET", "/groups") or []}
    passwords: list[tuple[str, str]] = []
    report: list[str] = []
    out = config.hub_dir / f"first-passwords-{datetime.now():%Y%m%d-%H%M%S}.csv"
    for acc in accounts:
        if spawner == "isolated":
            ensure_unix_account(acc.username)
        api.request("POST", f"/users/{acc.username}", {"admin": acc.admin}, ok=(409,))
        api.request("PATCH", f"/users/{acc.username}", {"admin": acc.admin})
        current = set((api.request("GET", f"/users/{acc.username}") or {}).get("groups") or [])
        for group in acc.groups:
            if group not in existing_groups:
                api.request("POST", f"/groups/{group}", ok=(409,))
                existing_groups.add(group)
            api.request("POST", f"/groups/{group}/users", {"users": [acc.username]})
        for group in sorted(current - set(acc.groups)):
            api.request("DELETE", f"/groups/{group}/users", {"users": [acc.username]})
        if acc.password or reset_passwords or not native_account_exists(db_path, acc.username):
            password = acc.password or secrets.token_urlsafe(12)
            if not acc.password:
                # recorded before it is set, so that a failure further on never loses a password already in use
                passwords.append((acc.username, password))
                _write_passwords(out, passwords)
            set_native_password(db_path, acc.username, password)
            state = "password set"
        else:
            state = "password unchanged"
        report.append(f"{acc.username}: {', '.join(acc.groups) or 'no group'}{' · admin' if acc.admin else ''}"
                      f" · {state}")
    return (out if passwords else None), report


def _write_passwords(out: Path, passwords: list[tuple[str, str]]) -> None:
    with atomic_path(out) as tmp:
        os.chmod(tmp, 0o600)
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["username", "first_password"])
            writer.writerows(passwords)


def hub_environment(config: Config, *, bind_url: str, hub_port: int, proxy_api_port: int, service_port: int,
                    spawner: str, admins: list[str]) -> dict[str, str]:
    """The environment `mindit hub` gives JupyterHub (read by hub_config/jupyterhub_config.py)."""
    if spawner not in SPAWNERS:
        raise HubError(f"unknown spawner {spawner!r}: use {' or '.join(SPAWNERS)}.")
    env = dict(os.environ)
    env.update({
        "MINDIT_HUB_BIND_URL": bind_url, "MINDIT_HUB_PORT": str(hub_port), "MINDIT_PROXY_API_PORT": str(proxy_api_port),
        "MINDIT_DATA_SERVICE_PORT": str(service_port), "MINDIT_HUB_SPAWNER": spawner,
        "MINDIT_HUB_ADMINS": ",".join(admins), "MINDIT_HUB_DIR": str(config.hub_dir),
        "MINDIT_PRIVATE_DIR": str(config.private_dir), "MINDIT_STORE": str(config.store_path),
        "MINDIT_OUTPUT": str(config.output_dir), "MINDIT_SOURCE_DIR": str(config.source_dir),
    })
    if config.config_file:
        env["MINDIT_CONFIG"] = str(config.config_file)
    return env


def check_ready(config: Config, spawner: str) -> None:
    """Refuse to start when something the hub needs is missing (with what to run)."""
    chp = REPO_ROOT / "hub_config" / "node_modules" / ".bin" / "configurable-http-proxy"
    if not chp.exists() and not shutil.which("configurable-http-proxy"):
        raise HubError("configurable-http-proxy is not installed: run `bash scripts/setup.sh`.")
    if not config.store_path.exists():
        raise HubError(f"no store at {config.store_path}: run `mindit import` first.")
    if spawner == "isolated" and os.geteuid() != 0:
        raise HubError("the isolated spawner (one Unix account per person) needs the hub to run as root; "
                       "for a personal test use `mindit hub --spawner simple` (no isolation between people).")
    for folder in (config.hub_dir, config.private_dir):
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)


def hub_command() -> list[str]:
    """The command that runs JupyterHub with the project's configuration."""
    return [str(Path(sys.executable).parent / "jupyterhub"), "-f", str(HUB_CONFIG)]
