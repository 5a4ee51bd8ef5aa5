"""JAX in the checks of both days: is the answer a JAX array, does it trace under ``jax.jit``.

Shared by the CPU day's JAX notebooks and the GPU day's; ``jax`` is imported inside each
function, so that importing the checks never needs it.
"""

from __future__ import annotations

from typing import Any

from grayscott.labs.checks.core import Fn


class NotTraceable(Exception):
    """The student's function failed under ``jax.jit``; the message says why, in the lesson's words."""


def jax_problem(result: Any, what: str) -> str | None:
    """None if ``result`` (or each item of a tuple or list) is a JAX array, else what it is."""
    import jax

    leaves = result if isinstance(result, (tuple, list)) else [result]
    if not all(isinstance(leaf, jax.Array) for leaf in leaves):
        kinds = ", ".join(type(leaf).__name__ for leaf in leaves)
        return f"{what} returned {kinds}, expected JAX arrays (use jax.numpy, not numpy)"
    return None


def traced(fn: Fn, *args: Any, static: tuple[int, ...] = ()) -> Any:
    """Run ``fn`` under ``jax.jit``; a tracing error becomes ``NotTraceable`` with the reason."""
    import jax

    try:
        return jax.jit(fn, static_argnums=static)(*args)
    except NotImplementedError:
        raise
    except (TypeError, ValueError, jax.errors.JAXTypeError,
            jax.errors.ConcretizationTypeError) as exc:
        words = jax_in_words(exc)
        if words is None and isinstance(exc, ValueError):
            raise
        first = str(exc).strip().splitlines()[0]
        raise NotTraceable(f"your function cannot be traced by jax.jit: {words or first}") from None


def jax_in_words(exc: Exception) -> str | None:
    """The tracing errors students meet, said as the lesson says them (None: not one of them)."""
    import jax

    text = str(exc)
    if "vmap in_axes must be" in text:
        return ("vmap's in_axes has one entry per argument of the mapped function: the axis to map "
                "for a batched argument, None for one that all grids share")
    if "vmap got inconsistent sizes" in text:
        return ("vmap maps axes of different lengths: every argument it maps needs the same batch "
                "size on its mapped axis (one that all grids share takes None in in_axes)")
    if "Non-hashable static arguments" in text:
        return ("a static argument must be a plain Python value such as the number n, never an "
                "array: static_argnums gives the position of n, not of the array")
    if isinstance(exc, jax.errors.TracerIntegerConversionError):
        return ("a traced value was used as a Python int (range(steps), int(x), a[x]): make that "
                "argument static (static_argnums) or loop with jax.lax.fori_loop")
    if isinstance(exc, jax.errors.TracerBoolConversionError):
        return ("Python's if/while looked at a traced value: use jnp.where, or jax.lax.cond / "
                "jax.lax.fori_loop")
    if isinstance(exc, jax.errors.ConcretizationTypeError):
        return ("a traced value was needed as a concrete number here: make it static "
                "(static_argnums) or keep it inside jax.numpy / jax.lax operations")
    return None

