"""Log an episode to Rerun (video, 3D hands, camera), as LeRobot's dataset viewer does.

rerun-sdk is an optional dependency (``pip install vitra-bench[rerun]``); it is imported here only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vitra_bench import hand as hk
from vitra_bench.episode import HANDS, Episode
from vitra_bench.geometry import invert_transform

HAND_RGB = {"left": (31, 119, 180), "right": (255, 127, 14)}
BONES = [(parent, child) for child, parent in enumerate(hk.KEYPOINT_PARENTS) if parent >= 0]


def log_episode(episode: Episode, frames: np.ndarray | None, save: Path | None = None, spawn: bool = False) -> None:
    """Send the episode to a Rerun viewer (``spawn``) and/or a ``.rrd`` file (``save``)."""
    try:
        import rerun as rr
    except ImportError as error:
        raise ImportError("--rerun needs rerun-sdk: pip install 'vitra-bench[rerun]'") from error

    rr.init(f"vitra-bench/{episode.key}", spawn=spawn)
    if save is not None:
        Path(save).parent.mkdir(parents=True, exist_ok=True)
        rr.save(save)
    rr.log("world", rr.ViewCoordinates.RDF, static=True)  # the world is the first OpenCV camera frame
    width, height = episode.image_size
    rr.log("world/camera/image", rr.Pinhole(image_from_camera=episode.intrinsics, width=width, height=height), static=True)
    camera_to_world = invert_transform(episode.extrinsics)
    prompt = None
    for t in range(episode.num_frames):
        rr.set_time("frame", sequence=t)
        rr.log("world/camera", rr.Transform3D(translation=camera_to_world[t, :3, 3], mat3x3=camera_to_world[t, :3, :3]))
        if frames is not None:
            rr.log("world/camera/image", rr.Image(frames[t]).compress(jpeg_quality=90))
        for side in HANDS:
            track = episode.hands[side]
            if not track.kept[t]:
                rr.log(f"world/hands/{side}", rr.Clear(recursive=True))
                continue
            joints = track.joints_world[t]
            rr.log(f"world/hands/{side}/keypoints", rr.Points3D(joints, colors=HAND_RGB[side], radii=0.004))
            rr.log(f"world/hands/{side}/bones", rr.LineStrips3D([joints[list(bone)] for bone in BONES], colors=HAND_RGB[side]))
        if episode.instruction_at(t) != prompt:
            prompt = episode.instruction_at(t)
            rr.log("instruction", rr.TextLog(prompt))
    if save is not None:
        rr.disconnect()
