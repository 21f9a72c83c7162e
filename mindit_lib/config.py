"""One place for every path and setting: ``mindit.toml`` plus environment overrides."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from mindit_lib.codes import normalize_refnis

#: Repository root (the directory that holds ``mindit.toml`` when run from a checkout).
PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent

ENV_OVERRIDES = {
    "MINDIT_PROVINCE": ("province", str),
    "MINDIT_SOURCE_DIR": ("source_dir", Path),
    "MINDIT_STORE": ("store_path", Path),
    "MINDIT_OUTPUT": ("output_dir", Path),
    "MINDIT_HUB_DIR": ("hub_dir", Path),
    "MINDIT_PRIVATE_DIR": ("private_dir", Path),
}


class ConfigError(ValueError):
    """A configuration value is missing or wrong; the message says which and how to fix it."""


@dataclass(frozen=True)
class Config:
    """Resolved settings.

    Attributes
    ----------
    province : str
        REFNIS code (5 characters) of the province covered.
    source_dir : Path
        Local mirror of the official files.
    store_path : Path
        DuckDB file of the store.
    output_dir : Path
        Root folder of the report editions.
    hub_dir : Path
        State of the JupyterHub (sqlite database, secrets, the data service's access log); private to the
        hub's account.
    private_dir : Path
        Data contributed by communes (one folder per commune), read only by the hub's data service; never
        inside a folder a user's kernel can read.
    config_file : Path | None
        File the settings were read from.
    """

    province: str
    source_dir: Path
    store_path: Path
    output_dir: Path
    hub_dir: Path = REPO_ROOT / "data" / "hub"
    private_dir: Path = REPO_ROOT / "data" / "private"
    config_file: Path | None = None

    def with_overrides(self, **kwargs: object) -> Config:
        """Return a copy with some values replaced (paths made absolute)."""
        clean = {k: (Path(v).resolve() if isinstance(v, (str, Path)) and k != "province" else v)
                 for k, v in kwargs.items() if v is not None}
        if "province" in clean:
            clean["province"] = normalize_refnis(clean["province"])
        return replace(self, **clean)


def _find_config_file() -> Path | None:
    env = os.environ.get("MINDIT_CONFIG")
    if env:
        path = Path(env)
        if not path.is_file():
            raise ConfigError(f"MINDIT_CONFIG points to {path}, which is not a file.")
        return path.resolve()
    for candidate in (Path.cwd() / "mindit.toml", REPO_ROOT / "mindit.toml"):
        if candidate.is_file():
            return candidate.resolve()
    return None


def load_config(path: str | Path | None = None) -> Config:
    """Read the configuration.

    Parameters
    ----------
    path : str or Path, optional
        A ``mindit.toml``; default: ``$MINDIT_CONFIG``, else ``./mindit.toml``, else the repository's.

    Returns
    -------
    Config
        Settings with absolute paths; environment variables override the file.
    """
    file = Path(path).resolve() if path else _find_config_file()
    data: dict = {}
    if file is not None:
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: not valid TOML ({exc}). Fix the file or set MINDIT_CONFIG.") from exc
    base = file.parent if file else Path.cwd()
    territory = data.get("territory", {})
    paths = data.get("paths", {})

    def _path(value: object, default: str) -> Path:
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{file}: paths must be text in quotes, got {value!r}.")
        p = Path(value or default)
        return (p if p.is_absolute() else base / p).resolve()

    values = {
        "province": str(territory.get("province", "60000")),
        "source_dir": _path(paths.get("source_dir"), "../shared/data"),
        "store_path": _path(paths.get("store"), "data/mindit.duckdb"),
        "output_dir": _path(paths.get("output"), "reports"),
        "hub_dir": _path(paths.get("hub"), "data/hub"),
        "private_dir": _path(paths.get("private"), "data/private"),
    }
    for env, (key, kind) in ENV_OVERRIDES.items():
        if os.environ.get(env):
            raw = os.environ[env]
            values[key] = Path(raw).resolve() if kind is Path else raw
    try:
        values["province"] = normalize_refnis(values["province"])
    except ValueError as exc:
        raise ConfigError(f"territory.province: {exc}") from exc
    # whether the code is a province is checked against the territory table when it is used
    return Config(config_file=file, **values)
