"""The run loop: compute frames on a backend while a writer thread stores the previous ones.

Only V crosses to the host, once per frame; the backend keeps u and v on its device for the
whole run. A run stopped by Ctrl-C, SIGTERM or an error still closes its file properly with
the frames it finished.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grayscott import __version__, backends, capacity, hardware
from grayscott.errors import UsageError
from grayscott.h5io import FrameWriter, check_output_path
from grayscott.model import Params, initial_state


@dataclass
class RunStats:
    """What a run did and where its time went."""

    backend: str
    device: str
    frames: int
    steps_per_frame: int
    frames_done: int = 0
    seconds_total: float = 0.0
    seconds_compute: float = 0.0  # main thread: advance + fetch of V
    seconds_write: float = 0.0  # writer thread, busy writing
    seconds_wait: float = 0.0  # main thread blocked on a full write queue
    completed: bool = False
    interrupted: bool = False  # stopped by Ctrl-C or SIGTERM; the file holds frames_done

    @property
    def steps_done(self) -> int:
        return self.frames_done * self.steps_per_frame

    @property
    def ms_per_step(self) -> float:
        return 1e3 * self.seconds_total / self.steps_done if self.steps_done else float("nan")


def check_counts(frames: int, steps: int) -> None:
    if frames <= 0:
        raise UsageError(f"--frames must be a positive number, not {frames}")
    if steps <= 0:
        raise UsageError(f"--steps must be a positive number, not {steps}")


class Simulation:
    """A run made ready: backend created and loaded, output file open (all checks done).

    Splitting preparation from ``execute`` lets the command line report bad input before it
    draws a progress bar.
    """

    def __init__(self, backend_name: str, params: Params, frames: int, steps: int, path: Path,
                 *, force: bool = False, device: str | None = None, noise: float = 0.0,
                 seed: int | None = None, check_size: bool = True) -> None:
        backends.get(backend_name)  # an unknown name is the first thing to say
        check_counts(frames, steps)
        check_output_path(path, force)
        self.start = time.perf_counter()
        self.backend = backends.create(backend_name, params, device)
        if check_size:  # before the first grid is allocated and the first byte written
            capacity.check_run(self.backend, frames, path, overwrite=force)
        self.backend.load(*initial_state(params, noise=noise, seed=seed))
        description = self.backend.describe()
        self.stats = RunStats(self.backend.name, description["device"], frames, steps)
        self.writer = FrameWriter(path, params, frames, {
            "backend": self.backend.name, "device": self.stats.device, "steps_per_frame": steps,
            "noise": noise, "seed": -1 if seed is None else seed,
            "grayscott_version": __version__, "versions": description["versions"],
            "machine": hardware.machine_info()}, force=force)

    def execute(self, on_frame: Callable[[int], None] | None = None,
                stop: threading.Event | None = None) -> RunStats:
        """Compute and write every frame. ``stop`` set (by a signal handler: Ctrl-C, SIGTERM)
        or a KeyboardInterrupt ends the run early and returns with ``interrupted`` set; other
        errors propagate. Either way the file is closed holding the frames finished so far.

        ``stop`` is checked between frames: an exception raised by a signal handler can land
        in a finaliser or weakref callback, where Python only prints it and carries on."""
        stats, backend, writer = self.stats, self.backend, self.writer
        try:
            for index in range(stats.frames):
                if stop is not None and stop.is_set():
                    stats.interrupted = True
                    break
                tick = time.perf_counter()
                backend.advance(stats.steps_per_frame)
                frame = backend.fetch_v()
                stats.seconds_compute += time.perf_counter() - tick
                writer.put(frame)
                stats.frames_done = index + 1
                if on_frame is not None:
                    on_frame(index + 1)
            stats.completed = not stats.interrupted
        except KeyboardInterrupt:
            stats.interrupted = True
        finally:
            stats.seconds_wait = writer.wait_seconds
            writer.close({"completed": stats.completed, "interrupted": stats.interrupted,
                          "time_compute_s": stats.seconds_compute,
                          "time_total_s": time.perf_counter() - self.start})
            stats.seconds_total = time.perf_counter() - self.start
            stats.seconds_write = writer.write_seconds
            stats.frames_done = writer.frames_written
        return stats


def run_to_file(backend_name: str, params: Params, frames: int, steps: int, path: Path, *,
                on_frame: Callable[[int], None] | None = None, **options: Any) -> RunStats:
    """Run ``frames`` x ``steps`` steps on ``backend_name`` and write every frame to ``path``."""
    return Simulation(backend_name, params, frames, steps, path, **options).execute(on_frame)
