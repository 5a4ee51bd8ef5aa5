"""``grayscott render``: look at a run instead of reading it (a PNG and an animation)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from grayscott.errors import GrayScottError, UsageError
from grayscott.h5io import read_frames


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise GrayScottError("rendering needs matplotlib: pip install 'grayscott[render]'") from None
    return plt


def render(path: Path, *, frame: int = -1, png: Path | None = None, gif: Path | None = None,
           mp4: Path | None = None, max_frames: int = 100, fps: int = 15,
           cmap: str = "viridis") -> list[Path]:
    """Write a PNG of one frame and/or an animation of the run; returns the files written."""
    frames, attrs = read_frames(path)
    if frames.shape[0] == 0:
        raise UsageError(f"{path} holds no frames yet")
    if not -frames.shape[0] <= frame < frames.shape[0]:
        raise UsageError(f"frame {frame} does not exist: {path} holds {frames.shape[0]} frames")
    plt = _pyplot()
    written = []
    steps = int(attrs.get("steps_per_frame", 1))
    index = frame % frames.shape[0]
    backend = attrs.get("backend", "?")
    if png is not None:
        fig, ax = plt.subplots(figsize=(8, 8 * frames.shape[1] / frames.shape[2] + 0.6))
        image = ax.imshow(frames[index], cmap=cmap, vmin=0.0, vmax=max(float(frames.max()), 1e-6))
        ax.set_title(f"V after {(index + 1) * steps} steps ({backend}, frame {index + 1}/"
                     f"{frames.shape[0]})")
        ax.axis("off")
        fig.colorbar(image, ax=ax, shrink=0.7)
        fig.savefig(png, dpi=100, bbox_inches="tight")
        plt.close(fig)
        written.append(png)
    for target in (gif, mp4):
        if target is None:
            continue
        written.append(_animate(plt, frames, target, steps, max_frames, fps, cmap))
    return written


def _ffmpeg() -> str | None:
    """An ffmpeg program: the system's, else the one the imageio-ffmpeg wheel carries."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg
    except ImportError:
        return None
    return str(imageio_ffmpeg.get_ffmpeg_exe())


def _animate(plt: Any, frames: np.ndarray, target: Path, steps: int, max_frames: int, fps: int,
             cmap: str) -> Path:
    from matplotlib import animation

    picks = np.unique(np.linspace(0, frames.shape[0] - 1, min(max_frames, frames.shape[0]))
                      .astype(int))
    height = 6 * frames.shape[1] / frames.shape[2]
    fig, ax = plt.subplots(figsize=(6, height))
    fig.subplots_adjust(0, 0, 1, 1)
    ax.axis("off")
    vmax = max(float(frames.max()), 1e-6)
    image = ax.imshow(frames[picks[0]], cmap=cmap, vmin=0.0, vmax=vmax)
    label = ax.text(0.01, 0.99, "", transform=ax.transAxes, va="top", color="white")

    def update(i: int) -> tuple[Any, ...]:
        image.set_data(frames[picks[i]])
        label.set_text(f"step {(picks[i] + 1) * steps}")
        return image, label

    anim = animation.FuncAnimation(fig, update, frames=len(picks), blit=True)
    if target.suffix.lower() == ".mp4":
        ffmpeg = _ffmpeg()
        if ffmpeg is None:
            plt.close(fig)
            raise GrayScottError("MP4 needs ffmpeg: pip install 'grayscott[video]' (a wheel that "
                                 "carries it) or apt-get install ffmpeg; a GIF needs nothing more")
        plt.rcParams["animation.ffmpeg_path"] = ffmpeg
        writer: Any = animation.FFMpegWriter(fps=fps, codec="libx264",
                                             extra_args=["-pix_fmt", "yuv420p"])
    else:
        writer = animation.PillowWriter(fps=fps)
    anim.save(target, writer=writer, dpi=80)
    plt.close(fig)
    return target
