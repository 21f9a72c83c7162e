"""Who may see what: hub groups → the communes a person is entitled to, and the client of the data service.

JupyterHub holds the people and their groups:

- ``commune-<refnis>`` — staff of that commune (a person may belong to several);
- ``province`` — sees every commune's public dashboards (no private data);
- ``analysts`` — JupyterLab with the library, the notebooks and the store (no private data of communes);
- admins are hub admins.

Public figures are open to every logged-in user. A commune's *private* data (contributed by the commune)
is served only by the hub-managed data service (``mindit_lib.data_service``), which checks the caller's
groups on the server for every request and logs it. Dashboards never decide entitlement themselves: they
ask the service who the caller is (:func:`current_user_context`), with the token the hub gave the user's
server — never from a URL parameter or a widget.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field

COMMUNE_GROUP = re.compile(r"^commune-(\d{5})$")
PROVINCE_GROUP = "province"
ANALYSTS_GROUP = "analysts"
#: the data service's name in the hub (its URL prefix is /services/<name>/)
SERVICE_NAME = "mindit-data"
#: environment variable the hub sets in each user's server: the data service's internal URL
SERVICE_URL_ENV = "MINDIT_DATA_SERVICE_URL"


class AccessError(RuntimeError):
    """The data service refused a request or could not be reached (message safe to show to a user)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def group_for_commune(refnis: str) -> str:
    """``"62063"`` → ``"commune-62063"``."""
    if not re.fullmatch(r"\d{5}", str(refnis)):
        raise ValueError(f"a commune group needs a 5-digit REFNIS code, got {refnis!r}")
    return f"commune-{refnis}"


def communes_from_groups(groups: object) -> tuple[str, ...]:
    """The REFNIS codes of the ``commune-<refnis>`` groups, sorted (other groups are ignored)."""
    found = {m.group(1) for g in groups or () if (m := COMMUNE_GROUP.match(str(g)))}
    return tuple(sorted(found))


def may_read_private(groups: object, refnis: str) -> bool:
    """True when these hub groups entitle a person to the private data of commune ``refnis``.

    Only membership of ``commune-<refnis>`` does: ``province``, ``analysts`` and admins do not (the commune
    shares its own data; sharing between communes is a later, explicit feature).
    """
    return str(refnis) in communes_from_groups(groups)


@dataclass(frozen=True)
class UserContext:
    """The person using a dashboard, as the server sees them.

    Attributes
    ----------
    username : str or None
        Hub user name; None outside the hub (an analyst's own Jupyter, the tests of public dashboards).
    groups : frozenset of str
        Hub groups.
    admin : bool
        Hub administrator.
    """

    username: str | None = None
    groups: frozenset[str] = field(default_factory=frozenset)
    admin: bool = False

    @property
    def communes(self) -> tuple[str, ...]:
        """Communes the person is entitled to (private data, default dashboard)."""
        return communes_from_groups(self.groups)

    @property
    def default_commune(self) -> str | None:
        """The commune a dashboard opens on: the first entitled one, else None (the user picks one)."""
        return self.communes[0] if self.communes else None

    @property
    def province(self) -> bool:
        return PROVINCE_GROUP in self.groups

    @property
    def analyst(self) -> bool:
        return ANALYSTS_GROUP in self.groups

    @property
    def language(self) -> str:
        """``"de"`` when every entitled commune is in the German-language area (reference table), else ``"fr"``."""
        from mindit_lib.sources.boundaries import german_language_area

        own = self.communes
        return "de" if own and set(own) <= german_language_area() else "fr"

    def may_read_private(self, refnis: str) -> bool:
        """See :func:`may_read_private`."""
        return may_read_private(self.groups, refnis)


ANONYMOUS = UserContext()


def _service_request(path: str, *, timeout: float = 10.0) -> tuple[bytes, str]:
    base = os.environ.get(SERVICE_URL_ENV)
    token = os.environ.get("JUPYTERHUB_API_TOKEN")
    if not base or not token:
        raise AccessError("Les données privées ne sont accessibles qu'après connexion à Mind it.", 401)
    req = urllib.request.Request(base.rstrip("/") + path, headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (internal URL from the hub)
            return resp.read(), resp.headers.get_content_type()
    except urllib.error.HTTPError as exc:
        if exc.code == 403:
            raise AccessError("Vous n'avez pas accès aux données privées de cette commune.", 403) from None
        if exc.code == 404:
            raise AccessError("Aucune donnée privée de ce nom pour cette commune.", 404) from None
        raise AccessError("Le service de données de Mind it a refusé la demande.", exc.code) from None
    except (urllib.error.URLError, TimeoutError, OSError):
        raise AccessError("Le service de données de Mind it ne répond pas ; réessayez dans un instant.") from None


def current_user_context() -> UserContext:
    """Who is using this kernel, according to the data service (which asks the hub).

    Outside the hub (no service URL or token in the environment) this is :data:`ANONYMOUS`: public
    figures only, no default commune.
    """
    if not os.environ.get(SERVICE_URL_ENV) or not os.environ.get("JUPYTERHUB_API_TOKEN"):
        return ANONYMOUS
    body, _ = _service_request("/api/me")
    me = json.loads(body)
    return UserContext(me.get("name"), frozenset(me.get("groups") or ()), bool(me.get("admin")))


def list_private_datasets(refnis: str) -> list[dict]:
    """The private datasets of commune ``refnis`` the caller may read (name, rows, added, columns).

    Raises
    ------
    AccessError
        403 when the caller is not entitled to that commune; 401 outside the hub.
    """
    body, _ = _service_request(f"/api/communes/{refnis}/datasets")
    return json.loads(body)["datasets"]


def read_private_dataset(refnis: str, name: str) -> bytes:
    """The exact bytes of one private dataset (CSV, UTF-8) of commune ``refnis``, through the data service."""
    body, _ = _service_request(f"/api/communes/{refnis}/datasets/{name}")
    return body
