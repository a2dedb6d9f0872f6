"""What a corpus looks like on disk: LeRobot v3.0 paths, ``meta/info.json`` and the per-frame features.

Everything here is a pure description (no I/O) shared by the writer, the reader and the validator,
so the three cannot disagree about a path template, a column name or a dtype. Vectors are 1-D
features (LeRobot tools read them as plain vectors); their ``names`` document the ordering.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from vitra_bench.episode import HANDS, NUM_BETAS, NUM_FINGER_JOINTS, NUM_KEYPOINTS

CODEBASE_VERSION = "v3.0"
CHUNKS_SIZE = 1000
DATA_FILES_SIZE_IN_MB = 100
VIDEO_FILES_SIZE_IN_MB = 200
HUMAN_ROBOT_TYPE = "mano_hands"

INFO_PATH = "meta/info.json"
STATS_PATH = "meta/stats.json"
TASKS_PATH = "meta/tasks.parquet"
DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
VIDEO_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
EPISODES_PATH = "meta/episodes/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
EPISODES_GLOB = "meta/episodes/chunk-*/file-*.parquet"
STAGING_DIR = "staging"

REQUIRED_INFO_KEYS = (
    "codebase_version",
    "robot_type",
    "fps",
    "total_episodes",
    "total_frames",
    "total_tasks",
    "chunks_size",
    "data_files_size_in_mb",
    "video_files_size_in_mb",
    "data_path",
    "video_path",
    "splits",
    "features",
)

IMAGE_PREFIX = "observation.images."
INDEX_FEATURES = ("timestamp", "frame_index", "episode_index", "index", "task_index")
# Assigned when an episode is committed to a shard, not when it is staged.
COMMIT_FEATURES = ("episode_index", "index", "task_index")

# Orders of the vectors' components, for the features' "names".
XYZ = ("x", "y", "z")
MANO_FINGER_JOINTS = tuple(
    f"{finger}{k}" for finger in ("index", "middle", "pinky", "ring", "thumb") for k in (1, 2, 3)
)
OPENPOSE_KEYPOINTS = ("wrist",) + tuple(
    f"{finger}_{k}" for finger in ("thumb", "index", "middle", "ring", "pinky") for k in (1, 2, 3, 4)
)
assert len(MANO_FINGER_JOINTS) == NUM_FINGER_JOINTS and len(OPENPOSE_KEYPOINTS) == NUM_KEYPOINTS

HAND_FIELDS = ("wrist_orient_cam", "wrist_orient_world", "hand_pose", "wrist_world", "joints_cam", "joints_world")


@dataclass(frozen=True)
class Feature:
    """One LeRobot feature: ``dtype`` is a numpy dtype name or ``"video"``; ``shape`` per frame."""

    dtype: str
    shape: tuple[int, ...]
    names: list[str] | None = None
    info: dict[str, Any] | None = None

    @property
    def size(self) -> int:
        """Number of values per frame of a vector feature."""
        return self.shape[0]

    @property
    def is_scalar(self) -> bool:
        """LeRobot stores shape-[1] features as plain columns, longer ones as fixed-size lists."""
        return self.shape == (1,)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"dtype": self.dtype, "shape": list(self.shape), "names": self.names}
        if self.info is not None:
            out["info"] = self.info
        return out


def hand_feature(hand: str, field: str) -> str:
    return f"hand.{hand}.{field}"


def video_key(camera: str) -> str:
    return IMAGE_PREFIX + camera


def camera_of(key: str) -> str:
    return key[len(IMAGE_PREFIX) :]


def _xyz(prefixes: tuple[str, ...] | list[str]) -> list[str]:
    return [f"{p}.{a}" for p in prefixes for a in XYZ]


def _hand_action_names() -> list[str]:
    return ["dt.x", "dt.y", "dt.z", "dR.x", "dR.y", "dR.z", *_xyz(MANO_FINGER_JOINTS)]


def _hand_state_names() -> list[str]:
    return [
        "t.x",
        "t.y",
        "t.z",
        "R.x",
        "R.y",
        "R.z",
        *_xyz(MANO_FINGER_JOINTS),
        *(f"beta.{i}" for i in range(NUM_BETAS)),
    ]


def _bimanual(names: list[str]) -> list[str]:
    return [f"{hand}.{name}" for hand in HANDS for name in names]


def frame_features() -> dict[str, Feature]:
    """The per-frame features stored in the data parquet, in column order (videos excluded)."""
    f32, i64 = "float32", "int64"
    state_names, action_names = _bimanual(_hand_state_names()), _bimanual(_hand_action_names())
    features = {
        "timestamp": Feature(f32, (1,)),
        "frame_index": Feature(i64, (1,)),
        "episode_index": Feature(i64, (1,)),
        "index": Feature(i64, (1,)),
        "task_index": Feature(i64, (1,)),
        "observation.state": Feature(f32, (len(state_names),), state_names),
        "observation.state_mask": Feature("bool", (len(state_names),), state_names),
        "action": Feature(f32, (len(action_names),), action_names),
        "action_mask": Feature("bool", (len(action_names),), action_names),
        "camera.extrinsics": Feature(f32, (16,), [f"m{i}{j}" for i in range(4) for j in range(4)]),
        "source.frame_index": Feature(i64, (1,)),
    }
    for hand in HANDS:
        features[hand_feature(hand, "kept")] = Feature("bool", (1,))
        features[hand_feature(hand, "wrist_orient_cam")] = Feature(f32, (3,), list(XYZ))
        features[hand_feature(hand, "wrist_orient_world")] = Feature(f32, (3,), list(XYZ))
        features[hand_feature(hand, "hand_pose")] = Feature(f32, (3 * NUM_FINGER_JOINTS,), _xyz(MANO_FINGER_JOINTS))
        features[hand_feature(hand, "wrist_world")] = Feature(f32, (3,), list(XYZ))
        features[hand_feature(hand, "joints_cam")] = Feature(f32, (3 * NUM_KEYPOINTS,), _xyz(OPENPOSE_KEYPOINTS))
        features[hand_feature(hand, "joints_world")] = Feature(f32, (3 * NUM_KEYPOINTS,), _xyz(OPENPOSE_KEYPOINTS))
    return features


# Features whose statistics cover only the entries their mask marks valid.
MASKED_FEATURES = {"observation.state": "observation.state_mask", "action": "action_mask"}


def video_feature(width: int, height: int, fps: float, codec: str, pix_fmt: str) -> Feature:
    """A camera stream as LeRobot declares it (``info`` as ``get_video_info`` reports it)."""
    return Feature(
        "video",
        (height, width, 3),
        ["height", "width", "channels"],
        {
            "video.height": height,
            "video.width": width,
            "video.codec": codec,
            "video.pix_fmt": pix_fmt,
            "video.is_depth_map": False,
            "video.fps": json_fps(fps),
            "video.channels": 3,
            "has_audio": False,
        },
    )


def json_fps(fps: float) -> int | float:
    """LeRobot writes an integer fps; keep a fractional one (29.97) exact rather than rounding it."""
    return int(fps) if float(fps).is_integer() else float(fps)


def build_features(cameras: Mapping[str, tuple[int, int]], fps: float, codec: str, pix_fmt: str) -> dict[str, Feature]:
    """All features of a corpus: its cameras (``name -> (width, height)``) then the frame features."""
    features = {video_key(cam): video_feature(w, h, fps, codec, pix_fmt) for cam, (w, h) in cameras.items()}
    features.update(frame_features())
    return features


def build_info(
    *,
    fps: float,
    robot_type: str,
    features: Mapping[str, Feature],
    total_episodes: int,
    total_frames: int,
    total_tasks: int,
    data_files_size_in_mb: float = DATA_FILES_SIZE_IN_MB,
    video_files_size_in_mb: float = VIDEO_FILES_SIZE_IN_MB,
) -> dict[str, Any]:
    return {
        "codebase_version": CODEBASE_VERSION,
        "robot_type": robot_type,
        "total_episodes": total_episodes,
        "total_frames": total_frames,
        "total_tasks": total_tasks,
        "chunks_size": CHUNKS_SIZE,
        "data_files_size_in_mb": data_files_size_in_mb,
        "video_files_size_in_mb": video_files_size_in_mb,
        "fps": json_fps(fps),
        "splits": {"train": f"0:{total_episodes}"},
        "data_path": DATA_PATH,
        "video_path": VIDEO_PATH,
        "features": {key: feature.to_json() for key, feature in features.items()},
    }


def features_from_info(info: Mapping[str, Any]) -> dict[str, Feature]:
    return {
        key: Feature(ft["dtype"], tuple(ft["shape"]), ft.get("names"), ft.get("info"))
        for key, ft in info["features"].items()
    }


def cameras_from_info(info: Mapping[str, Any]) -> dict[str, tuple[int, int]]:
    """``camera -> (width, height)`` of the corpus's video features, in declaration order."""
    return {
        camera_of(key): (int(ft["shape"][1]), int(ft["shape"][0]))
        for key, ft in info["features"].items()
        if ft.get("dtype") == "video"
    }


def shard_location(shard: int) -> tuple[int, int]:
    """``(chunk_index, file_index)`` of the ``shard``-th file, ``chunks_size`` files per chunk folder."""
    return divmod(shard, CHUNKS_SIZE)


def shard_number(chunk_index: int, file_index: int) -> int:
    return chunk_index * CHUNKS_SIZE + file_index


def data_path(chunk_index: int, file_index: int) -> str:
    return DATA_PATH.format(chunk_index=chunk_index, file_index=file_index)


def video_path(key: str, chunk_index: int, file_index: int) -> str:
    return VIDEO_PATH.format(video_key=key, chunk_index=chunk_index, file_index=file_index)


def episodes_path(chunk_index: int, file_index: int) -> str:
    return EPISODES_PATH.format(chunk_index=chunk_index, file_index=file_index)


_ARROW_TYPES = {"float32": pa.float32(), "float64": pa.float64(), "int64": pa.int64(), "bool": pa.bool_()}


def arrow_type(feature: Feature) -> pa.DataType:
    """Column type in a data parquet: a plain value for shape [1], a fixed-size list otherwise."""
    value = _ARROW_TYPES[feature.dtype]
    return value if feature.is_scalar else pa.list_(value, feature.size)


def data_schema(features: Mapping[str, Feature]) -> pa.Schema:
    return pa.schema([(key, arrow_type(ft)) for key, ft in features.items() if ft.dtype != "video"])
