"""Executed notebook → HTML (nbconvert, in-process, no code) → PDF (Chromium through Playwright, offline).

:class:`PdfRenderer` keeps one browser open so that a worker pays the browser start once; :func:`render_pdf`
is the one-shot entry point usable on its own.
"""

from __future__ import annotations

import copy
import html
import logging
from pathlib import Path
from typing import Any

import nbformat

from mindit_lib.atomic_files import atomic_write_bytes

log = logging.getLogger(__name__)

#: The print template shipped with the repository (``templates/mindit_report``).
DEFAULT_TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "templates" / "mindit_report"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Must match ``@page`` in ``templates/mindit_report/static/report.css``; the footer is drawn in the bottom margin.
PAGE_MARGINS = {"top": "16mm", "right": "15mm", "bottom": "18mm", "left": "15mm"}
#: Cells carrying one of these tags are left out of the printed report.
REMOVE_CELL_TAGS = {"remove_cell", "remove-cell", "hide"}

_EXPORTERS: dict[Path, Any] = {}


def default_title(name: str | None) -> str:
    return f"Portrait de commune — {name}" if name else "Portrait de commune"


def _ascii_html(text: str) -> str:
    """Escape for HTML and encode non-ASCII characters as entities (Chromium's footer page is picky)."""
    return html.escape(text).encode("ascii", "xmlcharrefreplace").decode("ascii")


def footer_template(edition: str) -> str:
    """Chromium footer: edition on the left, ``Page X / Y`` on the right."""
    return (
        '<div style="font-family:\'DejaVu Sans\',sans-serif;font-size:8px;color:#555;width:100%;'
        'margin:0 15mm;display:flex;justify-content:space-between;">'
        f"<span>Mind it &#8212; {_ascii_html(edition if edition.startswith('édition') else f'édition {edition}')}"
        "</span>"
        '<span>Page <span class="pageNumber"></span> / <span class="totalPages"></span></span></div>'
    )


def _exporter(template_dir: Path):
    template_dir = Path(template_dir).resolve()
    exporter = _EXPORTERS.get(template_dir)
    if exporter is None:
        from nbconvert import HTMLExporter

        exporter = HTMLExporter(
            template_name=template_dir.name,
            extra_template_basedirs=[str(template_dir.parent)],
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
            embed_images=True,
        )
        _EXPORTERS[template_dir] = exporter
    return exporter


def _printable(nb: nbformat.NotebookNode, title: str) -> nbformat.NotebookNode:
    """A copy of ``nb`` fit for paper: title set, tagged cells and stderr streams (warnings, logs) removed."""
    nb = copy.deepcopy(nb)
    nb.metadata["title"] = title
    cells = []
    for cell in nb.cells:
        if REMOVE_CELL_TAGS & set(cell.get("metadata", {}).get("tags", [])):
            continue
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs
                            if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
        cells.append(cell)
    nb.cells = cells
    return nb


def notebook_to_html(nb: nbformat.NotebookNode | Path, *, name: str | None = None, title: str | None = None,
                     template_dir: Path = DEFAULT_TEMPLATE_DIR) -> tuple[str, str]:
    """Render an executed notebook to a standalone HTML page without code or prompts.

    The title is ``title`` if given, else the notebook's metadata ``title``, else ``Portrait de commune — <name>``.
    Returns ``(html, title)``.
    """
    if not isinstance(nb, nbformat.NotebookNode):
        nb = nbformat.read(Path(nb), as_version=4)
    title = title or nb.metadata.get("title") or default_title(name)
    body, _ = _exporter(template_dir).from_notebook_node(_printable(nb, title))
    return body, title


class PdfRenderer:
    """One headless Chromium (Debian's, never downloaded) kept open to print many HTML pages to PDF.

    Use as a context manager, or call :meth:`close`. Every request that is not ``file:``/``data:``/``about:``
    is aborted, so a report cannot reach the network.
    """

    def __init__(self, executable_path: str = CHROMIUM, timeout_ms: float = 60_000):
        from playwright.sync_api import sync_playwright

        self.timeout_ms = timeout_ms
        self.blocked: list[str] = []
        self._pw = sync_playwright().start()
        try:
            self._browser = self._pw.chromium.launch(executable_path=executable_path, args=CHROMIUM_ARGS)
            self._context = self._browser.new_context(java_script_enabled=False, offline=True)
            self._context.route("**/*", self._route)
        except BaseException:
            self._pw.stop()
            raise

    def _route(self, route) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:", "about:")):
            route.continue_()
        else:
            self.blocked.append(url)
            log.warning("blocked network request from a report: %s", url)
            route.abort()

    def pdf_bytes(self, html_text: str, *, edition: str = "") -> bytes:
        page = self._context.new_page()
        try:
            page.set_default_timeout(self.timeout_ms)
            page.set_content(html_text, wait_until="load")
            page.emulate_media(media="print")
            return page.pdf(
                format="A4",
                print_background=True,
                display_header_footer=True,
                header_template="<span></span>",
                footer_template=footer_template(edition),
                margin=PAGE_MARGINS,
                prefer_css_page_size=True,
            )
        finally:
            page.close()

    def render(self, html_text: str, pdf_path: Path, *, edition: str = "") -> Path:
        """Print ``html_text`` to ``pdf_path`` (written atomically)."""
        atomic_write_bytes(Path(pdf_path), self.pdf_bytes(html_text, edition=edition))
        return Path(pdf_path)

    def close(self) -> None:
        for step in (self._context.close, self._browser.close, self._pw.stop):
            try:
                step()
            except Exception:  # noqa: BLE001 - closing must not mask the real error
                log.debug("error while closing the browser", exc_info=True)

    def __enter__(self) -> PdfRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def render_pdf(executed_ipynb: Path, pdf_path: Path, *, name: str | None = None, title: str | None = None,
               edition: str = "", template_dir: Path = DEFAULT_TEMPLATE_DIR,
               renderer: PdfRenderer | None = None) -> Path:
    """Render an executed notebook to an A4 PDF (no code, footer ``Mind it — édition <edition>`` and
    ``Page X / Y``, selectable text, title in the PDF metadata). Pass ``renderer`` to reuse an open browser.
    """
    html_text, _ = notebook_to_html(Path(executed_ipynb), name=name, title=title, template_dir=template_dir)
    if renderer is not None:
        return renderer.render(html_text, pdf_path, edition=edition)
    with PdfRenderer() as own:
        return own.render(html_text, pdf_path, edition=edition)
