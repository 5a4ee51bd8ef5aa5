"""Right and wrong answers to the JAX sharding notebook's exercises, judged by its checks.

Run by tests/test_labs_scale.py in a subprocess with
``XLA_FLAGS=--xla_force_host_platform_device_count=4`` (the flag only works before JAX starts);
prints one JSON line: each case's verdict, "correct" or the check's message.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from grayscott import model
from grayscott.labs import checks

N = len(jax.devices())
MESH = Mesh(np.array(jax.devices()), ("rows",))
ROWS = P("rows", None)
COEFFICIENTS = checks.CHECK_PARAMS.coefficients()


def shard_rows(a: Any) -> Any:
    return jax.device_put(a, NamedSharding(MESH, ROWS))


def halo_rows(block: Any, boundary: float, *, swap: bool = False, edges: bool = True) -> Any:
    k = lax.axis_index("rows")
    down, up = [(i, i + 1) for i in range(N - 1)], [(i + 1, i) for i in range(N - 1)]
    above = lax.ppermute(block[-1:], "rows", up if swap else down)
    below = lax.ppermute(block[:1], "rows", down if swap else up)
    if edges:
        above = jnp.where(k == 0, boundary, above)
        below = jnp.where(k == N - 1, boundary, below)
    return jnp.concatenate([above, block, below])


def make_advance(feed: float = COEFFICIENTS[2]) -> Callable[..., Any]:
    du, dv, _, kill, dt = COEFFICIENTS

    def local_step(u: Any, v: Any) -> Any:
        up = jnp.pad(halo_rows(u, model.U_BOUNDARY), ((0, 0), (1, 1)), constant_values=model.U_BOUNDARY)
        vp = jnp.pad(halo_rows(v, model.V_BOUNDARY), ((0, 0), (1, 1)), constant_values=model.V_BOUNDARY)
        return model.react(u, v, model.laplacian(up), model.laplacian(vp), du, dv, feed, kill, dt)

    def on_each_device(u: Any, v: Any, steps: Any) -> Any:
        return lax.fori_loop(0, steps, lambda _, s: local_step(*s), (u, v))

    @jax.jit
    def advance(u: Any, v: Any, steps: Any) -> Any:
        sharded = jax.shard_map(on_each_device, mesh=MESH, in_specs=(ROWS, ROWS, P()), out_specs=(ROWS, ROWS))
        return sharded(u, v, steps)

    return advance


def verdict(check: Callable[[], bool]) -> str:
    try:
        check()
    except checks.CheckFailed as exc:
        return str(exc)
    return "correct"


def main() -> None:
    advance = make_advance()
    single = jax.devices()[0]
    cases = {
        "shard_rows": lambda: checks.check_row_sharding(shard_rows, MESH),
        "shard_replicated": lambda: checks.check_row_sharding(
            lambda a: jax.device_put(a, NamedSharding(MESH, P())), MESH),
        "shard_columns": lambda: checks.check_row_sharding(
            lambda a: jax.device_put(a[:, :16], NamedSharding(MESH, P(None, "rows"))), MESH),
        "halo_rows": lambda: checks.check_jax_halo_rows(halo_rows, MESH),
        "halo_swapped": lambda: checks.check_jax_halo_rows(lambda b, x: halo_rows(b, x, swap=True), MESH),
        "halo_no_boundary": lambda: checks.check_jax_halo_rows(
            lambda b, x: halo_rows(b, x, edges=False), MESH),
        "halo_no_halo": lambda: checks.check_jax_halo_rows(lambda b, x: b, MESH),
        "advance": lambda: checks.check_sharded_advance(advance, shard_rows, MESH),
        "advance_no_feed": lambda: checks.check_sharded_advance(make_advance(feed=0.0), shard_rows, MESH),
        "advance_gathered": lambda: checks.check_sharded_advance(
            lambda u, v, n: tuple(jax.device_put(a, single) for a in advance(u, v, n)), shard_rows, MESH),
        "advance_padded": lambda: checks.check_sharded_advance(
            lambda u, v, n: tuple(jnp.pad(a, 1) for a in advance(u, v, n)), shard_rows, MESH),
    }
    outcomes: dict[str, Any] = {"devices": N}
    for name, case in cases.items():
        outcomes[name] = verdict(case)
    print(json.dumps(outcomes))


if __name__ == "__main__":
    main()
