"""Check a report notebook before anything runs: one ``parameters`` cell that defines ``refnis``, and no later
cell that overwrites it (papermill injects the value after the ``parameters`` cell, so a later assignment would
silently make every report show the same commune)."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat

PARAMETER = "refnis"


class NotebookValidationError(ValueError):
    """The report notebook cannot be run safely; nothing was executed. The message says what to fix."""


def _python_source(source: str) -> str:
    """Turn IPython syntax (``%magic``, ``!cmd``) into plain Python so that :mod:`ast` can read it."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def _binds_name(node: ast.AST, name: str) -> bool:
    """True if ``node`` (a target or an import alias) binds ``name``."""
    if isinstance(node, ast.Name):
        return node.id == name
    if isinstance(node, (ast.Tuple, ast.List)):
        return any(_binds_name(elt, name) for elt in node.elts)
    if isinstance(node, ast.Starred):
        return _binds_name(node.value, name)
    return False


def _module_level_rebinds(tree: ast.Module, name: str) -> list[int]:
    """Line numbers where ``name`` is (re)bound at module level, or declared ``global`` in a function."""
    lines: list[int] = []

    def visit(stmts: list[ast.stmt]) -> None:
        for stmt in stmts:
            targets: list[ast.AST] = []
            if isinstance(stmt, ast.Assign):
                targets = list(stmt.targets)
            elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
                targets = [stmt.target]
            elif isinstance(stmt, (ast.For, ast.AsyncFor)):
                targets = [stmt.target]
            elif isinstance(stmt, (ast.With, ast.AsyncWith)):
                targets = [item.optional_vars for item in stmt.items if item.optional_vars is not None]
            elif isinstance(stmt, ast.Delete):
                targets = list(stmt.targets)
            elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
                if any((alias.asname or alias.name.split(".")[0]) == name for alias in stmt.names):
                    lines.append(stmt.lineno)
            elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if stmt.name == name:
                    lines.append(stmt.lineno)
                lines.extend(n.lineno for n in ast.walk(stmt) if isinstance(n, ast.Global) and name in n.names)
                continue  # assignments inside are local
            if any(_binds_name(t, name) for t in targets):
                lines.append(stmt.lineno)
            # walrus anywhere in the statement (outside nested functions, good enough)
            lines.extend(n.lineno for n in ast.walk(stmt)
                         if isinstance(n, ast.NamedExpr) and _binds_name(n.target, name))
            for field in ("body", "orelse", "finalbody"):
                visit(getattr(stmt, field, []) or [])
            for handler in getattr(stmt, "handlers", []) or []:
                if handler.name == name:
                    lines.append(handler.lineno)
                visit(handler.body)
            for case in getattr(stmt, "cases", []) or []:
                visit(case.body)

    visit(tree.body)
    return sorted(set(lines))


def validate_notebook(notebook: str | Path, parameter: str = PARAMETER) -> None:
    """Refuse a report notebook that cannot be parameterised safely.

    Checks that exactly one cell is tagged ``parameters``, that it defines ``parameter`` (read with papermill's
    :func:`papermill.inspect_notebook`), and that no later code cell reassigns it.

    Raises
    ------
    NotebookValidationError
        With a message naming the notebook and the offending cell(s).
    """
    from papermill import inspect_notebook

    path = Path(notebook)
    if not path.is_file():
        raise NotebookValidationError(f"{path}: notebook not found.")
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # noqa: BLE001 - any reading problem means "refuse"
        raise NotebookValidationError(f"{path}: not a readable notebook ({exc}).") from exc

    tagged = [i for i, cell in enumerate(nb.cells) if "parameters" in cell.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1:
        where = f" (cells {tagged})" if tagged else ""
        raise NotebookValidationError(
            f"{path}: expected exactly one cell tagged 'parameters', found {len(tagged)}{where}. "
            "Tag the cell that sets the default parameters with 'parameters' in JupyterLab's property inspector."
        )
    params_index = tagged[0]
    if nb.cells[params_index].cell_type != "code":
        raise NotebookValidationError(f"{path}: the cell tagged 'parameters' (cell {params_index}) is not code.")
    try:
        params = inspect_notebook(str(path))
    except Exception as exc:  # noqa: BLE001
        raise NotebookValidationError(f"{path}: papermill cannot read the parameters cell ({exc}).") from exc
    if parameter not in params:
        raise NotebookValidationError(
            f"{path}: the parameters cell (cell {params_index}) does not define '{parameter}'; "
            f"add a line such as {parameter} = \"62063\"."
        )

    problems = []
    for index in range(params_index + 1, len(nb.cells)):
        cell = nb.cells[index]
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(_python_source(cell.source))
        except SyntaxError as exc:
            raise NotebookValidationError(f"{path}: cell {index} is not valid Python ({exc.msg}, line {exc.lineno})."
                                          ) from exc
        for line in _module_level_rebinds(tree, parameter):
            problems.append(f"cell {index} line {line}")
    if problems:
        raise NotebookValidationError(
            f"{path}: '{parameter}' is reassigned after the parameters cell ({', '.join(problems)}); "
            "papermill's injected value would be overwritten. Use another variable name."
        )
