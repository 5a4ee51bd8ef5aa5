"""The checks of the CPU day's JAX notebooks (labs/cpu 5 and 6): pure functions, jit with a
static argument, ``lax.fori_loop``, ``vmap``, the Laplacian and the jitted advance. The
advance check serves the GPU day's first notebook too.

Structure is judged on what JAX made of the function, never on its text: ``vmap`` by a
traced program that does not grow with the batch, ``jit`` by the jitted object.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np

from grayscott import model
from grayscott.labs.checks.core import (
    CHECK_PARAMS,
    ONE_STEP_TOL,
    Fn,
    Verdict,
    array_problem,
    conclude,
    correct,
    laplacian_problem,
    reference_steps,
    refuse,
    seeded_state,
    state_problem,
)
from grayscott.labs.checks.diagnosis import step_mistake
from grayscott.labs.checks.jax_tracing import NotTraceable, jax_in_words, jax_problem, traced

#: An asymmetric 3x3 stencil: its transpose and its flip (a convolution) differ from it.
SKEWED_STENCIL: model.Stencil = ((0.0, 1.0, 2.0), (3.0, -9.0, 0.5), (0.25, 0.0, 1.0))


def _steps_diagnosis(u0: np.ndarray, v0: np.ndarray, steps: int) -> Any:
    """``state_problem``'s diagnose for ``steps`` steps with the model's coefficients."""
    return lambda got: step_mistake(got, u0, v0, steps, CHECK_PARAMS)

# --- notebooks 5 and 6: JAX ---------------------------------------------------------------

def check_jax_set_frame(set_frame: Fn, *, raise_on_failure: bool = True) -> Verdict:
    """``set_frame(a, value)``: a new JAX array, the one-cell frame set to value, a unchanged."""
    import jax.numpy as jnp

    name = "check_jax_set_frame"
    u, _ = seeded_state()
    a = jnp.asarray(u)
    expected = u.copy()
    expected[0, :] = expected[-1, :] = expected[:, 0] = expected[:, -1] = 0.5
    try:
        got = traced(set_frame, a, 0.5)
    except NotTraceable as exc:
        return refuse(name, f"{exc} (JAX arrays are immutable: a.at[...].set(...))",
                      raise_on_failure)
    problem = jax_problem(got, "set_frame") or array_problem(got, expected, "the result", 0.0, padded=True)
    return conclude(name, problem, "pure: a new array, traceable by jit", raise_on_failure)


def check_jax_power(power: Fn, *, raise_on_failure: bool = True) -> Verdict:
    """``power`` must be a jitted function with ``n`` static: power(x, n) = x ** n by a loop."""
    import jax
    import jax.numpy as jnp

    name = "check_jax_power"
    x = jnp.arange(1.0, 5.0, dtype=jnp.float32)  # explicit: another library may have enabled x64
    try:
        got = power(x, 3)
    except (jax.errors.ConcretizationTypeError, jax.errors.TracerIntegerConversionError,
            TypeError):
        return refuse(name, "n is traced, so range(n) cannot run: make n static "
                      "(static_argnums takes the positions of the static arguments: which one is n?)",
                      raise_on_failure)
    except ValueError as exc:
        if (words := jax_in_words(exc)) is None:
            raise
        return refuse(name, words, raise_on_failure)
    if not hasattr(power, "lower"):
        return refuse(name, "power is not jitted: wrap it with jax.jit(..., static_argnums=...)",
                      raise_on_failure)
    problem = jax_problem(got, "power") or array_problem(
        jnp.atleast_2d(got), np.atleast_2d(np.arange(1.0, 5.0, dtype=np.float32) ** 3), "x ** 3", 1e-4)
    return conclude(name, problem, "jitted, n static, one trace per value of n", raise_on_failure)


def check_jax_fori(repeat_step: Fn, *, raise_on_failure: bool = True) -> Verdict:
    """``repeat_step(u, v, steps)``: ``steps`` applications of a step with ``lax.fori_loop``."""
    import jax.numpy as jnp

    name = "check_jax_fori"
    u0, v0 = seeded_state()
    expected = reference_steps(u0, v0, 7)
    try:
        got = traced(repeat_step, jnp.asarray(u0), jnp.asarray(v0), 7)
    except NotTraceable as exc:
        return refuse(name, f"{exc} (steps is traced: use lax.fori_loop, not range)",
                      raise_on_failure)
    problem = jax_problem(got, "repeat_step") or state_problem(
        got, expected, model.tolerance("float32"), _steps_diagnosis(u0, v0, 7))
    return conclude(name, problem, "7 steps under jit with a traced step count agree with the numpy backend",
                    raise_on_failure)


def _program_lines(fn: Fn, *args: Any) -> int:
    """How many lines JAX's traced program of ``fn(*args)`` has (jitted calls included)."""
    import jax

    return len(str(jax.make_jaxpr(fn)(*args)).splitlines())


def check_jax_vmap(batched: Fn, *, raise_on_failure: bool = True) -> Verdict:
    """``batched(stack)``: the Laplacian of each padded grid of a (batch, R+2, C+2) stack,
    by one transformation over the batch axis: the traced program must not grow with the
    batch (a Python loop over the grids gives the right values with one program per grid)."""
    import jax.numpy as jnp

    name = "check_jax_vmap"
    u, v = seeded_state()
    stack = np.stack([u, v, 1.0 - u])
    expected = np.stack([model.laplacian(a) for a in stack])
    try:
        got = traced(batched, jnp.asarray(stack))
    except NotTraceable as exc:
        return refuse(name, str(exc), raise_on_failure)
    problem = jax_problem(got, "batched")
    if problem is None:
        arr = np.asarray(got)
        if arr.shape != expected.shape:
            problem = f"the result has shape {arr.shape}, expected {expected.shape} (one Laplacian per grid)"
        else:
            for k in range(len(stack)):
                problem = array_problem(arr[k], expected[k], f"grid {k} of the batch", ONE_STEP_TOL)
                if problem:
                    break
    if problem is None:
        small, large = (_program_lines(batched, jnp.asarray(np.concatenate([stack] * n)))
                        for n in (1, 2))
        if large > small:
            problem = (f"the values are right, but the traced program grows with the batch ({small} "
                       f"lines for {len(stack)} grids, {large} for {2 * len(stack)}): a Python loop "
                       "over the grids; let one JAX transformation map the function over axis 0")
    return conclude(name, problem, f"{len(stack)} grids, one Laplacian each, one program for any batch",
                    raise_on_failure)


def _weights_hint(got: Any, u: np.ndarray, stencil: model.Stencil) -> str:
    """Whether a wrong generic Laplacian applied the weights transposed or flipped."""
    arr = np.asarray(got, dtype=np.float64)
    w = np.asarray(stencil, dtype=np.float64)
    for how, weights in (("flipped (a convolution flips its kernel; a correlation does not)", w[::-1, ::-1]),
                         ("transposed (weights[i][j] is row offset i - 1, column offset j - 1)", w.T)):
        applied = model.laplacian_weighted(u.astype(np.float64), cast(model.Stencil, weights))
        if np.abs(applied - arr).max() <= 1e-3:
            return f": your result applies the weights {how}"
    return ""


def check_jax_laplacian(laplacian: Fn, *, generic: bool = False, raise_on_failure: bool = True) -> Verdict:
    """A JAX Laplacian: ``laplacian(a)`` (nine terms) or ``laplacian(a, weights)`` (any 3x3:
    tried with the 9-point, the 5-point and an asymmetric stencil, which shows weights that
    are transposed or flipped). Float64 weights (x64 on) give a float64 result: accepted."""
    import jax.numpy as jnp

    name = "check_jax_laplacian"
    u, _ = seeded_state()
    stencils = [model.STENCIL_9, model.STENCIL_5, SKEWED_STENCIL] if generic else [model.STENCIL_9]
    labels = {model.STENCIL_9: "the 9-point", model.STENCIL_5: "the 5-point",
              SKEWED_STENCIL: "an asymmetric stencil's"}
    for stencil in stencils:
        expected = np.asarray(model.laplacian_weighted(u, stencil), dtype=np.float32)
        args: tuple[Any, ...] = (jnp.asarray(u),)
        if generic:
            args = (*args, jnp.asarray(stencil, dtype=jnp.float32))
        try:
            got = traced(laplacian, *args)
        except NotTraceable as exc:
            return refuse(name, str(exc), raise_on_failure)
        problem = jax_problem(got, "laplacian")
        if problem is None and getattr(got, "dtype", None) == np.float64:
            got = np.asarray(got).astype(np.float32)
        if problem is None:
            problem = laplacian_problem(got, u, expected, f"{labels[stencil]} Laplacian", stencil)
        if problem is not None and generic and "value at" in problem:
            problem += _weights_hint(got, u, stencil)
        if problem is not None:
            return refuse(name, problem, raise_on_failure)
    kinds = "9-point, 5-point and asymmetric weights" if generic else "nine terms"
    return correct(name, f"{kinds}, under jit")


def check_jax_advance(advance: Fn, *, raise_on_failure: bool = True) -> Verdict:
    """``advance(u, v, steps) -> (u, v)`` in JAX: agrees with the numpy backend for 5 and 12 steps."""
    import jax.numpy as jnp

    name = "check_jax_advance"
    if not hasattr(advance, "lower"):
        return refuse(name, f"{getattr(advance, '__name__', 'advance')} is not jitted: the later cells "
                      "read its compiled program (advance.lower(...)), which only jax.jit's result has",
                      raise_on_failure)
    u0, v0 = seeded_state()
    for steps in (5, 12):
        expected = reference_steps(u0, v0, steps)
        got = advance(jnp.asarray(u0), jnp.asarray(v0), steps)
        problem = jax_problem(got, "advance") or state_problem(
            got, expected, model.tolerance("float32"), _steps_diagnosis(u0, v0, steps))
        if problem is not None:
            return refuse(name, f"after {steps} steps: {problem}", raise_on_failure)
    return correct(name, "5 and 12 steps agree with the numpy backend")


