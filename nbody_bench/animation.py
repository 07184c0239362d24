"""The lecture's animation of the N-body run: inline in a notebook, or an animated GIF."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np


def animate(frames, *, title="", tframe=None, interval=50):
    """The lecture's animation of frames (frames, n, 3): x-y scatter plots, as a
    matplotlib FuncAnimation (its figure is `.fig`; close it when done). In a notebook,
    `HTML(animate(frames).to_jshtml())` shows it inline with no video encoder.

    The axes are fixed over the whole run (the largest |x| or |y| reached, plus a margin)
    so every body stays in view.
    """
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation

    frames = np.asarray(frames)
    if frames.ndim != 3 or frames.shape[2] != 3 or len(frames) == 0:
        raise ValueError(f"frames must have shape (frames, n, 3), got {frames.shape}")
    reach = 1.1 * float(np.abs(frames[:, :, :2]).max())

    fig, ax = plt.subplots(figsize=(5, 5), dpi=80)
    points = ax.scatter(frames[0, :, 0], frames[0, :, 1], color="green", marker="o")
    ax.set_xlim(-reach, reach)
    ax.set_ylim(-reach, reach)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_aspect("equal")
    label = ax.set_title(title)

    def draw(k):
        points.set_offsets(frames[k, :, :2])
        if tframe is not None:
            label.set_text(f"{title}   t = {(k + 1) * tframe:.2f}")
        return points, label

    animation = FuncAnimation(
        fig, draw, frames=len(frames), interval=interval, blit=False, repeat=False
    )
    animation.fig = fig
    return animation


def write_gif(frames, path, *, fps=20, title="", tframe=None):
    """Animate frames (frames, n, 3) (see `animate`) into the GIF at `path`, written to a
    temporary file beside it and renamed over it at the end."""
    import matplotlib.pyplot as plt
    from matplotlib.animation import PillowWriter

    path = Path(path)
    if path.suffix.lower() != ".gif":
        raise ValueError(f"{path}: the animation is written as a GIF; give a .gif name")
    animation = animate(frames, title=title, tframe=tframe)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(suffix=".gif", prefix=f".{path.stem}-", dir=path.parent)
    os.close(handle)
    try:
        animation.save(temporary, writer=PillowWriter(fps=fps))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    finally:
        plt.close(animation.fig)
    return path
