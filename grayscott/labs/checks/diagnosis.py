"""Naming the mistake in a wrong state: which likely wrong step would give exactly this (u, v)?

The Laplacian check already names a wrong weight; a wrong step used to get only "value at
padded cell (2, 8) is ... instead of ...", whatever the cause. Here each likely mistake (a
forgotten dt, swapped coefficients or outputs, one term's sign, the 5-point stencil, a loop
that reads neighbours it already updated, a loop range one short) is replayed with NumPy
from the same start; the one that the answer matches, cell for cell, is named.

``STEP_PARAMS`` are the coefficients the step checks pass: every one differs from the
others and ``dt`` is not 1, so each of these mistakes changes the result by far more than
float32's rounding (the model's own ``dt`` is 1.0, under which a forgotten ``dt`` is invisible).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from grayscott import model

#: The step checks' coefficients: Du != Dv, feed != kill, dt != 1 (each term's mistake shows).
STEP_PARAMS = model.Params(rows=12, cols=17, du=0.17, dv=0.06, feed=0.031, kill=0.058, dt=0.6)

#: A variant of ``model.react``: (u, v, lap_u, lap_v, du, dv, feed, kill, dt) -> (u_new, v_new).
React = Callable[..., tuple[Any, Any]]


def _variants() -> list[tuple[str, React]]:
    """(what the mistake is, in the lesson's words; the step that makes it)."""
    react = model.react

    def signs(su: float = -1, sv: float = 1, sf: float = 1, sk: float = -1, sd: float = 1,
              uvv: Callable[[Any, Any], Any] = lambda u, v: u * v * v,
              removal: Callable[[float, float], float] = lambda f, k: f + k) -> React:
        def step(u: Any, v: Any, lu: Any, lv: Any, du: float, dv: float, f: float, k: float,
                 dt: float) -> tuple[Any, Any]:
            r = uvv(u, v)
            return (u + dt * (sd * du * lu + su * r + sf * (f - f * u)),
                    v + dt * (sd * dv * lv + sv * r + sk * removal(f, k) * v))
        return step

    def dt_on_diffusion(u: Any, v: Any, lu: Any, lv: Any, du: float, dv: float, f: float,
                        k: float, dt: float) -> tuple[Any, Any]:
        r = u * v * v
        return u + dt * du * lu - r + (f - f * u), v + dt * dv * lv + r - (f + k) * v

    dt = STEP_PARAMS.dt
    return [
        (f"it is the step without dt: dt multiplies the whole rate of change (the check "
         f"passes dt={dt:g}, the model's 1.0 hid it)",
         lambda u, v, lu, lv, du, dv, f, k, _dt: react(u, v, lu, lv, du, dv, f, k, 1.0)),
        ("dt multiplies only the diffusion terms: it multiplies the whole rate of change",
         dt_on_diffusion),
        ("Du and Dv are swapped: u diffuses with du, v with dv",
         lambda u, v, lu, lv, du, dv, f, k, dt: react(u, v, lu, lv, dv, du, f, k, dt)),
        ("feed and kill are swapped (the arguments come in the order du, dv, feed, kill, dt)",
         lambda u, v, lu, lv, du, dv, f, k, dt: react(u, v, lu, lv, du, dv, k, f, dt)),
        ("the two Laplacians are swapped: u diffuses by the Laplacian of u, v by that of v",
         lambda u, v, lu, lv, du, dv, f, k, dt: react(u, v, lv, lu, du, dv, f, k, dt)),
        ("the sign of the reaction term in u: u loses u*v*v", signs(su=1)),
        ("the sign of the reaction term in v: v gains u*v*v", signs(sv=-1)),
        ("the sign of the feed term: u gains feed * (1 - u)", signs(sf=-1)),
        ("the sign of the removal term: v loses (feed + kill) * v", signs(sk=1)),
        ("the sign of the diffusion terms: + Du * lap(u) and + Dv * lap(v)", signs(sd=-1)),
        ("the reaction term is u*v*v (one u, two v), not u*u*v",
         signs(uvv=lambda u, v: u * u * v)),
        ("v's removal term: v loses (feed + kill) * v, not kill * v alone",
         signs(removal=lambda f, k: k)),
    ]


def _laplacian_5(a: np.ndarray) -> Any:
    return model.laplacian_weighted(a, model.STENCIL_5)


def _run(u0: np.ndarray, v0: np.ndarray, steps: int, params: model.Params,
         react: React = model.react, laplacian: Callable[[np.ndarray], Any] = model.laplacian,
         swap: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``steps`` steps of a (possibly wrong) ``react`` from padded (u0, v0), in float32;
    ``swap``: each step hands back (v, u) (each padded with its own frame, as ``jnp.pad``
    does), the next one takes them so."""
    u, v = u0.copy(), v0.copy()
    coefficients = [np.float32(c) for c in params.coefficients()]
    for _ in range(steps):
        un, vn = react(u[1:-1, 1:-1], v[1:-1, 1:-1], laplacian(u), laplacian(v), *coefficients)
        if swap:
            u, v = np.full_like(u, model.U_BOUNDARY), np.full_like(v, model.V_BOUNDARY)
        else:
            u, v = u.copy(), v.copy()
        u[1:-1, 1:-1], v[1:-1, 1:-1] = un, vn
        u, v = (v, u) if swap else (u, v)
    return u, v


def _in_place_step(u0: np.ndarray, v0: np.ndarray, params: model.Params,
                   ) -> tuple[np.ndarray, np.ndarray]:
    """One step by loops that read neighbours from the arrays they write (already updated)."""
    u, v = u0.astype(np.float64), v0.astype(np.float64)
    du, dv, f, k, dt = params.coefficients()
    for i in range(1, u.shape[0] - 1):
        for j in range(1, u.shape[1] - 1):
            lu = model.laplacian(u[i - 1:i + 2, j - 1:j + 2])[0, 0]
            lv = model.laplacian(v[i - 1:i + 2, j - 1:j + 2])[0, 0]
            u[i, j], v[i, j] = model.react(u[i, j], v[i, j], lu, lv, du, dv, f, k, dt)
    return u.astype(u0.dtype), v.astype(v0.dtype)


def _close(got: tuple[np.ndarray, ...], want: tuple[np.ndarray, ...], tol: float) -> bool:
    return all(g.shape == w.shape and np.abs(g.astype(np.float64) - w).max() <= tol
               for g, w in zip(got, want, strict=True))


def _stale_cells(got: tuple[np.ndarray, np.ndarray], start: tuple[np.ndarray, np.ndarray],
                 expected: tuple[np.ndarray, np.ndarray], tol: float) -> str | None:
    """After one step: the wrong cells, if every one kept its old value (a loop range short)."""
    wrong = np.zeros(got[0].shape, bool)
    stale = np.ones(got[0].shape, bool)
    for g, s, e in zip(got, start, expected, strict=True):
        wrong |= np.abs(g.astype(np.float64) - e) > tol
        stale &= g == s
    if not wrong.any() or not stale[wrong].all():
        return None
    rows = sorted({int(i) for i in np.nonzero(wrong)[0]})
    cols = sorted({int(j) for j in np.nonzero(wrong)[1]})
    full_rows = [i for i in rows if wrong[i, 1:-1].all()]
    full_cols = [j for j in cols if wrong[1:-1, j].all()]
    where = (f"padded row(s) {full_rows}" if full_rows else
             f"padded column(s) {full_cols}" if full_cols else f"{int(wrong.sum())} cells")
    return (f"{where} of the interior kept the old values: a loop range is one short "
            "(the interior is padded rows 1 to rows and columns 1 to cols, both included)")


def _one_sided_mistake(pair: tuple[np.ndarray, np.ndarray], expected: tuple[np.ndarray, np.ndarray],
                       u0: np.ndarray, v0: np.ndarray, params: model.Params, tol: float) -> str | None:
    """After one step, a mistake made in one of the two updates only (an ElementwiseKernel's or
    a loop's two lines are written separately: dt forgotten in u's, du typed in v's): the
    right array beside the variant's other one."""
    for index, name in enumerate(("u", "v")):
        other = 1 - index
        if not _close((pair[other],), (expected[other],), tol):
            continue
        for mistake, react in _variants():
            wrong = _run(u0, v0, 1, params, react=react)
            if not _close((wrong[index],), (expected[index],), tol) and _close(
                    (pair[index],), (wrong[index],), tol):
                return f"in {name}'s update (the other one is right): {mistake}"
    return None


def step_mistake(got: tuple[Any, Any], u0: np.ndarray, v0: np.ndarray, steps: int,
                 params: model.Params = STEP_PARAMS) -> str | None:
    """The likely mistake that turns padded (u0, v0) into ``got`` in ``steps`` steps, or None.

    ``got`` is a pair of host arrays of the right shape; None also when it is right."""
    pair = (np.asarray(got[0]), np.asarray(got[1]))
    tol = model.tolerance("float32")
    expected = _run(u0, v0, steps, params)
    if _close(pair, expected, tol):
        return None
    if _close((pair[1], pair[0]), expected, tol):
        return "u and v come back swapped: return (u, v), in that order"
    if steps > 1 and _close(pair, _run(u0, v0, steps, params, swap=True), tol):
        return "each step hands back (v, u): return (u, v), in that order"
    if _close(pair, (u0, v0), 0.0):
        return "u and v came back unchanged: return the new arrays, after the step"
    if _close(pair, _run(v0, u0, steps, params), tol) or _close(
            (pair[1], pair[0]), _run(v0, u0, steps, params), tol):
        return "u and v are swapped on the way in: the step takes (u, v, du, dv, feed, kill, dt)"
    if _close(pair, _run(u0, v0, steps, params, laplacian=_laplacian_5), tol):
        return ("that is the 5-point stencil (centre -4, N, S, E, W): this lab uses the school's "
                "9-point one (centre -8, all eight neighbours 1)")
    if params != model.Params(rows=params.rows, cols=params.cols) and _close(
            pair, _run(u0, v0, steps, model.Params(rows=params.rows, cols=params.cols)), tol):
        return ("the step ignores the coefficients it is given: it uses the model's own du, dv, "
                "feed, kill, dt, where it must use its arguments")
    for mistake, react in _variants():
        if _close(pair, _run(u0, v0, steps, params, react=react), tol):
            return mistake
    if steps == 1:
        if (one_sided := _one_sided_mistake(pair, expected, u0, v0, params, tol)) is not None:
            return one_sided
        if _close(pair, _in_place_step(u0, v0, params), 1e-4):
            return ("the loop reads neighbours it has already updated: read every neighbour from "
                    "the old arrays, write into new ones")
        return _stale_cells(pair, (u0, v0), expected, tol)
    return None
