"""The writer thread: the simulation hands each frame over and goes on computing while a
background thread writes it to the :class:`~grayscott.h5io.runfile.FrameFile`."""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from grayscott.errors import DiskFull, OutputError
from grayscott.h5io.direct_io import is_no_room
from grayscott.h5io.runfile import FrameFile, disk_full_message
from grayscott.model import Params


class FrameWriter:
    """Appends V frames to ``matrix`` from a background thread with a small queue.

    ``put`` hands a host frame over and returns at once unless ``queue_size`` frames are
    already waiting (then the backend waits for the disk: back-pressure, bounded memory).
    """

    def __init__(self, path: Path, params: Params, frames: int, attrs: dict[str, Any],
                 *, force: bool = False, queue_size: int = 4) -> None:
        self.path = path
        self.file = FrameFile(path, params, frames, attrs, force=force)
        #: Seconds the thread spent writing, and the caller spent waiting for queue room.
        self.write_seconds = 0.0
        self.wait_seconds = 0.0
        self._queue: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=queue_size)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._drain, name="hdf5-writer", daemon=True)
        self._thread.start()

    @property
    def frames_written(self) -> int:
        return self.file.frames_written

    @property
    def write_mode(self) -> str:
        """"direct" (O_DIRECT) or "buffered": see :mod:`grayscott.h5io.direct_io`."""
        return self.file.write_mode

    def _drain(self) -> None:
        while (frame := self._queue.get()) is not None:
            if self._error is not None:
                continue  # keep consuming so put() never blocks forever
            start = time.perf_counter()
            try:
                self.file.write(frame)
            except BaseException as exc:  # surfaced to the main thread by put()/close()
                self._error = exc
            self.write_seconds += time.perf_counter() - start

    @property
    def disk_full(self) -> bool:
        """Whether writing stopped because the disk, a quota or a size limit had no room."""
        return self._error is not None and is_no_room(self._error)

    def _failure(self) -> OutputError:
        if self.disk_full:
            return DiskFull(disk_full_message(self.path, self.frames_written))
        return OutputError(f"writing {self.path} failed: {self._error}")

    def put(self, frame: np.ndarray) -> None:
        """Queue one frame (a host array the caller will not modify again)."""
        if self._error is not None:
            raise self._failure()
        if frame.shape != self.file.frame_shape:
            raise OutputError(f"frame of shape {frame.shape}, the file holds "
                              f"{self.file.frame_shape}")
        start = time.perf_counter()
        self._queue.put(frame)
        self.wait_seconds += time.perf_counter() - start

    def close(self, attrs: dict[str, Any]) -> None:
        """Write what is queued, cut the dataset to the frames written, set the final
        attributes, and close the file."""
        self._queue.put(None)
        self._thread.join()
        self.file.close({**attrs, "time_write_s": self.write_seconds})
        if self._error is not None:
            raise self._failure()
