"""Start a notebook's MPI script on N processes, and turn what the ranks print into one clear answer.

A notebook's kernel is one process; an MPI program is N processes started together by
``mpiexec``. The scale notebook therefore writes its program to a file (``%%writefile
halo.py``) and runs it the way it would run on a cluster::

    mpiexec -n 2 python -m mpi4py halo.py --rows 270 --cols 480 --steps 200 --out halo.npz

``python -m mpi4py`` makes an uncaught exception on one rank abort all of them, instead of
leaving the others waiting forever for a message. ``mpirun`` here prints that exact command,
runs it with a time limit (a deadlock ends with a message saying so, not a frozen notebook)
and, when a rank fails, raises the rank's own error: ``NotImplementedError`` for an unfilled
gap, like the other notebooks, and ``MPIRunFailed`` with the rank's last error line otherwise.

``mpiexec`` is taken next to the kernel's Python first (the ``mpich`` wheel of the ``mpi``
extra installs it in the virtualenv's ``bin/``, which is not always on PATH in a kernel), then
from PATH (a cluster's own MPI).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from grayscott.labs.timing import Timings

#: Seconds a run may take before it counts as stuck (a deadlock: a receive nobody sends to).
DEFAULT_TIMEOUT_S = 120

_EXERCISE = re.compile(r"NotImplementedError: (exercise: .*)")
_ERROR_LINE = re.compile(r"^(\w+(?:\.\w+)*(?:Error|Exception|Failed)\b.*)$", re.MULTILINE)


class NeedsMPI(Exception):
    """mpi4py or mpiexec is missing: the message says which and how to install them."""


class MPIRunFailed(RuntimeError):
    """The MPI program failed or hung; the message holds the failing rank's error line."""


def mpiexec() -> str:
    """Path of ``mpiexec``: next to this Python (the mpich wheel), else on PATH."""
    beside = Path(sys.executable).parent / "mpiexec"
    if beside.exists():
        return str(beside)
    found = shutil.which("mpiexec") or shutil.which("mpirun")
    if found is None:
        raise NeedsMPI("no mpiexec found next to this Python or on PATH: "
                       "pip install 'grayscott[mpi]' (mpi4py and the mpich runtime)")
    return found


def require_mpi() -> None:
    """Return when mpi4py imports and mpiexec exists; else print why and raise ``NeedsMPI``."""
    try:
        if importlib.util.find_spec("mpi4py") is None:
            raise NeedsMPI("mpi4py is not installed: pip install 'grayscott[mpi]'")
        mpiexec()
    except NeedsMPI as exc:
        print(f"This notebook needs MPI: {exc}")
        raise


def command(script: str | Path, *args: object, ranks: int = 2, module: bool = False) -> list[str]:
    """The command line that starts ``script`` (a module's name if ``module``) on ``ranks`` processes."""
    target = ["-m", str(script)] if module else [str(script)]
    return [mpiexec(), "-n", str(ranks), sys.executable, "-m", "mpi4py", *target,
            *(str(a) for a in args)]


def _environment() -> dict[str, str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    # Open MPI refuses to start as root without these (containers, CI); MPICH ignores them.
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    # one thread per rank: the ranks are the parallelism, extra threads would fight for cores
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def failure(stderr: str, returncode: int) -> Exception:
    """The exception that says best why the ranks failed (an unfilled gap: NotImplementedError)."""
    gap = _EXERCISE.search(stderr)
    if gap:
        return NotImplementedError(gap.group(1).strip())
    errors = _ERROR_LINE.findall(stderr)
    if errors:
        return MPIRunFailed(f"a rank failed: {errors[-1].strip()}")
    tail = " | ".join(line for line in stderr.strip().splitlines()[-3:])
    return MPIRunFailed(f"mpiexec exited with code {returncode}" + (f": {tail}" if tail else ""))


def mpirun(script: str | Path, *args: object, ranks: int = 2, timeout: float = DEFAULT_TIMEOUT_S,
           quiet: bool = False, module: bool = False) -> str:
    """Run ``script`` on ``ranks`` MPI processes; print (unless ``quiet``) and return its output.

    Raises the failing rank's error (see the module's docstring), or ``MPIRunFailed`` when the
    run takes longer than ``timeout`` seconds.
    """
    cmd = command(script, *args, ranks=ranks, module=module)
    if not quiet:
        shown = ["mpiexec", *cmd[1:3], "python", *cmd[4:]]
        print("$ " + shlex.join(shown))
    # A session of its own: on a timeout the whole group goes (mpiexec and every rank), so no
    # rank is left spinning in MPI's busy wait after the notebook gave up on it.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_environment(), start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop_group(proc)
        raise MPIRunFailed(f"the {ranks} ranks did not finish within {timeout:g} s: a deadlock? "
                           "(a rank waits in a receive that no rank sends to; Sendrecv pairs them)"
                           ) from None
    if not quiet and stdout:
        print(stdout, end="")
    if proc.returncode != 0:
        if not quiet and stderr:
            print(stderr[-2000:], end="", file=sys.stderr)
        raise failure(stderr, proc.returncode)
    return stdout


def _stop_group(proc: subprocess.Popen[str]) -> None:
    """SIGTERM to mpiexec's process group, SIGKILL what is left after 5 s."""
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.communicate(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def load_script(path: str | Path) -> ModuleType:
    """Import the script at ``path`` as a fresh module (re-read on every call, never cached).

    ``import halo`` would keep the first version for the whole session; a student who fixes
    the file and runs the check again must see the fix.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: run the %%writefile cell above first")
    spec = importlib.util.spec_from_file_location(f"_lab_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def repeat_against(script: str | Path, *args: object, out: str | Path, ranks: int, backend: str,
                   steps: int, params: Any, runs: int = 3) -> Timings:
    """The MPI program on ``ranks`` ranks and ``backend`` in this process, ``runs`` times each,
    interleaved, per step: a chart's worth of repeats instead of one run each.

    The program times its own steps and writes the slowest rank's seconds as ``seconds`` into
    the ``.npz`` at ``out`` (mpiexec's start-up is not a step); the backend is timed the same
    way (``compare.time_backend``). One run each once read "1.11x" and "1.37x" on the same
    machine: only repeats say whether the ranks helped here."""
    from grayscott.labs.compare import time_backend

    mine, theirs = f"{ranks} MPI ranks", f"{backend}, one process"
    seconds: dict[str, list[float]] = {mine: [], theirs: []}
    for _ in range(runs):
        mpirun(script, *args, ranks=ranks, quiet=True)
        with np.load(out) as result:
            seconds[mine].append(float(result["seconds"]) / steps)
        seconds[theirs].append(time_backend(backend, params, steps)[0] / steps)
    return Timings(seconds, what="step")
