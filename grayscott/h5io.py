"""HDF5 output in the school's layout, written by a thread while the backend computes.

Layout (read by the school's C++/Rust viewers): one dataset ``matrix`` of shape
(frames, rows, cols), float32 (or the run's dtype), chunks (1, rows, cols), V only; frame i
holds V after (i + 1) * steps_per_frame steps. A run stopped early leaves a readable file
holding the frames it finished (attribute ``completed`` says whether it ran to the end).

Why the frames bypass h5py: h5py holds Python's GIL while HDF5 writes, and a write waits for
the disk whenever the page cache is full of dirty pages, so a writer thread calling h5py
stalls the thread that computes (measured: a third of the time on a 1080 x 1920 run). HDF5
allocates each frame's chunk ahead (blocks of frames, allocated early, never filled), and
the writer thread puts the frame's bytes at that chunk's address with ``os.pwrite``, which
releases the GIL. At close the dataset is cut to the frames written.

Where the file system allows it and a frame is a whole number of 4 kB pages (1080 x 1920
float32 is), frames go with ``O_DIRECT``: from an aligned staging buffer straight to the
device, without the page cache. On a 2-core machine the page cache's copies and write-back
took a third of the CPU that computing needed (measured, see benchmarks/NOTES.md).
``GRAYSCOTT_DIRECT_IO=0`` turns it off; the mode used is recorded in ``write_mode``.

A full disk (or a lab's disk quota, a file-size limit) ends the run like an interrupt: the
writer keeps the frames written, gives back the blocks of the frame it could not finish
(so HDF5 has room to close the file) and the run stops with one line saying so
(:func:`disk_full_message`).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import queue
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from grayscott.capacity import human
from grayscott.errors import DiskFull, OutputError
from grayscott.model import Params

DATASET = "matrix"
#: The errors of a write that found no room: file system full, quota, file-size limit.
NO_ROOM = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def is_no_room(exc: BaseException) -> bool:
    """Whether ``exc`` says the disk, a quota or a file-size limit refused a write (h5py
    gives HDF5's message, with the errno in its text, not in ``errno``)."""
    if isinstance(exc, OSError) and exc.errno in NO_ROOM:
        return True
    text = str(exc)
    return any(os.strerror(code) in text or f"errno = {code}," in text for code in NO_ROOM)


def disk_full_message(path: Path, frames_done: int | None,
                      env: dict[str, str] | None = None) -> str:
    """One line for a run the disk stopped: where, which limit, what the file holds, what to
    do. In a lab of the hub, ``GSLAB_DISK_LIMIT`` (set by the hub) names the student's cap."""
    env = dict(os.environ) if env is None else env
    folder = path.resolve().parent
    limit = env.get("GSLAB_DISK_LIMIT", "")
    work = env.get("GSLAB_WORK_DIR", "/work")
    try:
        size = os.statvfs(folder)
        total = human(size.f_blocks * size.f_frsize)
    except OSError:
        total = "?"
    if limit and (folder == Path(work) or Path(work) in folder.parents):
        where = f"no space left in {work} (the lab's disk quota: {limit})"
    else:
        where = (f"no space left for {path} (its file system holds {total} in all; a quota "
                 "or a file-size limit can be lower)")
    held = ("nothing written" if frames_done is None
            else f"{path} holds the {frames_done} frames finished (readable)")
    return (f"{where}: {held}; delete old runs (rm *.h5) or run fewer frames (-n) or a "
            "smaller grid, then run again")


def _give_back(fd: int, offset: int, length: int) -> None:
    """Free the blocks of [offset, offset + length) of the file (Linux hole punching): the
    frame that did not fit, so HDF5's last metadata writes find room. Best effort."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        punch_hole, keep_size = 0x02, 0x01
        libc.fallocate(fd, punch_hole | keep_size, ctypes.c_long(offset), ctypes.c_long(length))
    except (OSError, AttributeError):
        pass


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

    #: Chunks allocated at a time: about this many bytes of frames (sparse until written).
    BLOCK_BYTES = 256 * 2**20
    #: The attributes saying how far the run got are refreshed at most this often.
    PROGRESS_SECONDS = 1.0
    #: O_DIRECT needs file offsets, buffer addresses and lengths in multiples of this.
    PAGE = 4096
    #: The attributes close() sets, written once at the start: close then rewrites them in
    #: place and needs no new room in the file (it may be called on a full disk).
    CLOSING_ATTRS: ClassVar[dict[str, Any]] = {"interrupted": False, "time_compute_s": 0.0,
                                               "time_total_s": 0.0, "time_write_s": 0.0}

    def __init__(self, path: Path, params: Params, frames: int, attrs: dict[str, Any],
                 *, force: bool = False, queue_size: int = 4) -> None:
        import h5py

        check_output_path(path, force)
        try:  # chunks (large objects) start on page boundaries, for O_DIRECT
            self.file = h5py.File(path, "w", alignment_threshold=self.PAGE,
                                  alignment_interval=self.PAGE)
        except OSError as exc:
            raise OutputError(f"cannot create {path}: {exc}") from None
        self.path = path
        self.frames_written = 0
        try:
            self._create(params, frames, attrs)
        except (OSError, RuntimeError) as exc:  # h5py raises HDF5's write errors as both
            with contextlib.suppress(OSError, RuntimeError):
                self.file.close()
            if not is_no_room(exc):
                raise OutputError(f"cannot create {path}: {exc}") from None
            path.unlink(missing_ok=True)  # not one frame in it
            raise DiskFull(disk_full_message(path, None)) from None
        self.write_seconds = 0.0
        self.wait_seconds = 0.0
        self._reported = time.perf_counter()
        self._queue: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=queue_size)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._drain, name="hdf5-writer", daemon=True)
        self._thread.start()

    def _create(self, params: Params, frames: int, attrs: dict[str, Any]) -> None:
        """The dataset with its first block of chunks, the attributes, the frames' descriptor."""
        import h5py

        self.dtype = params.np_dtype
        self._frame_bytes = self.dtype.itemsize * params.rows * params.cols
        frame_shape = params.shape
        self._block = max(1, min(frames, self.BLOCK_BYTES // (self.dtype.itemsize * params.rows
                                                               * params.cols)))
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_chunk((1, *frame_shape))
        dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)  # a chunk has its address at once
        dcpl.set_fill_time(h5py.h5d.FILL_TIME_NEVER)  # and costs nothing until written
        space = h5py.h5s.create_simple((self._block, *frame_shape), (frames, *frame_shape))
        dataset_id = h5py.h5d.create(self.file.id, DATASET.encode(),
                                     h5py.h5t.py_create(self.dtype), space, dcpl=dcpl)
        self.dataset = h5py.Dataset(dataset_id)
        self._frames_planned = frames
        self._offsets = self._chunk_offsets(0)
        self.set_attrs({**params.to_attrs(), "frames_planned": frames,
                        "created": datetime.now(UTC).isoformat(timespec="seconds"),
                        "completed": False, "frames_written": 0, **self.CLOSING_ATTRS,
                        **attrs})
        self.file.flush()
        self._fd, self.write_mode = self._open_for_frames(self.path)
        self.file.attrs["write_mode"] = self.write_mode
        self._staging = self._aligned_buffer() if self.write_mode == "direct" else None

    def _open_for_frames(self, path: Path) -> tuple[int, str]:
        """A second descriptor for the frames: O_DIRECT when it can work here, else buffered."""
        wanted = os.environ.get("GRAYSCOTT_DIRECT_IO", "1") != "0"
        aligned = self._frame_bytes % self.PAGE == 0 and all(o % self.PAGE == 0
                                                              for o in self._offsets)
        if wanted and aligned and hasattr(os, "O_DIRECT"):
            try:
                return os.open(path, os.O_WRONLY | os.O_DIRECT), "direct"
            except OSError:  # tmpfs and some network file systems refuse it
                pass
        return os.open(path, os.O_WRONLY), "buffered"

    def _aligned_buffer(self) -> np.ndarray:
        raw = np.empty(self._frame_bytes + self.PAGE, dtype=np.uint8)
        start = -raw.ctypes.data % self.PAGE
        return raw[start:start + self._frame_bytes]

    def _chunk_offsets(self, first: int) -> list[int]:
        """File addresses of the allocated chunks from frame ``first`` on."""
        dataset_id = self.dataset.id
        frames = self.dataset.shape[0]
        return [dataset_id.get_chunk_info_by_coord((i, 0, 0)).byte_offset
                for i in range(first, frames)]

    def set_attrs(self, attrs: dict[str, Any]) -> None:
        for key, value in attrs.items():
            self.file.attrs[key] = _attr_value(value)

    def _write(self, frame: np.ndarray) -> None:
        index = self.frames_written
        if index == len(self._offsets):  # next block of chunks
            size = min(index + self._block, self._frames_planned)
            self.dataset.resize(size, axis=0)
            self._offsets += self._chunk_offsets(index)
        data = np.ascontiguousarray(frame, dtype=self.dtype).data.cast("B")
        if self._staging is not None:  # O_DIRECT reads from page-aligned memory only
            self._staging[:] = np.frombuffer(data, dtype=np.uint8)
            data = self._staging.data.cast("B")
        offset = self._offsets[index]
        if self._staging is not None and offset % self.PAGE:  # never seen: HDF5 aligns chunks
            raise OutputError(f"chunk {index} at offset {offset} is not page-aligned; "
                              "set GRAYSCOTT_DIRECT_IO=0")
        try:
            fd = self._fd
            while data:
                try:
                    written = os.pwrite(fd, data, offset)
                except OSError:
                    if fd != self._fd or self._staging is None:
                        raise
                    written = 0  # O_DIRECT says EINVAL where a limit cuts the write short
                data, offset = data[written:], offset + written
                if data and fd == self._fd and self._staging is not None:
                    # A failed or short O_DIRECT write: the rest goes buffered (unaligned
                    # now), which writes it or says what stopped it (no room, a limit).
                    fd = os.open(self.path, os.O_WRONLY)
        except OSError as exc:
            if exc.errno in NO_ROOM:
                _give_back(self._fd, self._offsets[index], self._frame_bytes)
            raise
        finally:
            if fd != self._fd:
                os.close(fd)
        self.frames_written = index + 1
        if time.perf_counter() - self._reported > self.PROGRESS_SECONDS:
            self.file.attrs["frames_written"] = self.frames_written
            self.file.flush()
            self._reported = time.perf_counter()

    def _drain(self) -> None:
        while (frame := self._queue.get()) is not None:
            if self._error is not None:
                continue  # keep consuming so put() never blocks forever
            start = time.perf_counter()
            try:
                self._write(frame)
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
        if frame.shape != self.dataset.shape[1:]:
            raise OutputError(f"frame of shape {frame.shape}, the file holds "
                              f"{self.dataset.shape[1:]}")
        start = time.perf_counter()
        self._queue.put(frame)
        self.wait_seconds += time.perf_counter() - start

    def close(self, attrs: dict[str, Any]) -> None:
        """Write what is queued, cut the dataset to the frames written, set the final
        attributes, and close the file."""
        self._queue.put(None)
        self._thread.join()
        try:
            os.close(self._fd)
            self.dataset.resize(self.frames_written, axis=0)
            self.set_attrs({**attrs, "frames_written": self.frames_written,
                            "time_write_s": self.write_seconds})
        finally:
            self.file.close()
        if self._error is not None:
            raise self._failure()


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
