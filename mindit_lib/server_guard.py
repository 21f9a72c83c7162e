"""What a commune user's Jupyter server allows: the listed dashboards, nothing else.

The hub starts every person's server with a *profile* chosen from their hub groups on the server side
(``hub_config/jupyterhub_config.py``, ``pre_spawn_hook``): ``analyst`` (JupyterLab, the library, the notebooks,
the store) or ``dashboards`` (everyone else). For the ``dashboards`` profile this module provides:

- :class:`DashboardAuthorizer` — Jupyter Server's authorization hook: the REST resources a dashboard does not
  need (contents, files, terminals, sessions, nbconvert, config changes, starting kernels by hand…) answer 403;
- a server extension (:func:`_load_jupyter_server_extension`) that answers 403 to the pages a commune user
  must not open — ``/lab``, ``/tree``, ``/notebooks``, ``/edit``, ``/doc``, ``/terminals``, Voilà's file tree
  and file/contents endpoints — and to any Voilà render outside :data:`DASHBOARDS`;
- with ``MappingKernelManager.allowed_message_types`` (set in the profile) the browser can only talk to widgets
  (comm messages), never send code to the kernel.
"""

from __future__ import annotations

import logging
import re

from jupyter_server.base.handlers import JupyterHandler
from jupyterhub.singleuser.extension import JupyterHubAuthorizer
from tornado import web
from tornado.routing import HostMatches, Rule

log = logging.getLogger("mindit.server_guard")

#: the dashboards a commune user may open (paths relative to notebooks/dashboards/)
DASHBOARDS = ("ma_commune.ipynb", "comparer.ipynb", "carte.ipynb", "evolutions.ipynb")
DEFAULT_DASHBOARD = DASHBOARDS[0]
#: what the browser may send to a dashboard kernel: widget messages only, never code
ALLOWED_KERNEL_MESSAGES = ["comm_open", "comm_close", "comm_msg", "comm_info_request", "kernel_info_request",
                           "shutdown_request"]
#: REST resources → actions a dashboard needs (anything else is refused)
ALLOWED = {
    "kernels": {"read", "execute"},  # the widget websocket of the page's own kernel
    "kernelspecs": {"read"},
    "api": {"read"},  # /api/status, /api/me
    "events": {"read"},
    "csp": {"read", "write"},  # content-security-policy reports
}
#: pages refused to commune users (403, never a hidden link); regular expressions of the path after the base URL
FORBIDDEN_PAGES = (r"(?:lab|tree|notebooks|edit|doc|terminals|files|view|nbconvert)(?:/.*)?",
                   r"api/(?:contents|terminals|sessions|nbconvert)(?:/.*)?", r"voila/?",
                   r"voila/(?:tree|files|api/contents)(?:/.*)?")

REFUSED_PAGE = """<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Mind it</title></head>
<body style="font-family: sans-serif; margin: 3em"><h1>Page non disponible</h1>
<p>Cette page n'est pas disponible pour votre compte. Vos tableaux de bord :</p><ul>{links}</ul></body></html>"""

DASHBOARD_TITLES = {"ma_commune.ipynb": "Ma commune", "comparer.ipynb": "Comparer", "carte.ipynb": "Carte",
                    "evolutions.ipynb": "Évolutions"}


def is_allowed(resource: str, action: str) -> bool:
    """Whether a dashboards-profile server lets its user perform ``action`` on the REST ``resource``."""
    return action in ALLOWED.get(resource, set())


class DashboardAuthorizer(JupyterHubAuthorizer):
    """Jupyter Server authorizer of the ``dashboards`` profile: the hub's scope check, then :func:`is_allowed`."""

    def is_authorized(self, handler, user, action, resource) -> bool:
        if not super().is_authorized(handler, user, action, resource):
            return False
        allowed = is_allowed(resource, action)
        if not allowed:
            log.warning("refused %s %s on %s to %s (%s)", handler.request.method, handler.request.path, resource,
                        getattr(user, "username", "?"), action)
        return allowed


class RefusedHandler(JupyterHandler):
    """403 with a short French page listing the dashboards (and JSON for API paths)."""

    def _refuse(self, *args: object) -> None:
        log.warning("refused page %s %s to %s", self.request.method, self.request.path,
                    getattr(self.current_user, "username", "?"))
        self.set_status(403)
        if "/api/" in self.request.path:
            self.finish({"message": "Accès refusé."})
            return
        base = self.base_url
        links = "".join(f'<li><a href="{base}voila/render/{name}">{DASHBOARD_TITLES[name]}</a></li>'
                        for name in DASHBOARDS)
        self.finish(REFUSED_PAGE.format(links=links))

    get = post = put = patch = delete = head = _refuse

    def check_xsrf_cookie(self) -> None:  # refusing needs no token
        return None


def _guard_rules(base_url: str) -> list[tuple[str, type, dict]]:
    base = re.escape(base_url.rstrip("/"))
    pages = "|".join(FORBIDDEN_PAGES)
    listed = "|".join(re.escape(n) for n in DASHBOARDS)
    return [
        (rf"{base}/(?:{pages})", RefusedHandler, {}),
        (rf"{base}/voila/render/(?!(?:{listed})(?:\?|$)).*", RefusedHandler, {}),
    ]


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "mindit_lib.server_guard"}]


def _load_jupyter_server_extension(serverapp) -> None:
    """Put the refusals first in the server's routing table (before JupyterLab's, Voilà's and the core's)."""
    web_app: web.Application = serverapp.web_app
    rules = _guard_rules(web_app.settings["base_url"])
    router = web._ApplicationRouter(web_app, rules)
    web_app.default_router.rules.insert(0, Rule(HostMatches(".*$"), router))
    # Voilà's pages would load MathJax from a CDN (no internet here, and nothing outside the server): none
    web_app.settings["mathjax_url"] = None
    web_app.settings["mathjax_config"] = None
    serverapp.log.info("Mind it: dashboards profile, only %s", ", ".join(DASHBOARDS))
