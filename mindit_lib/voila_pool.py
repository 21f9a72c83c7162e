"""Pre-heated kernels for Voilà dashboards served inside a person's Jupyter server (behind JupyterHub).

Voilà pre-heats kernels (starts them and runs the dashboard before anyone asks) only when it runs as its own
application; behind JupyterHub it runs as a Jupyter Server extension, where every page waits for a new kernel
(2–3 s). This server extension gives the person's server Voilà's own pooled kernel manager, so that the first
page of a dashboard is served from a kernel that has already run it.

Each person has their own server (and so their own pools): a pre-heated kernel runs with that person's
server token, so the dashboard's :func:`mindit_lib.access.current_user_context` is theirs. Pool sizes come from
``MINDIT_VOILA_POOLS`` (JSON ``{"ma_commune.ipynb": 1}``; the hub sets it); notebooks not listed get none.
"""

from __future__ import annotations

import json
import os
import types

DEFAULT_POOLS = {"ma_commune.ipynb": 1}
POOLS_ENV = "MINDIT_VOILA_POOLS"
FILL_DELAY_ENV = "MINDIT_VOILA_FILL_DELAY"
DEFAULT_FILL_DELAY = 15.0


def pool_sizes(environ: dict[str, str] | None = None) -> dict[str, int]:
    """Pool size per dashboard (path relative to the server's root), from ``MINDIT_VOILA_POOLS``."""
    raw = (environ if environ is not None else os.environ).get(POOLS_ENV)
    if not raw:
        return dict(DEFAULT_POOLS)
    sizes = json.loads(raw)
    if not isinstance(sizes, dict) or not all(isinstance(v, int) and v >= 0 for v in sizes.values()):
        raise ValueError(f"{POOLS_ENV} must be a JSON object of notebook → pool size, got {raw!r}")
    return sizes


def fill_delay(environ: dict[str, str] | None = None) -> float:
    """Seconds before a used pre-heated kernel is replaced (``MINDIT_VOILA_FILL_DELAY``, default
    :data:`DEFAULT_FILL_DELAY`).

    Voilà refills after 1 s; the new kernel then runs the whole dashboard (about 6 CPU seconds) while the page of
    the kernel just taken is still being built — on 2 cores, at a person's first login (the pool kernel is still
    pre-heating), the two share the CPU and the page comes seconds later. Waiting lets the first page finish first.
    """
    raw = (environ if environ is not None else os.environ).get(FILL_DELAY_ENV, "")
    try:
        value = float(raw) if raw else DEFAULT_FILL_DELAY
    except ValueError:
        raise ValueError(f"{FILL_DELAY_ENV} must be a number of seconds, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"{FILL_DELAY_ENV} must be ≥ 0, got {raw!r}")
    return value


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "mindit_lib.voila_pool"}]


def _load_jupyter_server_extension(serverapp) -> None:
    """Replace the server's kernel manager by Voilà's pooled one (before any kernel exists)."""
    from voila.configuration import VoilaConfiguration
    from voila.paths import collect_template_paths
    from voila.voila_kernel_manager import voila_kernel_manager_factory

    sizes = pool_sizes()
    if not any(sizes.values()):
        return
    voila_configuration = VoilaConfiguration(parent=serverapp)
    # what Voilà's pooled manager reads from its parent (the Voilà application when Voilà runs alone)
    serverapp.voila_configuration = voila_configuration
    serverapp.notebook_path = None
    serverapp.app = types.SimpleNamespace(settings=serverapp.web_app.settings)
    serverapp.template_paths = collect_template_paths(["voila", "nbconvert"], voila_configuration.template)
    serverapp.server_url = serverapp.connection_url
    old = serverapp.kernel_manager
    pooled_class = voila_kernel_manager_factory(type(old), True, 0,
                                                page_config_hook=voila_configuration.page_config_hook)
    pools = {"default": {"pool_size": 0}, **{name: {"pool_size": size} for name, size in sizes.items()}}
    manager = pooled_class(parent=serverapp, connection_dir=old.connection_dir,
                           kernel_spec_manager=serverapp.kernel_spec_manager, kernel_pools_config=pools,
                           fill_delay=fill_delay())
    serverapp.kernel_manager = manager
    serverapp.web_app.settings["kernel_manager"] = manager
    serverapp.session_manager.kernel_manager = manager
    serverapp.log.info("Mind it: pre-heated Voilà kernels %s", sizes)
