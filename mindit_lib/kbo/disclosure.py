"""Statistical disclosure control for published count tables: primary suppression of small cells, then
complementary suppression until no suppressed cell can be computed exactly from what is published.

A table is a vector of non-negative counts and a list of additive equations (``total = part + part + …``:
a commune row sums to its total, communes to their arrondissement, arrondissements to the province).
Given the published cells, the suppressed ones are the unknowns of these equations. The attacker is assumed to
know the equations, every published cell, and the bounds: zeros are published, so each suppressed cell holds at
least 1 (at least 0 for a zero chosen as a complement, which happens only when nothing else is left). A
suppressed cell is *exposed* when every solution within those bounds gives it the same value:

* fixed by the equations alone: its component is zero in every null-space vector of the equations restricted to
  the suppressed cells (:func:`exposed_cells`);
* or fixed by the bounds: the suppressed cells of an equation whose published total minus published parts equals
  their lower bounds (``8 = 3 + 1 + 1 + 1 + 1 + 1`` with five suppressed cells: each is 1), or any combination of
  equations that pins cells to their bounds (:func:`bound_exposed_cells`, a linear programme).

The constraint matrices of these tables (sums along the territory tree, row totals) are totally unimodular, so the
linear programme's range of a cell is its integer range: a cell that is not exposed can take at least two whole
values. Complements are added until no cell is exposed; against a bound, a complement of at least 2 is preferred
(it gives the equation room).
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


def bound_exposed_cells(matrix: np.ndarray, suppressed: np.ndarray, vals: np.ndarray) -> np.ndarray:
    """Suppressed cells fixed once the attacker also uses the bounds (each suppressed cell ≥ 1, or ≥ 0 for a
    suppressed zero), beyond those :func:`exposed_cells` finds.

    One linear programme finds a solution as far from the bounds as possible; when it is strictly inside them,
    no bound binds and nothing more is exposed. Otherwise the cells that sit on their bound in every solution
    are found (one more programme, then one per remaining candidate), and with them fixed, the cells the
    equations then determine.
    """
    from scipy.optimize import linprog

    cols = np.flatnonzero(suppressed)
    if cols.size == 0:
        return cols
    rows = np.any(matrix[:, cols] != 0, axis=1)
    if not rows.any():
        return np.array([], dtype=int)
    a_eq = matrix[rows][:, cols]
    published = ~suppressed
    b_eq = -matrix[rows][:, published] @ vals[published]
    lower = np.where(vals[cols] >= 1, 1.0, 0.0)
    k = cols.size
    # 1. maximise t with x ≥ lower + t (0 ≤ t ≤ 1)
    res = linprog(np.r_[np.zeros(k), -1.0], A_ub=np.c_[-np.eye(k), np.ones(k)], b_ub=-lower,
                  A_eq=np.c_[a_eq, np.zeros(a_eq.shape[0])], b_eq=b_eq,
                  bounds=[(None, None)] * k + [(0.0, 1.0)], method="highs")
    if not res.success:
        raise ValueError(f"disclosure check: the table's equations have no solution within the bounds ({res.message})")
    if -res.fun > 1e-7:
        return np.array([], dtype=int)
    # 2. cells that can leave their bound: maximise Σ z over the cells not yet seen off their bound, with
    # z ≤ x − lower and 0 ≤ z ≤ 1; each round either finds new ones or proves the rest are always on it
    movable = np.zeros(k, dtype=bool)
    while True:
        open_ = ~movable
        res = linprog(np.r_[np.zeros(k), -open_.astype(float)], A_ub=np.c_[-np.eye(k), np.eye(k)], b_ub=-lower,
                      A_eq=np.c_[a_eq, np.zeros_like(a_eq)], b_eq=b_eq,
                      bounds=[(None, None)] * k + [(0.0, 1.0)] * k, method="highs")
        found = (res.x[:k] > lower + 1e-7) & open_
        if not found.any():
            break
        movable |= found
    forced = np.flatnonzero(~movable)
    if forced.size == 0:
        return np.array([], dtype=int)
    fixed = np.zeros(k, dtype=bool)
    fixed[forced] = True
    # with the forced cells known, the equations may determine others
    rest = np.flatnonzero(~fixed)
    determined = exposed_cells(a_eq, np.isin(np.arange(k), rest)) if rest.size else np.array([], dtype=int)
    return np.union1d(cols[fixed], cols[determined]).astype(int)


def protect(values: Sequence[float], equations: Sequence[Equation], *, threshold: int = THRESHOLD,
            forced: Sequence[bool] | None = None, eligible: Sequence[bool] | None = None,
            reserve: Sequence[bool] | None = None) -> np.ndarray:
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
    reserve : sequence of bool, optional
        Ineligible cells that may still be chosen when no eligible cell can protect an exposed one (shared
        totals: the caller then suppresses them in every table that shares them, see
        :func:`mindit_lib.kbo.indicators.protect_family`).

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
        against_bound = False
        if exposed.size == 0:
            exposed = bound_exposed_cells(matrix, suppressed, vals)
            exposed = exposed[~unpublished[exposed]]  # a cell not published at all has no value to protect
            against_bound = True
        if exposed.size == 0:
            return suppressed & ~unpublished | unpublished
        # one complement per exposed cell in this round (a cell whose equations just got one waits for the next
        # check): far fewer rounds than one complement at a time
        touched = np.zeros(vals.size, dtype=bool)
        for cell in exposed:
            if touched[cell]:
                continue
            choice = _complement(np.array([cell]), members, of_cell, suppressed, can, vals, need_room=against_bound)
            if choice is None and reserve is not None:
                choice = _complement(np.array([cell]), members, of_cell, suppressed, can | np.asarray(reserve, bool),
                                     vals, need_room=against_bound)
            if choice is None:  # nothing left to suppress beside it: refuse rather than publish an exposed cell
                raise ValueError(f"cell {int(cell)} cannot be protected: no cell left to suppress with it.")
            suppressed[choice] = True
            for row in of_cell[choice]:
                touched[members[row]] = True


def _complement(exposed: np.ndarray, members: list[np.ndarray], of_cell: list[list[int]], suppressed: np.ndarray,
                can: np.ndarray, vals: np.ndarray, need_room: bool = False) -> int | None:
    """The next cell to suppress: taken in an equation where an exposed cell is the only unknown if there is
    one (else in any equation of an exposed cell); published and eligible; positive ones first (a suppressed
    zero would read « n.d. » where there is nothing), then the one that leaves the fewest of its own equations
    with a single unknown (it closes a cycle of suppressions), smallest.
    ``need_room`` (cells pinned to their bounds): a cell of at least 2 first, which loosens the bound."""
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
                key = (need_room and vals[other] < 2, vals[other] <= 0, opened, vals[other], int(other))
                if best is None or key < best:
                    best = key
        if best is not None:
            return best[-1]
    return None
