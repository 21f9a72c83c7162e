"""Refresh the mirror of official files over HTTP(S), for machines with internet access.

Standard library only (``urllib.request``). A download streams into a temporary file beside its target, is
checked (size against ``Content-Length``, SHA-256 when one is expected) and only then replaces the target:
a failed or interrupted download leaves the previous file untouched. Conditional requests (``If-None-Match``
/ ``If-Modified-Since``) use what the server said last time, kept in ``<source_dir>/.mindit-downloads.json``;
an answer ``304 Not Modified`` leaves the file as it is.

Most ``download_url`` entries of the catalogue are landing pages (the publisher gives no stable file
address): those datasets are reported ``manual``, to be downloaded by hand, unless a mirror server is given
(``base_url``, e.g. a province's own file server holding the same layout as the mirror).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mindit_lib.atomic_files import atomic_path
from mindit_lib.config import Config
from mindit_lib.indicators import Catalogue
from mindit_lib.store import sha256_file

#: the state file kept beside the mirror (validators of the last download of each file)
STATE_FILE = ".mindit-downloads.json"

#: a ``download_url`` ending with one of these is a file; anything else is taken for a landing page
DATA_EXTENSIONS = (".csv", ".txt", ".gz", ".zip", ".gpkg", ".geojson", ".xlsx", ".json", ".parquet")

CHUNK = 1 << 16


class DownloadError(OSError):
    """A download failed (HTTP error, timeout, truncated body, wrong checksum); the previous file is untouched."""


@dataclass(frozen=True)
class FetchResult:
    """What happened to one file.

    Attributes
    ----------
    url : str
        Where it was fetched from (for ``manual``: the landing page to download it from by hand).
    path : Path
        The file in the mirror.
    status : str
        ``"downloaded"`` (new content written), ``"unchanged"`` (304, or the same bytes again: not rewritten)
        or ``"manual"`` (the catalogue gives a landing page, not a file).
    bytes : int
        Size of the file now in the mirror (0 when absent).
    sha256 : str | None
        Its SHA-256 (``None`` when absent).
    """

    url: str
    path: Path
    status: str
    bytes: int = 0
    sha256: str | None = None

    def line(self) -> str:
        """One line for the terminal."""
        if self.status == "manual":
            return f"{'manual':<10}  {self.path}  — download it by hand from {self.url}"
        return (f"{self.status:<10}  {self.path}  {self.bytes:>11,} bytes  sha256 {(self.sha256 or '')[:12]}"
                f"  ← {self.url}")


def _read_state(state_file: Path | None) -> dict:
    if state_file is None or not state_file.is_file():
        return {}
    try:
        data = json.loads(state_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # a damaged state only costs one unconditional download
    return data if isinstance(data, dict) else {}


def _write_atomically(path: Path, write) -> None:
    """Write ``path`` through ``write(fh)`` on a temporary file in its folder (flushed to disk), keeping the mode
    of the file it replaces, then ``os.replace`` (:func:`mindit_lib.atomic_files.atomic_path`)."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)


def _save_state(state_file: Path, key: str, entry: dict) -> None:
    state = _read_state(state_file)
    state[key] = entry
    text = json.dumps(state, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    _write_atomically(state_file, lambda fh: fh.write(text.encode("utf-8")))


def _state_key(target: Path, state_file: Path) -> str:
    try:
        return target.resolve().relative_to(state_file.parent.resolve()).as_posix()
    except ValueError:
        return str(target.resolve())


def fetch(url: str, target: Path, *, timeout: float = 60, expected_sha256: str | None = None, opener=None,
          state_file: Path | None = None) -> FetchResult:
    """Download ``url`` into ``target``, atomically.

    Parameters
    ----------
    url : str
        The file's address (``http``, ``https``, or anything ``urllib`` opens).
    target : Path
        Where it goes; its folder is created.
    timeout : float
        Seconds allowed for connecting and for each read (not for the whole transfer).
    expected_sha256 : str, optional
        The file must have this SHA-256 (hex).
    opener : urllib.request.OpenerDirector, optional
        Default ``urllib.request.build_opener()`` (proxies from the environment).
    state_file : Path, optional
        JSON file of validators (ETag, Last-Modified) of earlier downloads; when given, a request is
        conditional if ``target`` still holds the bytes downloaded then, and the new validators are saved.

    Returns
    -------
    FetchResult
        ``downloaded`` or ``unchanged``.

    Raises
    ------
    DownloadError
        Naming the URL and what happened; ``target`` is left as it was and no temporary file remains.
    """
    target = Path(target)
    opener = opener or urllib.request.build_opener()
    key = _state_key(target, state_file) if state_file else ""
    previous = _read_state(state_file).get(key, {}) if state_file else {}
    current = sha256_file(target) if target.is_file() else None
    headers = {"User-Agent": "mindit (mirror refresh)"}
    if current and previous.get("url") == url and previous.get("sha256") == current:
        if previous.get("etag"):
            headers["If-None-Match"] = previous["etag"]
        if previous.get("last_modified"):
            headers["If-Modified-Since"] = previous["last_modified"]
    request = urllib.request.Request(url, headers=headers)
    try:
        response = opener.open(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 304 and current:
            return _done(url, target, "unchanged", current, previous, state_file, key, exc.headers)
        raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise DownloadError(f"{url}: {_describe(reason, timeout)}") from None
    with response:
        if response.headers.get_content_type() == "text/html" and target.suffix.lower() not in (".html", ".htm"):
            raise DownloadError(f"{url}: the server sent a web page (text/html), not the file {target.name}")
        length = response.headers.get("Content-Length")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DownloadError(f"{url}: cannot create {target.parent}: {exc.strerror or exc}") from None
        digest = hashlib.sha256()
        size = 0

        def write(fh) -> None:
            nonlocal size
            while True:
                try:
                    block = response.read(CHUNK)
                except (OSError, http.client.HTTPException) as exc:
                    raise DownloadError(f"{url}: transfer broken after {size:,} bytes "
                                        f"({_describe(exc, timeout)})") from None
                if not block:
                    break
                digest.update(block)
                size += len(block)
                fh.write(block)
            if length is not None and length.isdigit() and size != int(length):
                raise DownloadError(f"{url}: truncated — received {size:,} bytes, the server announced {int(length):,}")
            if expected_sha256 and digest.hexdigest() != expected_sha256.lower():
                raise DownloadError(f"{url}: checksum mismatch — sha256 {digest.hexdigest()}, "
                                    f"expected {expected_sha256.lower()}")
            if digest.hexdigest() == current:
                raise _SameBytes

        try:
            _write_atomically(target, write)
        except _SameBytes:
            return _done(url, target, "unchanged", current, previous, state_file, key, response.headers)
        except DownloadError:
            raise
        except OSError as exc:
            raise DownloadError(f"{url}: cannot write {target}: {exc.strerror or exc}") from None
        return _done(url, target, "downloaded", digest.hexdigest(), previous, state_file, key, response.headers)


class _SameBytes(Exception):
    """The download equals the file already there: keep the file (and its date) as it is."""


def _describe(exc: object, timeout: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"timed out after {timeout:g} s"
    return str(exc) or type(exc).__name__


def _done(url: str, target: Path, status: str, sha: str, previous: dict, state_file: Path | None, key: str,
          headers) -> FetchResult:
    size = target.stat().st_size
    if state_file is not None:
        entry = {"url": url, "sha256": sha, "bytes": size,
                 "etag": headers.get("ETag") or (previous.get("etag") if status == "unchanged" else None),
                 "last_modified": headers.get("Last-Modified")
                 or (previous.get("last_modified") if status == "unchanged" else None),
                 "checked": datetime.now(UTC).isoformat(timespec="seconds")}
        if status == "downloaded" or previous.get("fetched") is None:
            entry["fetched"] = entry["checked"]
        else:
            entry["fetched"] = previous["fetched"]
        try:
            _save_state(state_file, key, entry)
        except OSError as exc:
            raise DownloadError(f"{url}: downloaded, but cannot write {state_file}: {exc.strerror or exc}") from None
    return FetchResult(url, target, status, size, sha)


def looks_like_file(url: str) -> bool:
    """Whether ``url`` names a data file (by its extension) rather than a landing page."""
    return urllib.parse.urlsplit(url).path.lower().endswith(DATA_EXTENSIONS)


def refresh_mirror(config: Config, catalogue: Catalogue, *, datasets: Iterable[str] | None = None,
                   base_url: str | None = None, timeout: float = 60, opener=None,
                   on_result: Callable[[FetchResult], object] | None = None) -> list[FetchResult]:
    """Bring the mirror's files up to date, one per dataset (a file shared by datasets is fetched once).

    Parameters
    ----------
    config : Config
        Gives the mirror folder (``source_dir``); the state file is ``<source_dir>/.mindit-downloads.json``.
    catalogue : Catalogue
        Datasets with their ``mirror_path`` and ``download_url``.
    datasets : iterable of str, optional
        Dataset ids (default: all, in catalogue order).
    base_url : str, optional
        A server holding the mirror's layout: each file is fetched from ``base_url + "/" + mirror_path``.
        Without it, from the dataset's ``download_url`` when that is a file, else reported ``manual``.
    timeout, opener
        As for :func:`fetch`.
    on_result : callable, optional
        Called with each result as soon as it is known (e.g. to print progress).

    Returns
    -------
    list of FetchResult

    Raises
    ------
    DownloadError
        At the first failed download (files fetched before it are in place; the failed one is untouched).
    """
    ids = list(datasets) if datasets else list(catalogue.datasets)
    state_file = config.source_dir / STATE_FILE
    results: list[FetchResult] = []
    seen: set[str] = set()
    for ds in [catalogue.dataset(d) for d in ids]:  # an unknown id fails before anything is fetched
        if ds.mirror_path in seen or ds.role == "register":  # a register is a folder of extracts: put by hand
            continue
        seen.add(ds.mirror_path)
        target = config.source_dir / ds.mirror_path
        url = (base_url.rstrip("/") + "/" + urllib.parse.quote(ds.mirror_path) if base_url
               else ds.download_url if looks_like_file(ds.download_url) else None)
        if url is None:
            result = FetchResult(ds.download_url, target, "manual", target.stat().st_size if target.is_file() else 0)
        else:
            result = fetch(url, target, timeout=timeout, opener=opener, state_file=state_file)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results
