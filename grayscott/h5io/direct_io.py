"""How a frame's bytes reach the disk: written by address, around the page cache where it can.

Why the frames bypass h5py: h5py holds Python's GIL while HDF5 writes, and a write waits for
the disk whenever the page cache is full of dirty pages, so a writer thread calling h5py
stalls the thread that computes (measured: a third of the time on a 1080 x 1920 run). HDF5
allocates each frame's chunk ahead (blocks of frames, allocated early, never filled), and
the writer thread puts the frame's bytes at that chunk's address with ``os.pwrite``, which
releases the GIL.

Where the file system allows it and a frame is a whole number of 4 kB pages (1080 x 1920
float32 is), frames go with ``O_DIRECT``: from an aligned staging buffer straight to the
device, without the page cache. On a 2-core machine the page cache's copies and write-back
took a third of the CPU that computing needed (measured, see benchmarks/NOTES.md).
``GRAYSCOTT_DIRECT_IO=0`` turns it off; the mode used is recorded in ``write_mode``.

A full disk (or a lab's disk quota, a file-size limit) refuses a write: the blocks of the
frame that could not be finished are given back (so HDF5 has room to close the file).
"""

from __future__ import annotations

import ctypes
import errno
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from grayscott.capacity import PAGE
from grayscott.errors import OutputError

#: The errors of a write that found no room: file system full, quota, file-size limit.
NO_ROOM = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def is_no_room(exc: BaseException) -> bool:
    """Whether ``exc`` says the disk, a quota or a file-size limit refused a write (h5py
    gives HDF5's message, with the errno in its text, not in ``errno``)."""
    if isinstance(exc, OSError) and exc.errno in NO_ROOM:
        return True
    text = str(exc)
    return any(os.strerror(code) in text or f"errno = {code}," in text for code in NO_ROOM)


def give_back(fd: int, offset: int, length: int) -> None:
    """Free the blocks of [offset, offset + length) of the file (Linux hole punching): the
    frame that did not fit, so HDF5's last metadata writes find room. Best effort."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        punch_hole, keep_size = 0x02, 0x01
        libc.fallocate(fd, punch_hole | keep_size, ctypes.c_long(offset), ctypes.c_long(length))
    except (OSError, AttributeError):
        pass


class ChunkWriter:
    """A second descriptor on the run file that writes whole frames at chunk addresses:
    ``O_DIRECT`` (``mode`` "direct") when it can work here, else through the page cache
    ("buffered")."""

    def __init__(self, path: Path, frame_bytes: int, offsets: Sequence[int]) -> None:
        """``offsets``: the chunks allocated so far (all must be page-aligned for O_DIRECT)."""
        self.path = path
        self.frame_bytes = frame_bytes
        wanted = os.environ.get("GRAYSCOTT_DIRECT_IO", "1") != "0"
        aligned = frame_bytes % PAGE == 0 and all(o % PAGE == 0 for o in offsets)
        self.fd, self.mode = self._open(wanted and aligned)
        #: O_DIRECT reads from page-aligned memory only: each frame is copied here first.
        self._staging = self._aligned_buffer() if self.mode == "direct" else None

    def _open(self, direct: bool) -> tuple[int, str]:
        if direct and hasattr(os, "O_DIRECT"):
            try:
                return os.open(self.path, os.O_WRONLY | os.O_DIRECT), "direct"
            except OSError:  # tmpfs and some network file systems refuse it
                pass
        return os.open(self.path, os.O_WRONLY), "buffered"

    def _aligned_buffer(self) -> np.ndarray:
        raw = np.empty(self.frame_bytes + PAGE, dtype=np.uint8)
        start = -raw.ctypes.data % PAGE
        return raw[start:start + self.frame_bytes]

    def write(self, frame: memoryview, offset: int, index: int) -> None:
        """Write frame ``index`` (its bytes) at ``offset``. On no room, give its blocks back
        and raise the OSError."""
        data = frame
        if self._staging is not None:
            self._staging[:] = np.frombuffer(data, dtype=np.uint8)
            data = self._staging.data.cast("B")
            if offset % PAGE:  # never seen: HDF5 aligns chunks
                raise OutputError(f"chunk {index} at offset {offset} is not page-aligned; "
                                  "set GRAYSCOTT_DIRECT_IO=0")
        start, fd = offset, self.fd
        try:
            while data:
                try:
                    written = os.pwrite(fd, data, offset)
                except OSError:
                    if fd != self.fd or self._staging is None:
                        raise
                    written = 0  # O_DIRECT says EINVAL where a limit cuts the write short
                data, offset = data[written:], offset + written
                if data and fd == self.fd and self._staging is not None:
                    # A failed or short O_DIRECT write: the rest goes buffered (unaligned
                    # now), which writes it or says what stopped it (no room, a limit).
                    fd = os.open(self.path, os.O_WRONLY)
        except OSError as exc:
            if exc.errno in NO_ROOM:
                give_back(self.fd, start, self.frame_bytes)
            raise
        finally:
            if fd != self.fd:
                os.close(fd)

    def close(self) -> None:
        os.close(self.fd)
