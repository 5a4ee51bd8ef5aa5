"""The real ``grayscott`` command: bad input is one line and exit 2; the commands do their job."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import pytest

from grayscott import backends
from tests.conftest import run_cli

# These tests use the GPU where there is one (the unit suite hides it from the others).
pytestmark = pytest.mark.gpu


def assert_one_line_error(result, *fragments: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0]


@pytest.mark.parametrize("args, fragments", [
    (["run", "-b", "fortran"], ["unknown backend 'fortran'", "numba-parallel"]),
    (["run", "-r", "2", "-c", "100"], ["too small"]),
    (["run", "-n", "0"], ["--frames"]),
    (["run", "-s", "-3"], ["--steps"]),
    (["run", "-o", "/nonexistent-dir/x.h5"], ["does not exist"]),
    (["run", "--stencil", "7point"], ["unknown stencil"]),
    (["run", "-b", "numpy", "--stencil", "5point"], ["9-point"]),
    (["bench", "-b", "numpy,nope"], ["unknown backend 'nope'"]),
    (["bench", "--full", "-b", "nope"], ["unknown backend 'nope'"]),
    (["bench-full", "-n", "0"], ["--frames"]),
    (["bench-full", "--scratch", "/nonexistent-dir"], ["not a directory"]),
    (["render", "missing.h5"], ["does not exist"]),
])
def test_bad_input(tmp_path: Path, args: list[str], fragments: list[str]) -> None:
    assert_one_line_error(run_cli(*args, cwd=tmp_path), *fragments)


def test_bad_option_is_a_usage_error() -> None:
    result = run_cli("run", "--no-such-option")
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_gpu_backend_without_gpu(tmp_path: Path) -> None:
    missing = [n for n, r in backends.available().items() if r and backends.get(n).needs_gpu]
    if not missing:
        pytest.skip("every GPU backend can run on this machine")
    assert_one_line_error(run_cli("run", "-b", missing[0], cwd=tmp_path), "not available")


def test_run_then_render(tmp_path: Path) -> None:
    result = run_cli("run", "-b", "numpy", "-r", "40", "-c", "60", "-n", "6", "-s", "50",
                     "-o", "a.h5", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "6/6 frames" in result.stdout
    with h5py.File(tmp_path / "a.h5") as f:
        assert f["matrix"].shape == (6, 40, 60)
    again = run_cli("run", "-b", "numpy", "-r", "40", "-c", "60", "-n", "2", "-o", "a.h5",
                    cwd=tmp_path)
    assert_one_line_error(again, "exists", "--force")
    forced = run_cli("run", "-b", "numpy", "-r", "40", "-c", "60", "-n", "2", "-o", "a.h5",
                     "--force", cwd=tmp_path)
    assert forced.returncode == 0
    rendered = run_cli("render", "a.h5", cwd=tmp_path)
    assert rendered.returncode == 0, rendered.stderr
    import matplotlib.image

    image = matplotlib.image.imread(tmp_path / "a.png")
    assert image.ndim == 3 and image.shape[0] > 100 and image.std() > 0.01
    gif = (tmp_path / "a.gif").read_bytes()
    assert gif[:6] in (b"GIF87a", b"GIF89a") and len(gif) > 1000
    assert_one_line_error(run_cli("render", "a.h5", "--frame", "5", cwd=tmp_path), "frame 5")


def test_backends_lists_every_backend() -> None:
    result = run_cli("backends")
    assert result.returncode == 0
    for name in backends.names():
        assert name in result.stdout


def test_smoke_requires(tmp_path: Path) -> None:
    ok = run_cli("smoke", "--backends", "numpy,numpy-generic", "--require", "numpy")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "numpy-generic" in ok.stdout and "ok" in ok.stdout
    missing = [n for n, r in backends.available().items() if r]
    if missing:
        bad = run_cli("smoke", "--backends", "numpy", "--require", missing[0])
        assert bad.returncode == 1 and missing[0] in bad.stderr


def test_bench_writes_json_and_markdown(tmp_path: Path) -> None:
    result = run_cli("bench", "-b", "numpy,numpy-generic", "-r", "64", "-c", "96",
                     "--min-seconds", "0.05", "--output-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    (json_file,) = tmp_path.glob("bench-*.json")
    (md_file,) = tmp_path.glob("bench-*.md")
    report = json.loads(json_file.read_text())
    rows = {r["backend"]: r for r in report["rows"]}
    assert rows["numpy"]["status"] == "ok" and rows["numpy"]["ms_per_step"] > 0
    assert rows["numpy"]["speedup_vs_numpy"] == pytest.approx(1.0)
    assert 0 < rows["numpy-generic"]["ratio_to_bound"] < 1e6
    assert report["bandwidth"]["cpu"]["gb_per_s"] > 0.1
    assert report["machine"]["cpu"] and report["rows"][0]["versions"]["numpy"]
    assert "| numpy |" in md_file.read_text()


def test_bench_full_runs_the_three_timings(tmp_path: Path) -> None:
    """bench-full: the run with HDF5, computing alone and writing alone, all real; the scratch
    files are gone afterwards and the report says which floor bounds the run."""
    scratch, out = tmp_path / "scratch", tmp_path / "out"
    scratch.mkdir()
    result = run_cli("bench-full", "-b", "numba-blocked,numpy", "-r", "48", "-c", "64",
                     "-n", "12", "-s", "5", "--scratch", str(scratch), "--output-dir", str(out))
    assert result.returncode == 0, result.stderr
    assert list(scratch.iterdir()) == []
    (json_file,) = out.glob("full-*-48x64.json")
    report = json.loads(json_file.read_text())
    assert report["frames"] == 12 and report["bytes_written"] == 12 * 48 * 64 * 4
    rows = {r["backend"]: r for r in report["rows"]}
    assert set(rows) == {"numba-blocked", "numpy"}
    for row in rows.values():
        assert row["frames_written"] == 12
        assert min(row["total_s"], row["compute_s"], row["write_s"]) > 0
        assert row["overlap"] == pytest.approx(
            row["total_s"] / max(row["compute_s"], row["write_s"]))
    assert "| numba-blocked |" in (out / json_file.name.replace(".json", ".md")).read_text()


def test_torch_on_cuda_without_a_gpu(tmp_path: Path) -> None:
    from tests.conftest import use_backend

    use_backend("torch")
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    result = run_cli("run", "-b", "torch", "--device", "cuda", "-r", "8", "-c", "8", cwd=tmp_path)
    assert_one_line_error(result, "torch", "no GPU")


def test_render_mp4_through_the_ffmpeg_of_the_video_extra(tmp_path: Path) -> None:
    """An MP4 (the school shipped a video) with the ffmpeg the imageio-ffmpeg wheel carries:
    every frame of the run, in a container players read (H.264, yuv420p)."""
    import imageio_ffmpeg  # the video extra: make test installs it

    result = run_cli("run", "-b", "numpy", "-r", "40", "-c", "60", "-n", "5", "-s", "20",
                     "-o", "a.h5", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rendered = run_cli("render", "a.h5", "--no-animate", "--mp4", "a.mp4", cwd=tmp_path)
    assert rendered.returncode == 0, rendered.stderr
    mp4 = tmp_path / "a.mp4"
    assert mp4.read_bytes()[4:8] == b"ftyp"
    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(mp4))
    assert frames == 5
