"""One figure per episode: what a researcher checks first when an episode looks wrong.

Frames with the projected skeletons and the main hand's palm path (are hands and cameras
consistent?), the 3D world trajectories of both wrists and of the camera (is the camera track
plausible?), the wrist speed with instruction spans (do segments start and end at slow points?),
finger closure and the tracked-frame masks.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # plots are written to files; never needs a display
import matplotlib.pyplot as plt
import numpy as np

from vitra_bench import hand as hk
from vitra_bench.episode import HANDS, Episode
from vitra_bench.geometry import invert_transform, project_points

HAND_COLOURS = {"left": "tab:blue", "right": "tab:orange"}


def plot_episode(episode: Episode, frames: np.ndarray | None, out: Path, thumbnails: int = 4) -> Path:
    """Save the episode figure to ``out`` (PNG); ``frames`` (T, H, W, 3) may be None (no thumbnails)."""
    columns = max(thumbnails, 3) if frames is not None else 3
    rows = 3 if frames is not None else 2
    fig = plt.figure(figsize=(4 * columns, 3.4 * rows), constrained_layout=True)
    grid = fig.add_gridspec(rows, columns)
    if frames is not None:
        picks = np.linspace(0, episode.num_frames - 1, thumbnails).round().astype(int)
        for column, t in enumerate(picks):
            _draw_frame(fig.add_subplot(grid[0, column]), episode, frames[t], t)
    top = 1 if frames is not None else 0
    _draw_trajectories(fig.add_subplot(grid[top, :2], projection="3d"), episode)
    _draw_masks(fig.add_subplot(grid[top, 2:]), episode)
    _draw_speed(fig.add_subplot(grid[top + 1, :2]), episode)
    _draw_closure(fig.add_subplot(grid[top + 1, 2:]), episode)
    fig.suptitle(f"{episode.key}  ({episode.num_frames} frames at {episode.fps:g} fps, main hand: {episode.main_hand})")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80)
    plt.close(fig)
    return out


def _draw_frame(ax: plt.Axes, episode: Episode, image: np.ndarray, t: int) -> None:
    ax.imshow(image)
    for side in HANDS:
        track = episode.hands[side]
        if not track.kept[t]:
            continue
        pixels = project_points(track.joints_cam[t], episode.intrinsics)
        for child, parent in enumerate(hk.KEYPOINT_PARENTS):
            if parent >= 0:
                ax.plot(*pixels[[parent, child]].T, color=HAND_COLOURS[side], linewidth=1)
    main = episode.hands[episode.main_hand]
    future = np.flatnonzero(main.kept[t:]) + t
    if len(future):
        # The main hand's palm path from this frame on, as the annotation overlay draws it.
        palm_world = hk.palm_point(main.joints_world[future])
        palm_cam = palm_world @ episode.extrinsics[t, :3, :3].T + episode.extrinsics[t, :3, 3]
        ax.plot(*project_points(palm_cam, episode.intrinsics).T, color="magenta", linewidth=1.5)
    ax.set_title(f"frame {t}", fontsize=9)
    ax.set_axis_off()


def _draw_trajectories(ax: plt.Axes, episode: Episode) -> None:
    for side in HANDS:
        track = episode.hands[side]
        if track.kept.any():
            path = np.where(track.kept[:, None], track.wrist_world, np.nan)
            ax.plot(*path.T, color=HAND_COLOURS[side], label=f"{side} wrist")
            ax.scatter(*track.wrist_world[np.argmax(track.kept)], color=HAND_COLOURS[side], marker="o")
    centres = invert_transform(episode.extrinsics)[:, :3, 3]
    ax.plot(*centres.T, color="black", linestyle="--", label="camera")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    ax.set_zlabel("z (m)")
    ax.set_title("world trajectories (world = first camera)", fontsize=9)
    ax.legend(fontsize=8)


def _shade_instructions(ax: plt.Axes, episode: Episode) -> None:
    for side in HANDS:
        for instruction in episode.instructions[side]:
            ax.axvspan(instruction.start, instruction.end - 1, color=HAND_COLOURS[side], alpha=0.08)


def _draw_speed(ax: plt.Axes, episode: Episode) -> None:
    for side in HANDS:
        track = episode.hands[side]
        valid = track.kept[1:] & track.kept[:-1]
        speed = np.linalg.norm(np.diff(track.wrist_world, axis=0), axis=1) * episode.fps * 100
        ax.plot(np.arange(1, episode.num_frames), np.where(valid, speed, np.nan), color=HAND_COLOURS[side], label=side)
    _shade_instructions(ax, episode)
    ax.set_xlabel("frame")
    ax.set_ylabel("wrist speed (cm/s)")
    ax.set_title("wrist speed; shaded: instruction spans", fontsize=9)
    ax.legend(fontsize=8)


def _draw_closure(ax: plt.Axes, episode: Episode) -> None:
    for side in HANDS:
        track = episode.hands[side]
        closure = np.degrees(np.linalg.norm(track.hand_pose, axis=-1).mean(axis=1))
        ax.plot(np.where(track.kept, closure, np.nan), color=HAND_COLOURS[side], label=side)
    ax.set_xlabel("frame")
    ax.set_ylabel("mean finger-joint angle (deg)")
    ax.set_title("finger closure", fontsize=9)
    ax.legend(fontsize=8)


def _draw_masks(ax: plt.Axes, episode: Episode) -> None:
    kept = np.stack([episode.hands[side].kept for side in HANDS]).astype(float)
    ax.imshow(kept, aspect="auto", cmap="Greys", vmin=0, vmax=1, interpolation="nearest")
    ax.set_yticks(range(len(HANDS)), [f"{side} kept" for side in HANDS])
    ax.set_xlabel("frame")
    lines = [f"{side} [{i.start}, {i.end}): {i.text}" for side in HANDS for i in episode.instructions[side]]
    ax.set_title("tracked frames (black)\n" + "\n".join(lines[:4]), fontsize=8)
