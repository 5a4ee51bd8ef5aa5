"""HDF5 output in the school's layout, written by a thread while the backend computes.

Layout (read by the school's C++/Rust viewers): one dataset ``matrix`` of shape
(frames, rows, cols), float32 (or the run's dtype), chunks (1, rows, cols), V only; frame i
holds V after (i + 1) * steps_per_frame steps. The dataset grows one frame at a time and the
file is flushed after each frame, so a run stopped early leaves a readable file holding the
frames it finished (attribute ``completed`` says whether it ran to the end).
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from grayscott.errors import OutputError
from grayscott.model import Params

DATASET = "matrix"


def check_output_path(path: Path, force: bool) -> None:
    """Refuse to clobber an existing file silently, and say early if the path is unwritable."""
    if path.is_dir():
        raise OutputError(f"output {path} is a directory; give a file name such as {path / 'out.h5'}")
    if path.exists() and not force:
        raise OutputError(f"output {path} exists; pass --force to overwrite it")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"cannot write {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"cannot write {path}: directory {parent} is not writable")


def _attr_value(value: Any) -> Any:
    """HDF5 attributes take numbers, strings and arrays; everything else becomes JSON."""
    if value is None:
        return "none"
    if isinstance(value, (bool, int, float, str, np.ndarray, np.generic)):
        return value
    return json.dumps(value)


class FrameWriter:
    """Appends V frames to ``matrix`` from a background thread with a small queue.

    ``put`` hands a host frame over and returns at once unless ``queue_size`` frames are
    already waiting (then the backend waits for the disk: back-pressure, bounded memory).
    """

    def __init__(self, path: Path, params: Params, frames: int, attrs: dict[str, Any],
                 *, force: bool = False, queue_size: int = 4) -> None:
        import h5py

        check_output_path(path, force)
        try:
            self.file = h5py.File(path, "w")
        except OSError as exc:
            raise OutputError(f"cannot create {path}: {exc}") from None
        self.path = path
        self.dataset = self.file.create_dataset(
            DATASET, shape=(0, *params.shape), maxshape=(frames, *params.shape),
            dtype=params.np_dtype, chunks=(1, *params.shape))
        self.set_attrs({**params.to_attrs(), "frames_planned": frames,
                        "created": datetime.now(UTC).isoformat(timespec="seconds"),
                        "completed": False, **attrs})
        self.file.flush()
        self.frames_written = 0
        self.write_seconds = 0.0
        self.wait_seconds = 0.0
        self._queue: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=queue_size)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._drain, name="hdf5-writer", daemon=True)
        self._thread.start()

    def set_attrs(self, attrs: dict[str, Any]) -> None:
        for key, value in attrs.items():
            self.file.attrs[key] = _attr_value(value)

    def _drain(self) -> None:
        while (frame := self._queue.get()) is not None:
            if self._error is not None:
                continue  # keep consuming so put() never blocks forever
            start = time.perf_counter()
            try:
                index = self.frames_written
                self.dataset.resize(index + 1, axis=0)
                self.dataset[index] = frame
                self.file.flush()
                self.frames_written = index + 1
            except BaseException as exc:  # surfaced to the main thread by put()/close()
                self._error = exc
            self.write_seconds += time.perf_counter() - start

    def put(self, frame: np.ndarray) -> None:
        """Queue one frame (a host array the caller will not modify again)."""
        if self._error is not None:
            raise OutputError(f"writing {self.path} failed: {self._error}")
        start = time.perf_counter()
        self._queue.put(frame)
        self.wait_seconds += time.perf_counter() - start

    def close(self, attrs: dict[str, Any]) -> None:
        """Write what is queued, then the final attributes, and close the file."""
        self._queue.put(None)
        self._thread.join()
        try:
            self.set_attrs({**attrs, "frames_written": self.frames_written,
                            "time_write_s": self.write_seconds})
        finally:
            self.file.close()
        if self._error is not None:
            raise OutputError(f"writing {self.path} failed: {self._error}")


def read_frames(path: Path) -> tuple[np.ndarray, dict[str, Any]]:
    """All frames of a run file and its attributes (for render, tests and labs)."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            if DATASET not in f:
                raise OutputError(f"{path} has no dataset {DATASET!r}: not a grayscott run file")
            return f[DATASET][...], dict(f.attrs)
    except OSError as exc:
        raise OutputError(f"cannot read {path}: {exc}") from None
