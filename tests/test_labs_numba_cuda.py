"""gpu/6's check on kernels a student writes, run by Numba's CUDA simulator (no GPU here).

Each wrong kernel is a mistake a student makes: the check must refuse it and name it, and the
right kernel, in either launch order, must pass. The kernels run in a child Python with
``NUMBA_ENABLE_CUDASIM=1`` (the simulator is chosen when numba.cuda is first imported, and
this test process may have imported it already for something else).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

#: The kernels and launches, one per variant, in a child process: the problem each gets
SCRIPT = textwrap.dedent('''
    import json, sys
    import numpy as np
    from numba import cuda
    from grayscott.labs.checks.numba_cuda import cuda_run_problem

    EIGHT, ONE = np.float32(8.0), np.float32(1.0)

    def make(variant):
        @cuda.jit
        def kernel(u, v, u2, v2, du, dv, feed, kill, dt):
            if variant == "rows-as-x":
                i, j = cuda.grid(2)
            else:
                j, i = cuda.grid(2)
            if variant != "no-frame-shift":
                i += 1
                j += 1
            last = 3 if variant == "guard-one-short" else 2
            if i > u.shape[0] - last or j > u.shape[1] - last:
                return
            lu = (u[i-1, j-1] + u[i-1, j] + u[i-1, j+1] + u[i, j-1] - EIGHT * u[i, j] + u[i, j+1]
                  + u[i+1, j-1] + u[i+1, j] + u[i+1, j+1])
            lv = (v[i-1, j-1] + v[i-1, j] + v[i-1, j+1] + v[i, j-1] - EIGHT * v[i, j] + v[i, j+1]
                  + v[i+1, j-1] + v[i+1, j] + v[i+1, j+1])
            uvv = u[i, j] * v[i, j] * v[i, j]
            if variant == "reaction-sign":
                uvv = -uvv
            step = ONE if variant == "no-dt" else dt
            d_u, d_v = (dv, du) if variant == "du-dv-swapped" else (du, dv)
            u2[i, j] = u[i, j] + step * (d_u * lu - uvv + feed * (ONE - u[i, j]))
            v2[i, j] = v[i, j] + step * (d_v * lv + uvv - (feed + kill) * v[i, j])

        def run(u0, v0, steps, du, dv, feed, kill, dt):
            u, v = cuda.to_device(u0), cuda.to_device(v0)
            u2, v2 = cuda.to_device(u0), cuda.to_device(v0)
            rows, cols = u0.shape[0] - 2, u0.shape[1] - 2
            threads = (8, 8)
            blocks = ((cols + 7) // 8, (rows + 7) // 8)
            if variant == "blocks-rounded-down":
                blocks = (cols // 8, rows // 8)
            if variant == "rows-as-x":
                blocks = ((rows + 7) // 8, (cols + 7) // 8)
            for _ in range(0 if variant == "never-launched" else steps):
                kernel[blocks, threads](u, v, u2, v2, du, dv, feed, kill, dt)
                if variant not in ("pairs-not-swapped", "written-pair-not-returned"):
                    u, u2, v, v2 = u2, u, v2, v
            pair = (u.copy_to_host(), v.copy_to_host())
            if variant == "pairs-not-swapped":  # the written pair returned, but never read again
                pair = (u2.copy_to_host(), v2.copy_to_host())
            return pair[::-1] if variant == "outputs-swapped" else pair
        return run

    print(json.dumps({name: cuda_run_problem(make(name)) for name in sys.argv[1:]}))
''')

#: variant -> what the refusal must say (None: accepted)
EXPECTED = {
    "right": None,
    "rows-as-x": None,  # rows along x, blocks to match: slower on a GPU, but right
    "guard-one-short": "only the last interior row or column is wrong",
    "no-frame-shift": "boundary",
    "no-dt": "the step without dt",
    "du-dv-swapped": "Du and Dv are swapped",
    "outputs-swapped": "u and v are swapped",
    "blocks-rounded-down": "were never computed: are there enough blocks",
    "pairs-not-swapped": "swap the two pairs",
    "written-pair-not-returned": "return the pair the last launch wrote",
    "reaction-sign": "after one launch, u at cell",
    "never-launched": "nothing changed",
}


@pytest.fixture(scope="module")
def problems() -> dict[str, str | None]:
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    done = subprocess.run([sys.executable, "-c", SCRIPT, *EXPECTED], capture_output=True, text=True,
                          env=env, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("variant", EXPECTED)
def test_the_kernel_check_names_the_mistake(variant: str, problems: dict[str, str | None]) -> None:
    expected, got = EXPECTED[variant], problems[variant]
    if expected is None:
        assert got is None, f"a right kernel ({variant}) refused: {got}"
    else:
        assert got is not None and expected in got, f"{variant}: {got!r} does not say {expected!r}"
        assert "\n" not in got
