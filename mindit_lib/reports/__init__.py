"""The report batch: run the report notebook once per commune (papermill, kept kernels), render each executed
notebook to PDF (nbconvert + Chromium), and record everything in a manifest. Orchestration only: no figure is
computed here.

Public API: :func:`run_batch`, :class:`Manifest`, :class:`CommuneResult`, :func:`render_pdf`,
:func:`validate_notebook`, :class:`NotebookValidationError`, :func:`run_one`.
"""

from mindit_lib.reports.batch import (
    STATUSES,
    CommuneResult,
    CommuneTask,
    Manifest,
    base_hash,
    input_hash,
    run_batch,
    run_one,
)
from mindit_lib.reports.render import DEFAULT_TEMPLATE_DIR, PdfRenderer, notebook_to_html, render_pdf
from mindit_lib.reports.validate import NotebookValidationError, validate_notebook

__all__ = [
    "DEFAULT_TEMPLATE_DIR",
    "STATUSES",
    "CommuneResult",
    "CommuneTask",
    "Manifest",
    "NotebookValidationError",
    "PdfRenderer",
    "base_hash",
    "input_hash",
    "notebook_to_html",
    "render_pdf",
    "run_batch",
    "run_one",
    "validate_notebook",
]
