"""Voilà dashboards over the library (Ma commune, Comparer, Carte, Évolutions).

Each notebook of ``notebooks/dashboards/`` holds two calls::

    from mindit_lib.dashboards import open_dashboard
    tableau = open_dashboard("ma_commune")   # build and show the widgets (public figures)
    tableau.start()                           # apply the user's context (after the request, when preheated)

:func:`open_dashboard` never raises: a failure shows a neutral French message with an incident id and the
details go to the server log (see :mod:`mindit_lib.dashboards.safety`). This module stays light (no pandas,
no Altair) so that even a broken install fails politely.
"""

from __future__ import annotations

from typing import Any

#: notebook name → title; the only notebooks that Voilà should render
DASHBOARDS = {"ma_commune": "Ma commune", "comparer": "Comparer", "carte": "Carte", "evolutions": "Évolutions"}


class _Failed:
    """What :func:`open_dashboard` returns when the dashboard could not be built: ``start()`` does nothing."""

    def start(self) -> None:
        return None


def open_dashboard(name: str, **kwargs: Any) -> Any:
    """Build and display one dashboard; on any error display only the neutral message.

    Parameters
    ----------
    name : str
        One of :data:`DASHBOARDS`.
    **kwargs
        Passed to the dashboard class (``config``, ``figs``), for tests.

    Returns
    -------
    Dashboard
        Call its ``start()`` in the next cell (with preheated kernels, that cell runs once the request
        arrives, so the user's context is applied to a kernel that was started before the user was known).
    """
    from mindit_lib.dashboards import safety

    try:
        safety.maybe_fault(f"{name}.load")
        if name not in DASHBOARDS:
            raise KeyError(f"unknown dashboard {name!r}; known: {', '.join(DASHBOARDS)}")
        import importlib

        module = importlib.import_module(f"mindit_lib.dashboards.{name}")
        dashboard = module.DASHBOARD_CLASS(**kwargs)
        dashboard.show()
        return dashboard
    except Exception as exc:  # noqa: BLE001 — never a traceback on the page
        incident = safety.report_incident(f"{name}.load", exc)
        safety.display_neutral(incident)
        return _Failed()
