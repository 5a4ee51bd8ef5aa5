"""The checks of the GPU day (labs/gpu): a step on device arrays (CuPy, PyTorch, cuPyNumeric),
PyTorch's Laplacian, JAX batches and scans, frames brought to the host and written to HDF5."""

from __future__ import annotations

from typing import Any

import numpy as np

from grayscott import backends, model
from grayscott.labs.checks.core import (
    CHECK_PARAMS,
    ONE_STEP_TOL,
    Fn,
    Verdict,
    conclude,
    frames_problem,
    laplacian_problem,
    not_a_tuple,
    reference_frames,
    reference_steps,
    refuse,
    seeded_state,
    state_problem,
)
from grayscott.labs.checks.diagnosis import STEP_PARAMS, step_mistake
from grayscott.labs.checks.jax_tracing import jax_in_words, jax_problem


def to_host(a: Any) -> np.ndarray:
    """A NumPy copy of a CuPy, PyTorch, JAX, cuPyNumeric or NumPy array."""
    module = type(a).__module__.split(".")[0]
    if module == "cupy":
        return np.asarray(a.get())
    if module == "torch":
        return np.asarray(a.detach().cpu().numpy())
    return np.asarray(a)


def _kind(a: Any) -> str:
    """An array's library and type, as a message names it: 'cupy.ndarray', 'torch.Tensor'."""
    kind = type(a)
    return f"{kind.__module__.split('.')[0]}.{kind.__name__}"


def check_device_step(step: Fn, to_device: Fn, *, steps: int = 3, raise_on_failure: bool = True,
                      name: str = "check_device_step") -> Verdict:
    """``step(u, v, du, dv, feed, kill, dt) -> (u, v)`` on device arrays (CuPy, PyTorch, ...).

    ``to_device`` makes the inputs (``cupy.asarray``, a tensor factory...); the results must be
    arrays of the same kind, still on the device (no copy to the host inside the step), and
    agree with the numpy backend after ``steps`` steps fed back into the function.
    """
    u0, v0 = seeded_state()
    expected = reference_steps(u0, v0, steps, STEP_PARAMS)
    u, v = to_device(u0), to_device(v0)
    kind = _kind(u)
    device = getattr(u, "device", None)
    for k in range(steps):
        result = step(u, v, *STEP_PARAMS.coefficients())
        if (problem := not_a_tuple(result)) is not None:
            return refuse(name, problem, raise_on_failure)
        u, v = result
        for label, a in (("u", u), ("v", v)):
            if _kind(a) != kind:
                return refuse(name, f"the new {label} is a {_kind(a)}, expected a {kind}: keep the state "
                              "on the device (no .get(), .cpu() or np.asarray inside the step)",
                              raise_on_failure)
            if device is not None and getattr(a, "device", None) != device:
                return refuse(name, f"the new {label} is on {a.device}, the input was on {device}",
                              raise_on_failure)
        if k == 0:
            first = state_problem((to_host(u), to_host(v)), reference_steps(u0, v0, 1, STEP_PARAMS),
                                  ONE_STEP_TOL, lambda got: step_mistake(got, u0, v0, 1))
            if first is not None:
                return refuse(name, f"after one step: {first}", raise_on_failure)
    problem = state_problem((to_host(u), to_host(v)), expected,
                            model.tolerance("float32") if steps > 1 else ONE_STEP_TOL)
    return conclude(name, problem, f"{steps} step(s) on {kind} arrays agree with the numpy backend",
                    raise_on_failure)


def check_torch_laplacian(laplacian: Fn, device: Any = "cpu", *, raise_on_failure: bool = True) -> Verdict:
    """``laplacian(a)`` on a padded torch tensor: an (R, C) tensor on the same device."""
    import torch

    name = "check_torch_laplacian"
    u, _ = seeded_state()
    a = torch.tensor(u, device=device)
    try:
        got = laplacian(a)
    except RuntimeError as exc:  # conv2d's shape and dtype rules, said as the lesson says them
        if (words := _conv2d_in_words(str(exc))) is None:
            raise
        return refuse(name, words, raise_on_failure)
    problem = None
    if not isinstance(got, torch.Tensor):
        problem = f"returned a {type(got).__name__}, expected a torch.Tensor"
    elif got.device != a.device:
        problem = f"the result is on {got.device}, the input was on {a.device}"
    elif got.dim() == 4:
        problem = f"the result has shape {tuple(got.shape)}: drop conv2d's batch and channel axes ([0, 0])"
    if problem is None and got.dtype == torch.float64:  # float64 weights, and the input made float64
        got = got.float()
    if problem is None:
        problem = laplacian_problem(to_host(got), u, model.laplacian(u), "the Laplacian")
    return conclude(name, problem, f"a {tuple(got.shape)} tensor on {got.device}", raise_on_failure)


def _conv2d_in_words(text: str) -> str | None:
    """PyTorch's conv2d errors students meet, in the lesson's words (None: another error)."""
    if "Expected 3D (unbatched) or 4D (batched) input" in text:
        return ("conv2d takes a 4-D input (batch, channel, rows, cols): give the padded grid "
                "two leading axes of length 1, and take them off the result")
    if "weight should have at least three dimensions" in text or "weight of size" in text:
        return "conv2d takes its weights as a 4-D tensor (out channels, in channels, 3, 3)"
    if "expected scalar type" in text or "should be the same" in text or "dtype" in text:
        return (f"conv2d's input and weights differ in dtype ({text.splitlines()[0]}): make both "
                "float32 (a tensor from a NumPy array of Python floats is float64)")
    return None


def _program_grows(fn: Fn, small: tuple[Any, ...], large: tuple[Any, ...],
                   static: tuple[int, ...]) -> tuple[int, int] | None:
    """The lines of JAX's traced program for ``small`` and ``large`` arguments, when the
    program for ``large`` is longer (a Python loop over what should be one transformation)."""
    import jax

    lines = [len(str(jax.make_jaxpr(fn, static_argnums=static)(*args)).splitlines())
             for args in (small, large)]
    return (lines[0], lines[1]) if lines[1] > lines[0] else None


#: (feed, kill) pairs of the batch checks: three different patterns of the model.
BATCH_PAIRS = ((0.014, 0.054), (0.022, 0.051), (0.030, 0.057))


def check_jax_batch(batched_advance: Fn, *, raise_on_failure: bool = True) -> Verdict:
    """``batched_advance(u, v, feeds, kills, steps)``: stacks (B, R+2, C+2), one (feed, kill) each."""
    import jax.numpy as jnp

    name = "check_jax_batch"
    u0, v0 = seeded_state()
    batch, steps = len(BATCH_PAIRS), 6
    feeds = jnp.asarray([f for f, _ in BATCH_PAIRS], dtype=jnp.float32)
    kills = jnp.asarray([k for _, k in BATCH_PAIRS], dtype=jnp.float32)
    stack_u = jnp.asarray(np.stack([u0] * batch))
    stack_v = jnp.asarray(np.stack([v0] * batch))
    try:
        got = batched_advance(stack_u, stack_v, feeds, kills, steps)
    except ValueError as exc:
        if (words := jax_in_words(exc)) is None:
            raise
        return refuse(name, words, raise_on_failure)
    problem = jax_problem(got, "batched_advance")
    if problem is None:
        problem = not_a_tuple(got, "a pair of stacks (u, v)")
    if problem is None:
        u, v = (np.asarray(a) for a in got)
        if u.shape != stack_u.shape or v.shape != stack_v.shape:
            problem = (f"returned stacks of shapes {u.shape}, {v.shape}, expected {stack_u.shape}: "
                       "one padded grid per (feed, kill) pair")
    if problem is None:
        for k, (feed, kill) in enumerate(BATCH_PAIRS):
            params = model.Params(rows=CHECK_PARAMS.rows, cols=CHECK_PARAMS.cols, feed=feed, kill=kill)
            problem = state_problem((u[k], v[k]), reference_steps(u0, v0, steps, params),
                                    model.tolerance("float32"))
            if problem is not None:
                if k > 0 and np.array_equal(v[k], v[0]):
                    problem = "every grid of the batch is the same: use each grid's own feed and kill"
                problem = f"grid {k} (feed={feed}, kill={kill}), after {steps} steps: {problem}"
                break
    if problem is None and (grows := _program_grows(
            batched_advance, (stack_u, stack_v, feeds, kills, steps),
            (*(jnp.concatenate([x, x]) for x in (stack_u, stack_v, feeds, kills)), steps),
            (4,))):
        problem = (f"the values are right, but the traced program grows with the batch ({grows[0]} lines "
                   f"for {batch} pairs, {grows[1]} for {2 * batch}): a Python loop over the pairs; "
                   "map one advance over the batch axis with one JAX transformation")
    return conclude(name, problem,
                    f"{batch} (feed, kill) pairs, {steps} steps each, agree with the numpy backend",
                    raise_on_failure)


def check_jax_scan_frames(run_frames: Fn, *, raise_on_failure: bool = True) -> Verdict:
    """``run_frames(u, v, frames, steps_per_frame) -> (u, v, vs)`` with vs the (frames, R, C) V interiors."""
    import jax.numpy as jnp

    name = "check_jax_scan_frames"
    u0, v0 = seeded_state()
    frames, per_frame = 4, 3
    ref_frames, ref_u, ref_v = reference_frames(u0, v0, frames, per_frame)
    got = run_frames(jnp.asarray(u0), jnp.asarray(v0), frames, per_frame)
    problem = jax_problem(got, "run_frames")
    if problem is None:
        problem = not_a_tuple(got, "a triple (u, v, frames)", 3)
    if problem is None:
        stack = np.asarray(got[2])
        if stack.shape != ref_frames.shape:
            problem = (f"the frames have shape {stack.shape}, expected {ref_frames.shape}: "
                       "one interior of V per frame (scan stacks what the body returns)")
        else:
            problem = frames_problem(stack, ref_frames,
                                     lambda k: f"frame {k} (after {(k + 1) * per_frame} steps)")
    if problem is None:
        problem = state_problem(got[:2], (ref_u, ref_v), model.tolerance("float32"))
    if problem is None and (grows := _program_grows(
            run_frames, (jnp.asarray(u0), jnp.asarray(v0), frames, per_frame),
            (jnp.asarray(u0), jnp.asarray(v0), 2 * frames, per_frame), (2, 3))):
        problem = (f"the frames are right, but the traced program grows with their number "
                   f"({grows[0]} lines for {frames} frames, {grows[1]} for {2 * frames}): a Python loop "
                   "over the frames; let lax.scan carry the state and stack what each frame returns")
    return conclude(name, problem, f"{frames} frames of {per_frame} steps agree with the numpy backend",
                    raise_on_failure)


def check_host_frames(run_frames: Fn, to_device: Fn, *, raise_on_failure: bool = True,
                      name: str = "check_host_frames") -> Verdict:
    """``run_frames(u, v, frames, steps_per_frame)``: device state in, a host (frames, R, C) array out."""
    u0, v0 = seeded_state()
    frames, per_frame = 3, 4
    ref_frames, _, _ = reference_frames(u0, v0, frames, per_frame)
    got = run_frames(to_device(u0), to_device(v0), frames, per_frame)
    problem = None
    if not isinstance(got, np.ndarray):
        problem = f"returned a {_kind(got)}, expected a NumPy array on the host (the frames to write)"
    elif got.shape != ref_frames.shape:
        problem = f"the frames have shape {got.shape}, expected {ref_frames.shape} (frames, rows, cols)"
    else:
        problem = frames_problem(got, ref_frames, lambda k: f"frame {k}")
    return conclude(name, problem,
                    f"{frames} frames of {per_frame} steps on the host agree with the numpy backend",
                    raise_on_failure)


def check_run_to_file(run_to_file: Fn, *, raise_on_failure: bool = True,
                      name: str = "check_run_to_file") -> Verdict:
    """``run_to_file(b, path, frames, steps_per_frame)``: a loaded backend's frames into an HDF5 file.

    Runs it with the numpy backend on a small grid into a temporary file and reads the file
    back with ``grayscott.h5io.read_frames``: every frame there, in order, with the right values.
    """
    import tempfile
    from pathlib import Path

    from grayscott.h5io import read_frames

    u0, v0 = seeded_state()
    frames, per_frame = 3, 4
    ref_frames, _, _ = reference_frames(u0, v0, frames, per_frame)
    b = backends.create("numpy", CHECK_PARAMS)
    b.load(u0, v0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "check.h5"
        run_to_file(b, path, frames, per_frame)
        if not path.exists():
            return refuse(name, f"no file was written at the path given ({path.name})", raise_on_failure)
        got, _ = read_frames(path)
    problem = None
    if got.shape != ref_frames.shape:
        problem = (f"the file holds frames of shape {got.shape}, expected {ref_frames.shape}"
                   + (" (close the writer: it writes what is still queued)" if len(got) < frames else ""))
    else:
        problem = frames_problem(got, ref_frames, lambda k: f"frame {k} in the file")
    return conclude(name, problem, f"{frames} frames of {per_frame} steps in the file, in order",
                    raise_on_failure)

