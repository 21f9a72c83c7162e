"""Statistical disclosure control for published count tables: primary suppression of small cells, then
complementary suppression until no suppressed cell can be computed exactly from what is published.

A table is a vector of non-negative counts and a list of additive equations (``total = part + part + …``:
a commune row sums to its total, communes to their arrondissement, arrondissements to the province).
Given the published cells, the suppressed ones are the unknowns of these equations; a suppressed cell is
*exposed* when every solution gives it the same value, i.e. when it is fixed by the linear system (its
component is zero in every null-space vector of the equations restricted to the suppressed cells). Because
every suppressed cell is a positive count (zeros are never needed as complements unless nothing else is
left), an unexposed cell can move both ways: its exact value cannot be recovered, even with the knowledge
that counts are not negative.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

THRESHOLD = 3
#: how a suppressed cell is shown
CONFIDENTIAL_TEXT = "n.d. (confidentiel)"

Equation = tuple[int, Sequence[int]]


def equation_matrix(n_cells: int, equations: Sequence[Equation]) -> np.ndarray:
    """One row per equation ``total - Σ parts = 0`` over the cells."""
    matrix = np.zeros((len(equations), n_cells))
    for row, (total, parts) in enumerate(equations):
        matrix[row, total] += 1.0
        for part in parts:
            matrix[row, part] -= 1.0
    return matrix


def exposed_cells(matrix: np.ndarray, suppressed: np.ndarray) -> np.ndarray:
    """Indices of suppressed cells whose value the published cells and the equations determine exactly."""
    cols = np.flatnonzero(suppressed)
    if cols.size == 0:
        return cols
    sub = matrix[:, cols]
    sub = sub[np.any(sub != 0, axis=1)]
    if sub.shape[0] == 0:
        return np.array([], dtype=int)
    # the null space of the equations over the unknowns = eigenvectors of subᵀ·sub with eigenvalue 0
    eigenvalues, vectors = np.linalg.eigh(sub.T @ sub)
    null = vectors[:, eigenvalues < 1e-9 * max(float(eigenvalues.max(initial=0.0)), 1.0)]
    free = np.any(np.abs(null) > 1e-7, axis=1) if null.size else np.zeros(cols.size, dtype=bool)
    return cols[~free]


def protect(values: Sequence[float], equations: Sequence[Equation], *, threshold: int = THRESHOLD,
            forced: Sequence[bool] | None = None, eligible: Sequence[bool] | None = None) -> np.ndarray:
    """Cells to suppress in one table.

    Parameters
    ----------
    values : sequence of float
        The table's counts (cells and their totals), NaN for a cell not published at all.
    equations : sequence of (total, parts)
        Additive relations between cells (indices into ``values``).
    threshold : int
        Cells counting 1 to ``threshold - 1`` entities are suppressed (primary suppression); 0 is published.
    forced : sequence of bool, optional
        Cells that must be suppressed anyway (e.g. totals suppressed in another table that shares them).
    eligible : sequence of bool, optional
        Cells that may be chosen as complements (default: all). Totals shared with other tables are made
        ineligible so that every table publishes them alike.

    Returns
    -------
    numpy.ndarray of bool
        True where the cell is suppressed; no such cell is determined by the published ones.
    """
    vals = np.asarray(values, dtype=float)
    unpublished = np.isnan(vals)
    vals = np.nan_to_num(vals, nan=0.0)
    suppressed = ((vals > 0) & (vals < threshold)) | unpublished
    if forced is not None:
        suppressed |= np.asarray(forced, dtype=bool)
    can = np.ones(vals.size, dtype=bool) if eligible is None else np.asarray(eligible, dtype=bool).copy()
    matrix = equation_matrix(vals.size, equations)
    members = [np.flatnonzero(matrix[row]) for row in range(matrix.shape[0])]
    of_cell: list[list[int]] = [[] for _ in range(vals.size)]
    for row, cells in enumerate(members):
        for cell in cells:
            of_cell[cell].append(row)
    while True:
        exposed = exposed_cells(matrix, suppressed)
        if exposed.size == 0:
            return suppressed & ~unpublished | unpublished
        choice = _complement(exposed, members, of_cell, suppressed, can, vals)
        if choice is None:  # nothing left to suppress beside them: refuse rather than publish an exposed cell
            raise ValueError(f"cells {exposed.tolist()} cannot be protected: no cell left to suppress with them.")
        suppressed[choice] = True


def _complement(exposed: np.ndarray, members: list[np.ndarray], of_cell: list[list[int]], suppressed: np.ndarray,
                can: np.ndarray, vals: np.ndarray) -> int | None:
    """The next cell to suppress: taken in an equation where an exposed cell is the only unknown if there is
    one (else in any equation of an exposed cell); published and eligible; then the one that leaves the
    fewest of its own equations with a single unknown (it closes a cycle of suppressions), positive, smallest."""
    exposed_set = set(exposed.tolist())
    mine = [members[row] for row in sorted({r for cell in exposed_set for r in of_cell[cell]})]
    lonely = [m for m in mine if suppressed[m].sum() == 1]
    best = None
    for group in (lonely, mine):
        for m in group:
            for other in m:
                if suppressed[other] or not can[other]:
                    continue
                opened = sum(1 for row in of_cell[other] if not suppressed[members[row]].any())
                key = (opened, vals[other] <= 0, vals[other], int(other))
                if best is None or key < best:
                    best = key
        if best is not None:
            return best[-1]
    return None
