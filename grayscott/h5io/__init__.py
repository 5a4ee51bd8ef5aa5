"""HDF5 output in the school's layout, written by a thread while the backend computes.

Layout (read by the school's C++/Rust viewers): one dataset ``matrix`` of shape
(frames, rows, cols), float32 (or the run's dtype), chunks (1, rows, cols), V only; frame i
holds V after (i + 1) * steps_per_frame steps. A run stopped early leaves a readable file
holding the frames it finished (attribute ``completed`` says whether it ran to the end).

Three parts, each where its name says:

- :mod:`~grayscott.h5io.runfile`: the file. :class:`FrameFile` writes that layout one frame per
  call, with no thread (as a plain writer would); :func:`read_frames` reads it back.
- :mod:`~grayscott.h5io.direct_io`: how a frame's bytes reach the disk (``os.pwrite`` at the
  chunk's address, ``O_DIRECT`` where it works, buffered otherwise; blocks given back on a
  full disk).
- :mod:`~grayscott.h5io.writer`: :class:`FrameWriter`, the background thread and its small
  queue that a simulation hands its frames to.
"""

from grayscott.h5io.runfile import DATASET, FrameFile, check_output_path, read_frames
from grayscott.h5io.writer import FrameWriter

__all__ = ["DATASET", "FrameFile", "FrameWriter", "check_output_path", "read_frames"]
