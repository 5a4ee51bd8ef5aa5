"""The run file: the school's HDF5 layout (see :mod:`grayscott.h5io`), written one frame per
call by whoever calls it, and read back.

HDF5 allocates each frame's chunk ahead (blocks of frames, allocated early, never filled);
:meth:`FrameFile.write` puts the frame's bytes at that chunk's address through a
:class:`~grayscott.h5io.direct_io.ChunkWriter` (why h5py does not write them: see there). At
close the dataset is cut to the frames written, so a run stopped early leaves a readable
file with the frames it finished.

A full disk (or a lab's disk quota, a file-size limit) ends the run like an interrupt: the
file keeps the frames written and the run stops with one line saying so
(:func:`disk_full_message`).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from grayscott.capacity import PAGE, human
from grayscott.errors import DiskFull, OutputError
from grayscott.h5io.direct_io import ChunkWriter, is_no_room
from grayscott.model import Params

DATASET = "matrix"


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


class FrameFile:
    """A run file being written: ``write`` appends one V frame, ``close`` ends it.

    Not thread-safe and not threaded: :class:`~grayscott.h5io.writer.FrameWriter` calls it
    from its thread.
    """

    #: Chunks allocated at a time: about this many bytes of frames (sparse until written).
    BLOCK_BYTES = 256 * 2**20
    #: The attributes saying how far the run got are refreshed at most this often.
    PROGRESS_SECONDS = 1.0
    #: The attributes close() sets, written once at the start: close then rewrites them in
    #: place and needs no new room in the file (it may be called on a full disk).
    CLOSING_ATTRS: ClassVar[dict[str, Any]] = {"interrupted": False, "time_compute_s": 0.0,
                                               "time_total_s": 0.0, "time_write_s": 0.0}

    def __init__(self, path: Path, params: Params, frames: int, attrs: dict[str, Any],
                 *, force: bool = False) -> None:
        """Create ``path`` with the dataset's first block of chunks and the attributes
        (``attrs`` after the run's parameters). OutputError if it cannot; DiskFull (and no
        file) if there is no room for even that."""
        import h5py

        check_output_path(path, force)
        try:  # chunks (large objects) start on page boundaries, for O_DIRECT
            self.file = h5py.File(path, "w", alignment_threshold=PAGE, alignment_interval=PAGE)
        except OSError as exc:
            raise OutputError(f"cannot create {path}: {exc}") from None
        self.path = path
        self.dtype = params.np_dtype
        self.frame_shape = params.shape
        self.frame_bytes = self.dtype.itemsize * params.rows * params.cols
        self.frames_planned = frames
        self.frames_written = 0
        #: Frames whose chunks are allocated at a time (the dataset grows by this many).
        self.block = max(1, min(frames, self.BLOCK_BYTES // self.frame_bytes))
        self._reported = time.perf_counter()
        try:
            self.dataset = self._create_dataset()
            #: File addresses of the chunks allocated so far, one per frame.
            self.offsets = self._chunk_offsets(0)
            self.set_attrs({**params.to_attrs(), "frames_planned": frames,
                            "created": datetime.now(UTC).isoformat(timespec="seconds"),
                            "completed": False, "frames_written": 0, **self.CLOSING_ATTRS,
                            **attrs})
            self.file.flush()
            self.chunks = ChunkWriter(path, self.frame_bytes, self.offsets)
            self.write_mode = self.chunks.mode
            self.file.attrs["write_mode"] = self.write_mode
        except (OSError, RuntimeError) as exc:  # h5py raises HDF5's write errors as both
            with contextlib.suppress(OSError, RuntimeError):
                self.file.close()
            if not is_no_room(exc):
                raise OutputError(f"cannot create {path}: {exc}") from None
            path.unlink(missing_ok=True)  # not one frame in it
            raise DiskFull(disk_full_message(path, None)) from None

    def _create_dataset(self) -> Any:
        """``matrix`` with its first block of chunks, each with its address at once."""
        import h5py

        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_chunk((1, *self.frame_shape))
        dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)  # a chunk has its address at once
        dcpl.set_fill_time(h5py.h5d.FILL_TIME_NEVER)  # and costs nothing until written
        space = h5py.h5s.create_simple((self.block, *self.frame_shape),
                                       (self.frames_planned, *self.frame_shape))
        dataset_id = h5py.h5d.create(self.file.id, DATASET.encode(),
                                     h5py.h5t.py_create(self.dtype), space, dcpl=dcpl)
        return h5py.Dataset(dataset_id)

    def _chunk_offsets(self, first: int) -> list[int]:
        """File addresses of the allocated chunks from frame ``first`` on."""
        dataset_id = self.dataset.id
        frames = self.dataset.shape[0]
        return [dataset_id.get_chunk_info_by_coord((i, 0, 0)).byte_offset
                for i in range(first, frames)]

    def set_attrs(self, attrs: dict[str, Any]) -> None:
        for key, value in attrs.items():
            self.file.attrs[key] = _attr_value(value)

    def write(self, frame: np.ndarray) -> None:
        """Append one frame (in the file's dtype if it is not)."""
        index = self.frames_written
        if index == len(self.offsets):  # next block of chunks
            size = min(index + self.block, self.frames_planned)
            self.dataset.resize(size, axis=0)
            self.offsets += self._chunk_offsets(index)
        data = np.ascontiguousarray(frame, dtype=self.dtype).data.cast("B")
        self.chunks.write(data, self.offsets[index], index)
        self.frames_written = index + 1
        if time.perf_counter() - self._reported > self.PROGRESS_SECONDS:
            self.file.attrs["frames_written"] = self.frames_written
            self.file.flush()
            self._reported = time.perf_counter()

    def close(self, attrs: dict[str, Any]) -> None:
        """Cut the dataset to the frames written, set the final attributes (``attrs`` and
        ``frames_written``), and close the file."""
        try:
            self.chunks.close()
            self.dataset.resize(self.frames_written, axis=0)
            self.set_attrs({**attrs, "frames_written": self.frames_written})
        finally:
            self.file.close()


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
