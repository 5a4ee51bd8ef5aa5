"""HDF5 output: the school's layout, attributes, and a readable file after an interrupt or a
full disk."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest

from grayscott import backends, model
from grayscott.errors import OutputError
from grayscott.simulation import run_to_file


def test_layout_and_frames(tmp_path: Path) -> None:
    params = model.Params(rows=30, cols=50)
    out = tmp_path / "run.h5"
    stats = run_to_file("numpy", params, 4, 8, out)
    assert stats.completed and stats.frames_done == 4
    ref = backends.create("numpy", params)
    ref.load(*model.initial_state(params))
    with h5py.File(out, "r") as f:
        ds = f["matrix"]
        assert ds.shape == (4, 30, 50) and ds.dtype == np.float32 and ds.chunks == (1, 30, 50)
        for i in range(4):  # frame i holds V after (i + 1) * 8 steps
            ref.advance(8)
            assert np.array_equal(ds[i], ref.fetch_v())
        attrs = dict(f.attrs)
    assert attrs["backend"] == "numpy" and attrs["steps_per_frame"] == 8
    assert attrs["completed"] and attrs["frames_written"] == 4
    assert (attrs["rows"], attrs["cols"], attrs["feed"], attrs["kill"]) == (30, 50, 0.014, 0.054)
    assert "numpy" in json.loads(attrs["versions"])
    assert attrs["time_total_s"] > 0 and attrs["device"] == "cpu"


def test_existing_file_needs_force(tmp_path: Path) -> None:
    params = model.Params(rows=8, cols=8)
    out = tmp_path / "run.h5"
    run_to_file("numpy", params, 1, 1, out)
    with pytest.raises(OutputError, match="--force"):
        run_to_file("numpy", params, 1, 1, out)
    run_to_file("numpy", params, 2, 1, out, force=True)
    with h5py.File(out, "r") as f:
        assert f["matrix"].shape[0] == 2


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_run_leaves_a_readable_file(tmp_path: Path, sig: signal.Signals) -> None:
    out = tmp_path / "stopped.h5"
    proc = subprocess.Popen(
        [sys.executable, "-m", "grayscott", "run", "-b", "numpy", "-r", "200", "-c", "300",
         # interrupted after a few frames: its 22 GiB estimate must not refuse it where the disk
         # has less free (the size check has tests of its own, test_capacity.py)
         "-n", "100000", "-s", "20", "--force-size", "-o", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    two_frames = 2 * 200 * 300 * 4
    deadline = time.monotonic() + 120
    # frames are being written: blocks really on disk (chunks are allocated ahead, sparse)
    while not (out.exists() and out.stat().st_blocks * 512 > two_frames):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no frame written in 120 s"
        time.sleep(0.2)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    with h5py.File(out, "r") as f:
        done = int(f.attrs["frames_written"])
        assert 0 < done < 100000
        assert f["matrix"].shape == (done, 200, 300)
        assert not f.attrs["completed"] and f.attrs["interrupted"]
        last = f["matrix"][done - 1]
    assert np.isfinite(last).all() and last.max() > 0.1


def test_frames_past_the_first_block_and_the_cut_at_close(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks are allocated a block of frames at a time and written by address: frames in
    later blocks land in the right place, and an early close leaves exactly the frames
    written (here 7 frames in blocks of 3, closed after 7 of 10 planned)."""
    from grayscott.h5io import FrameFile, FrameWriter

    params = model.Params(rows=6, cols=9)
    monkeypatch.setattr(FrameFile, "BLOCK_BYTES", 3 * 6 * 9 * 4)
    writer = FrameWriter(tmp_path / "f.h5", params, 10, {})
    for i in range(7):
        writer.put(np.full(params.shape, i, dtype=np.float32))
    writer.close({"completed": False})
    with h5py.File(tmp_path / "f.h5", "r") as f:
        frames = f["matrix"][...]
        assert f.attrs["frames_written"] == 7 and f["matrix"].maxshape == (10, 6, 9)
    assert frames.shape == (7, 6, 9)
    assert [float(frame.min()) for frame in frames] == [float(frame.max()) for frame in frames] \
        == list(range(7))


def test_a_frame_of_the_wrong_shape_is_refused(tmp_path: Path) -> None:
    from grayscott.h5io import FrameWriter

    writer = FrameWriter(tmp_path / "f.h5", model.Params(rows=6, cols=9), 2, {})
    with pytest.raises(OutputError, match="shape"):
        writer.put(np.zeros((9, 6), dtype=np.float32))
    writer.close({"completed": False})


def _direct_io_works(directory: Path) -> bool:
    """Whether this file system takes O_DIRECT (tmpfs does not), probed independently."""
    probe = directory / "probe"
    probe.write_bytes(b"")
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_DIRECT))
        return True
    except OSError:
        return False
    finally:
        probe.unlink()


@pytest.mark.parametrize("direct", ["1", "0"], ids=["direct-io-allowed", "direct-io-off"])
def test_page_sized_frames_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      direct: str) -> None:
    """Frames of whole 4 kB pages (32 x 32 float32) go with O_DIRECT where the file system
    takes it, else buffered; either way every frame reads back exactly, after the first
    block of chunks too."""
    from grayscott.h5io import FrameFile, FrameWriter

    monkeypatch.setenv("GRAYSCOTT_DIRECT_IO", direct)
    monkeypatch.setattr(FrameFile, "BLOCK_BYTES", 4 * 4096)
    params = model.Params(rows=32, cols=32)
    frames = [np.random.default_rng(i).random(params.shape, dtype=np.float32) for i in range(9)]
    writer = FrameWriter(tmp_path / "f.h5", params, 9, {})
    for frame in frames:
        writer.put(frame)
    writer.close({"completed": True})
    expected = "direct" if direct == "1" and _direct_io_works(tmp_path) else "buffered"
    with h5py.File(tmp_path / "f.h5", "r") as f:
        assert f.attrs["write_mode"] == expected
        assert np.array_equal(f["matrix"][...], np.stack(frames))


def _file_size_limit(limit: int) -> Callable[[], None]:
    """For the child: writes past ``limit`` bytes fail with EFBIG (not SIGXFSZ's kill), the
    unprivileged stand-in for a full disk or a lab's quota (the hub's test fills a real one)."""
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


@pytest.mark.parametrize("direct", ["1", "0"], ids=["O_DIRECT", "buffered"])
def test_a_full_disk_stops_the_run_with_one_line_and_a_readable_file(
        tmp_path: Path, direct: str) -> None:
    out = tmp_path / "full.h5"
    frame = 64 * 128 * 4
    # Blocks of 4 frames (not 256 MB) so the file's metadata stays below the limit
    code = (f"from grayscott import h5io, cli; h5io.FrameFile.BLOCK_BYTES = {4 * frame}; "
            "cli.main()")
    env = {**os.environ, "GRAYSCOTT_DIRECT_IO": direct, "GSLAB_DISK_LIMIT": "2G",
           "GSLAB_WORK_DIR": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-c", code, "run", "-b", "numpy", "-r", "64", "-c", "128", "-n", "200",
         "-s", "1", "-o", str(out)], env=env, capture_output=True, text=True, timeout=120,
        preexec_fn=_file_size_limit(40 * frame), check=False)
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    assert errors[0].startswith(f"error: no space left in {tmp_path} (the lab's disk quota: "
                                f"2G): {out} holds the "), errors[0]
    assert errors[0].endswith(" frames finished (readable); delete old runs (rm *.h5) or run "
                              "fewer frames (-n) or a smaller grid, then run again"), errors[0]
    assert "Traceback" not in proc.stderr
    with h5py.File(out, "r") as f:
        done = int(f.attrs["frames_written"])
        assert 0 < done < 40 and f"the {done} frames" in errors[0]
        assert f["matrix"].shape == (done, 64, 128) and not f.attrs["completed"]
        last = f["matrix"][done - 1]
    assert np.isfinite(last).all() and last.max() > 0.1


def test_no_room_even_for_the_file_removes_it_and_says_so(tmp_path: Path) -> None:
    out = tmp_path / "none.h5"
    proc = subprocess.run(
        [sys.executable, "-m", "grayscott", "run", "-b", "numpy", "-r", "64", "-c", "128",
         "-n", "50", "-s", "1", "-o", str(out)], capture_output=True, text=True, timeout=120,
        preexec_fn=_file_size_limit(1024), check=False)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(f"error: no space left for {out} ")
    assert "nothing written" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()
