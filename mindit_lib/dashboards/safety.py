"""No leaks: every dashboard error becomes a neutral French message with an incident id; details go to the log.

A traceback, a file path or an environment value must never reach the page or a websocket message. Inside a
Jupyter kernel, ``sys.stderr`` is forwarded to the browser (ipykernel also captures file descriptor 2), so the
log handler writes to the kernel's *original* stderr — the Jupyter server's own log, where ipykernel sends its
own logs — and, when ``MINDIT_DASHBOARD_LOG`` names a file, to that file too.
"""

from __future__ import annotations

import functools
import html
import io
import logging
import os
import sys
import uuid
from collections.abc import Callable
from typing import Any

LOGGER_NAME = "mindit.dashboards"
#: environment variable naming an extra log file for dashboard incidents
LOG_FILE_ENV = "MINDIT_DASHBOARD_LOG"
NEUTRAL_MESSAGE = "Une erreur est survenue (incident {incident}). L'équipe Mind it a été prévenue."
NEUTRAL_MESSAGE_DE = "Ein Fehler ist aufgetreten (Vorfall {incident}). Das Mind-it-Team wurde benachrichtigt."
MESSAGE_CLASS = "mindit-incident"


def _server_stderr() -> io.TextIOBase:
    """A text stream on the process's original stderr (the Jupyter server log), not ipykernel's forwarder."""
    try:
        fd = sys.stderr.fileno()  # ipykernel's OutStream answers with its copy of the original fd 2
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        fd = 2
    return io.TextIOWrapper(io.FileIO(os.dup(fd), "w"), encoding="utf-8", errors="replace", line_buffering=True)


def logger() -> logging.Logger:
    """The dashboards' logger (configured once: server stderr, plus ``$MINDIT_DASHBOARD_LOG`` when set)."""
    log = logging.getLogger(LOGGER_NAME)
    if not getattr(log, "_mindit_configured", False):
        log.setLevel(logging.INFO)
        log.propagate = False  # the root logger of a kernel may print to the page
        fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
        handlers: list[logging.Handler] = [logging.StreamHandler(_server_stderr())]
        if os.environ.get(LOG_FILE_ENV):
            handlers.append(logging.FileHandler(os.environ[LOG_FILE_ENV], encoding="utf-8"))
        for handler in handlers:
            handler.setFormatter(fmt)
            log.addHandler(handler)
        log._mindit_configured = True  # type: ignore[attr-defined]
    return log


def new_incident_id() -> str:
    """Eight hexadecimal characters, enough to find one incident in the log."""
    return uuid.uuid4().hex[:8]


def report_incident(where: str, exc: BaseException | None = None) -> str:
    """Log an exception with its traceback and a fresh incident id; return the id (safe to show)."""
    incident = new_incident_id()
    user = os.environ.get("JUPYTERHUB_USER", "-")
    logger().error("incident %s in %s (user %s)", incident, where, user,
                   exc_info=(type(exc), exc, exc.__traceback__) if exc is not None else True)
    return incident


def neutral_message(incident: str, lang: str = "fr") -> str:
    """The text shown to the user: no exception text, no path, only the incident id."""
    template = NEUTRAL_MESSAGE_DE if lang == "de" else NEUTRAL_MESSAGE
    return template.format(incident=incident)


def neutral_html(incident: str, lang: str = "fr") -> str:
    """:func:`neutral_message` as an HTML block (class ``mindit-incident``)."""
    return (f'<div class="{MESSAGE_CLASS}" role="alert" style="padding:.6em 1em;border-left:4px solid #c8102e;'
            f'background:#fbeaec;margin:.5em 0">{html.escape(neutral_message(incident, lang), quote=False)}</div>')


def guarded(show: Callable[[str], None], where: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator for widget callbacks: an exception is logged and ``show(neutral_html)`` is called instead.

    Parameters
    ----------
    show : callable
        Receives the neutral HTML message (e.g. sets a status widget's value).
    where : str
        Name of the callback in the log.
    """
    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 — every failure becomes a neutral message
                incident = report_incident(where, exc)
                try:
                    show(neutral_html(incident))
                except Exception:  # noqa: BLE001
                    logger().exception("incident %s: the neutral message could not be shown", incident)
                return None
        return inner
    return wrap


def display_neutral(incident: str, lang: str = "fr") -> None:
    """Display the neutral message as the cell's output (HTML only: no text/plain repr of an exception)."""
    from IPython.display import HTML, display

    display(HTML(neutral_html(incident, lang)))


#: test hook: comma-separated ``<dashboard>.<callback>`` or ``<dashboard>.<callback>=<value>`` entries make that
#: callback (or ``<dashboard>.load``) raise, so the tests can prove that a failure shows only the neutral message
FAULT_ENV = "MINDIT_DASHBOARD_FAULT"


def maybe_fault(where: str, value: object = None) -> None:
    """Raise a deliberate error when ``$MINDIT_DASHBOARD_FAULT`` names this place (and value); else nothing.

    The error text carries a file path and the home directory on purpose: the tests check that neither
    reaches the page.
    """
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    for entry in (e.strip() for e in spec.split(",")):
        name, _, wanted = entry.partition("=")
        if name == where and (not wanted or str(value) == wanted):
            raise RuntimeError(f"injected fault in {where} (value {value!r}) — {__file__} "
                               f"HOME={os.environ.get('HOME')}")
