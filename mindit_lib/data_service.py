"""The hub-managed data service: private data of communes, served only to their own users, every access logged.

JupyterHub starts it (``hub_config/jupyterhub_config.py`` → ``services``) and proxies it at
``/services/mindit-data/``. Callers authenticate with the hub: a browser through the hub's OAuth (an
unauthenticated visit is sent to the login page), a user's kernel with the token the hub gave its server
(``Authorization: token …``). For every request the service asks the hub for the caller's *current* groups
(never trusting anything the caller sends) and applies :func:`mindit_lib.access.may_read_private`.

Routes (under the service prefix)::

    GET api/me                                   → {"name", "groups", "admin", "communes"}
    GET api/communes/<refnis>/datasets           → {"refnis", "datasets": [metadata…]}    (403 if not entitled)
    GET api/communes/<refnis>/datasets/<name>    → the CSV, exact bytes                  (403 if not entitled)

Each access is a JSON line in ``<hub_dir>/data-access.log``: time, user, action, commune, dataset, allowed,
HTTP status, client address. Errors carry a neutral French message and no detail.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlparse

from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler, HubOAuthenticated
from jupyterhub.utils import url_path_join
from tornado import httpclient, ioloop, web
from tornado.httpserver import HTTPServer

from mindit_lib import contrib
from mindit_lib.access import communes_from_groups, may_read_private
from mindit_lib.config import load_config

log = logging.getLogger("mindit.data_service")

MESSAGES = {
    400: "Requête invalide.",
    401: "Connectez-vous à Mind it pour accéder à ces données.",
    403: "Vous n'avez pas accès aux données privées de cette commune.",
    404: "Ressource introuvable.",
    405: "Méthode non permise.",
}


class AccessLog:
    """Append-only JSON-lines log of every access (who, what, when, allowed or not)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, **entry: object) -> None:
        entry = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"), **entry}
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)
        log.info("access %s", line.strip())


class BaseHandler(HubOAuthenticated, web.RequestHandler):
    """Hub-authenticated handler: neutral errors, the caller's groups fetched from the hub."""

    @property
    def access_log(self) -> AccessLog:
        return self.settings["access_log"]

    @property
    def private_dir(self) -> Path:
        return self.settings["private_dir"]

    async def caller_model(self) -> dict:
        """The caller's hub model with their current groups (asked to the hub with the service's token)."""
        user = self.current_user
        auth = self.hub_auth
        url = url_path_join(auth.api_url, "users", quote(user["name"], safe=""))
        resp = await httpclient.AsyncHTTPClient().fetch(
            url, headers={"Authorization": f"token {auth.api_token}"}, request_timeout=10)
        model = json.loads(resp.body)
        return {"name": model["name"], "groups": sorted(model.get("groups") or []), "admin": bool(model.get("admin"))}

    def write_error(self, status_code: int, **kwargs: object) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps({"status": status_code, "message": MESSAGES.get(status_code, "Erreur du service.")},
                               ensure_ascii=False))

    def log_exception(self, typ, value, tb) -> None:  # details to the server log only
        if isinstance(value, web.HTTPError) and value.status_code < 500:
            return
        log.error("error in %s %s", self.request.method, self.request.path, exc_info=(typ, value, tb))

    def json(self, payload: object) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(payload, ensure_ascii=False))

    async def entitled(self, refnis: str, action: str, dataset: str | None = None) -> dict:
        """Check the caller may read commune ``refnis``'s private data; log the attempt either way."""
        model = await self.caller_model()
        allowed = may_read_private(model["groups"], refnis)
        self.access_log.write(user=model["name"], action=action, commune=refnis, dataset=dataset, allowed=allowed,
                              status=200 if allowed else 403, client=self.request.remote_ip)
        if not allowed:
            raise web.HTTPError(403)
        return model


class MeHandler(BaseHandler):
    @web.authenticated
    async def get(self) -> None:
        model = await self.caller_model()
        self.json({**model, "communes": list(communes_from_groups(model["groups"]))})


class DatasetsHandler(BaseHandler):
    @web.authenticated
    async def get(self, refnis: str) -> None:
        await self.entitled(refnis, "list")
        datasets = contrib.list_private_datasets(self.private_dir, refnis)
        self.json({"refnis": refnis, "datasets": [
            {"name": d.name, "rows": d.rows, "columns": d.columns, "added": d.added, "bytes": d.bytes,
             "sha256": d.sha256} for d in datasets]})


class DatasetHandler(BaseHandler):
    @web.authenticated
    async def get(self, refnis: str, name: str) -> None:
        await self.entitled(refnis, "read", name)
        try:
            data = contrib.read_private_dataset(self.private_dir, refnis, name)
        except (FileNotFoundError, contrib.ContributionError):
            raise web.HTTPError(404) from None
        self.set_header("Content-Type", "text/csv; charset=utf-8")
        self.set_header("Content-Disposition", f'attachment; filename="{refnis}_{name}.csv"')
        self.set_header("Cache-Control", "no-store")
        self.finish(data)


class RootHandler(BaseHandler):
    """The service's root: 200 for the hub's health check, nothing else."""

    def get(self) -> None:
        self.json({"service": "mindit-data", "status": "ok"})


def make_app(prefix: str, private_dir: Path, access_log: AccessLog) -> web.Application:
    """The tornado application of the service, routes under ``prefix`` (``/services/mindit-data/``)."""
    hub_auth = HubOAuth(cache_max_age=0)
    refnis, name = r"(\d{5})", r"([a-z0-9][a-z0-9_-]{0,63})"
    return web.Application(
        [
            (prefix, RootHandler),
            (url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler),
            (url_path_join(prefix, "api/me"), MeHandler),
            (url_path_join(prefix, f"api/communes/{refnis}/datasets"), DatasetsHandler),
            (url_path_join(prefix, f"api/communes/{refnis}/datasets/{name}"), DatasetHandler),
        ],
        hub_auth=hub_auth, cookie_secret=os.urandom(32), private_dir=Path(private_dir), access_log=access_log,
        default_handler_class=NotFoundHandler,
    )


class NotFoundHandler(BaseHandler):
    def prepare(self) -> None:
        raise web.HTTPError(404)


def main() -> None:
    """Run the service as JupyterHub starts it (environment: JUPYTERHUB_SERVICE_URL, …_PREFIX, API token)."""
    logging.basicConfig(level=logging.INFO, format="[%(levelname)s %(asctime)s %(name)s] %(message)s",
                        stream=sys.stderr)
    config = load_config()
    url = urlparse(os.environ["JUPYTERHUB_SERVICE_URL"])
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/mindit-data/")
    app = make_app(prefix, config.private_dir, AccessLog(config.hub_dir / "data-access.log"))
    server = HTTPServer(app, xheaders=True)
    server.listen(url.port, url.hostname)
    loop = ioloop.IOLoop.current()

    def stop(*_: object) -> None:  # the hub waits for its services on shutdown: exit at once on SIGTERM
        loop.add_callback_from_signal(loop.stop)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("Mind it data service on %s%s (private data in %s)", url.netloc, prefix, config.private_dir)
    loop.start()


if __name__ == "__main__":
    main()
