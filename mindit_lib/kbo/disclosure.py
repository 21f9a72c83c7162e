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

The constraint matrices of one table (sums along the territory tree, row totals) are totally unimodular, so the
linear programme's range of a cell is its integer range. Tables that share their totals (protected as one system)
are not: a fractional second solution may exist where no whole one does, so a last check looks for a whole-number
change of the suppressed cells that moves each of them (:func:`integer_exposed_cells`), and complements are chosen
by a mixed-integer programme.

Complements are chosen per exposed cell by a mixed-integer programme (:func:`_protection`, the protection-level
model of Fischetti and Salazar-González): the cheapest change of the table that moves the exposed cell by one, keeps
every equation and keeps every cell within its bounds (a cell of 1 cannot go down); the published cells it moves are
suppressed. That change is then a second solution the attacker cannot rule out, for the exposed cell and for every
cell it moves, whichever equations pinned them: the search follows chains of equations as far as needed (a commune's
cell pinned through its arrondissement and the province is freed in that column, not in its own row). Suppressing
more never removes a solution, so a protected cell stays protected; a cell is published as a complement at the cost
of its value (small cells first), zeros only when no positive cell can do it.
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
        Ineligible cells that may still be chosen when no eligible cell can protect an exposed one (totals imposed
        by another table, see :func:`mindit_lib.kbo.indicators.protect_table`: the caller reads from the result
        which of them had to be suppressed).

    Returns
    -------
    numpy.ndarray of bool
        True where the cell is suppressed; no such cell is determined by the published ones, nor pinned to its
        bound.

    Raises
    ------
    ValueError
        When a suppressed cell cannot be protected by any change of the table within the eligible (then the
        reserve) cells, e.g. the only enterprise of a commune whose total is shared and may not be suppressed.
    """
    vals = np.asarray(values, dtype=float)
    unpublished = np.isnan(vals)
    vals = np.nan_to_num(vals, nan=0.0)
    suppressed = ((vals > 0) & (vals < threshold)) | unpublished
    if forced is not None:
        suppressed |= np.asarray(forced, dtype=bool)
    can = np.ones(vals.size, dtype=bool) if eligible is None else np.asarray(eligible, dtype=bool).copy()
    matrix = equation_matrix(vals.size, equations)
    lower = np.where(vals >= 1, 1.0, 0.0)
    spare = None if reserve is None else can | np.asarray(reserve, dtype=bool)
    while True:
        exposed = exposed_cells(matrix, suppressed)
        if exposed.size == 0:
            exposed = bound_exposed_cells(matrix, suppressed, vals)
            exposed = exposed[~unpublished[exposed]]  # a cell not published at all has no value to protect
        if exposed.size == 0:
            exposed = integer_exposed_cells(matrix, suppressed, vals, lower)
            exposed = exposed[~unpublished[exposed]]
        if exposed.size == 0:
            return suppressed & ~unpublished | unpublished
        # cells moved by a change found in this round have a second solution already (and keep it)
        protected = np.zeros(vals.size, dtype=bool)
        for cell in exposed:
            if protected[cell]:
                continue
            moved = _protection(int(cell), matrix, suppressed, can, vals, lower)
            if moved is None and spare is not None:
                moved = _protection(int(cell), matrix, suppressed, spare, vals, lower)
            if moved is None:  # no change of the table can move it: refuse rather than publish an exposed cell
                raise ValueError(f"cell {int(cell)} cannot be protected: no cell left to suppress with it.")
            suppressed[moved] = True
            protected[moved] = True


def _protection(cell: int, matrix: np.ndarray, suppressed: np.ndarray, can: np.ndarray, vals: np.ndarray,
                lower: np.ndarray) -> np.ndarray | None:
    """The cells to suppress (already suppressed or not) so that ``cell`` can take another whole value.

    A mixed-integer programme (:func:`_change`) looks for the cheapest whole-number change ``v`` of the table with
    ``v[cell] = ±1``, ``matrix @ v = 0`` (every equation still holds) and ``vals + v ≥ lower`` (no cell below its
    bound), moving only suppressed cells and published cells of ``can``; a published cell costs ``1 + value`` per
    unit of change, a suppressed one nothing. ``vals + v`` is then a solution the attacker cannot tell from
    ``vals``: every cell ``v`` moves (returned) has at least two values once suppressed. Positive cells are tried
    first; zeros only when they cannot do it (a suppressed zero reads « n.d. » where there is nothing).

    Parameters
    ----------
    cell : int
        The exposed cell.
    matrix : numpy.ndarray
        The equations (:func:`equation_matrix`).
    suppressed : numpy.ndarray of bool
        Cells suppressed so far.
    can : numpy.ndarray of bool
        Cells that may be chosen as complements.
    vals, lower : numpy.ndarray
        The cells' values and the attacker's lower bounds (1 for a positive cell, 0 for a zero).

    Returns
    -------
    numpy.ndarray of int or None
        The cells ``v`` moves (``cell`` among them), or None when no change within the allowed cells exists.
    """
    for with_zeros in (False, True):
        allowed = suppressed | (can & ((vals > 0) | with_zeros))
        moved = _change(cell, matrix, allowed, np.where(suppressed, 0.0, 1.0 + vals), vals, lower)
        if moved is not None:
            return moved
        if not (can & ~suppressed & (vals <= 0)).any():
            return None
    return None


def _change(cell: int, matrix: np.ndarray, allowed: np.ndarray, cost: np.ndarray, vals: np.ndarray,
            lower: np.ndarray) -> np.ndarray | None:
    """The cheapest whole-number change ``v`` of the table with ``v[cell] = ±1``, ``matrix @ v = 0`` and
    ``vals + v ≥ lower``, moving only ``allowed`` cells (``cost`` per unit of change): the cells it moves, or None.

    Whole numbers (a mixed-integer programme): when several tables share their totals, the equations are not
    totally unimodular, and a fractional change would prove nothing to an attacker who knows counts are whole.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import csr_matrix, hstack

    allowed = allowed.copy()
    allowed[cell] = True
    cols = np.flatnonzero(allowed)
    rows = np.any(matrix[:, cols] != 0, axis=1)
    sub = csr_matrix(matrix[rows][:, cols])
    a_eq = hstack([sub, -sub]).tocsr()          # v = up − down
    k = cols.size
    room = vals[cols] - lower[cols]             # 0 ≤ down ≤ vals − lower
    at = int(np.searchsorted(cols, cell))
    c = np.r_[cost[cols], cost[cols]]
    best = None
    for up in (True, False):
        if not up and room[at] < 1:
            continue
        lb, ub = np.zeros(2 * k), np.r_[np.full(k, np.inf), room]
        if up:
            lb[at], ub[at], ub[k + at] = 1.0, 1.0, 0.0
        else:
            ub[at], lb[k + at], ub[k + at] = 0.0, 1.0, 1.0
        res = milp(c, constraints=LinearConstraint(a_eq, 0.0, 0.0), bounds=Bounds(lb, ub),
                   integrality=np.ones(2 * k))
        if res.status == 2:                     # infeasible: no such change in this direction
            continue
        if res.status != 0:
            raise ValueError(f"disclosure: the protection of cell {cell} failed ({res.message})")
        if best is None or res.fun < best[0]:
            change = np.round(res.x[:k] - res.x[k:])
            best = (res.fun, cols[change != 0])
    return None if best is None else best[1]


def integer_exposed_cells(matrix: np.ndarray, suppressed: np.ndarray, vals: np.ndarray,
                          lower: np.ndarray) -> np.ndarray:
    """Suppressed cells that take a single *whole* value given the published cells, the equations and the
    bounds — beyond :func:`bound_exposed_cells`, whose linear programme can find a fractional second solution
    where no whole one exists (tables sharing totals). A cell is safe once a whole-number change of the
    suppressed cells moves it; every cell that change moves is safe with it."""
    proven = ~suppressed
    exposed = []
    free = np.zeros(vals.size)
    for cell in np.flatnonzero(suppressed):
        if proven[cell]:
            continue
        moved = _change(int(cell), matrix, suppressed, free, vals, lower)
        if moved is None:
            exposed.append(int(cell))
            proven[cell] = True
        else:
            proven[moved] = True
    return np.array(exposed, dtype=int)
