"""Stage 8 (annotation): overlay geometry, the VLM client against a local fake endpoint, the offline captioner."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np
import pytest

from data_engine.annotate import (
    PROMPT,
    PROMPT_NO_OVERLAY,
    OfflineAnnotator,
    OverlayConfig,
    SceneObject,
    SegmentView,
    VLMAnnotator,
    VLMConfig,
    VLMWriter,
    humansim_objects,
    make_annotator,
    overlay_frames,
    sample_indices,
)
from data_engine.annotate.overlay import HAND_COLOURS
from data_engine.annotate.vlm import MalformedReply, parse_reply
from vitra_bench.geometry import make_transform, project_points, transform_points
from vitra_bench.hand import forward_kinematics, palm_point

WIDTH, HEIGHT, FOCAL = 320, 240, 200.0
K = np.array([[FOCAL, 0.0, WIDTH / 2], [0.0, FOCAL, HEIGHT / 2], [0.0, 0.0, 1.0]])


def hand_at(palms: np.ndarray, flexion: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Keypoints (T, 21, 3) of a hand whose palm point follows ``palms``, fingers flexed by ``flexion`` (rad)."""
    count = len(palms)
    theta = np.zeros((count, 15, 3))
    if flexion is not None:
        theta[:, :12, 2] = flexion[:, None]
    rotation = np.broadcast_to(np.eye(3), (count, 3, 3))
    keypoints = forward_kinematics(rotation, np.zeros((count, 3)), theta)
    return keypoints + (palms - palm_point(keypoints))[:, None], theta


def segment(palms: np.ndarray, flexion: np.ndarray | None = None, *, extrinsics=None, with_theta=True, objects=()):
    count = len(palms)
    keypoints, theta = hand_at(palms, flexion)
    return SegmentView(
        frames=np.zeros((count, HEIGHT, WIDTH, 3), dtype=np.uint8),
        extrinsics=np.broadcast_to(np.eye(4), (count, 4, 4)).copy() if extrinsics is None else extrinsics,
        intrinsics=K,
        keypoints=keypoints,
        kept=np.ones(count, dtype=bool),
        hand="right",
        theta=theta if with_theta else None,
        objects=list(objects),
    )


def line(start, end, count: int = 20) -> np.ndarray:
    return np.linspace(np.asarray(start, float), np.asarray(end, float), count)


# --- overlay -----------------------------------------------------------------------------------


def test_sample_indices_uniform_with_both_ends():
    assert sample_indices(15).tolist() == [0, 2, 4, 6, 8, 10, 12, 14]
    assert sample_indices(71).tolist() == [0, 10, 20, 30, 40, 50, 60, 70]
    assert len(sample_indices(3)) == 8 and sample_indices(3).max() == 2


def _distance_to_segment(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ab = b - a
    t = np.clip(((points - a) @ ab) / max(ab @ ab, 1e-12), 0.0, 1.0)
    return np.linalg.norm(points - (a + t[:, None] * ab), axis=1)


def test_overlay_draws_future_palm_path_in_each_frames_own_camera():
    count = 29
    palms = line([-0.15, 0.02, 0.6], [0.15, 0.02, 0.6], count)
    # The camera slides right and down over the segment, so each frame sees the path elsewhere.
    extrinsics = make_transform(np.broadcast_to(np.eye(3), (count, 3, 3)), -np.outer(np.arange(count), [0.003, 0.002, 0.0]))
    seg = segment(palms, extrinsics=extrinsics)
    thickness = 2
    overlay = overlay_frames(seg.frames, seg.extrinsics, K, seg.keypoints, seg.kept, "right", OverlayConfig(thickness=thickness, label=False))
    assert overlay.indices.tolist() == sample_indices(count).tolist()
    assert overlay.frames.shape == (8, HEIGHT, WIDTH, 3)
    reach = 2 * thickness + 2  # the current-position dot is the widest mark
    for image, index in zip(overlay.frames, overlay.indices):
        start, end = project_points(transform_points(extrinsics[index], palms[[index, -1]]), K)
        ys, xs = np.nonzero(image.any(axis=2))
        drawn = np.stack([xs, ys], axis=1).astype(float)
        assert len(drawn) > 0
        near_line = _distance_to_segment(drawn, start, end) <= reach + 1.0
        in_arrowhead = np.linalg.norm(drawn - end, axis=1) <= 7 * thickness + 2  # a 6-thickness head
        assert np.all(near_line | in_arrowhead)
        assert near_line.mean() > 0.8
        # The dot sits on the current palm position; the middle of the future path carries the colour.
        assert image[int(round(start[1])), int(round(start[0]))].any()
        if np.linalg.norm(end - start) > 40:
            mid = np.rint((start + end) / 2).astype(int)
            np.testing.assert_allclose(image[mid[1], mid[0]], HAND_COLOURS["right"], atol=40)
        # The part of the path already travelled is not drawn.
        if index > 4:
            past = project_points(transform_points(extrinsics[index], palms[:1]), K)[0]
            x, y = np.rint(past).astype(int)
            if 0 <= x < WIDTH and 0 <= y < HEIGHT and np.linalg.norm(past - start) > reach + 3:
                assert not image[y, x].any()


def test_overlay_skips_untracked_frames_and_draws_nothing_without_future():
    palms = line([-0.1, 0.0, 0.5], [0.1, 0.0, 0.5], 16)
    seg = segment(palms)
    seg.kept[8:] = False
    overlay = overlay_frames(seg.frames, seg.extrinsics, K, seg.keypoints, seg.kept, "right", OverlayConfig(label=False))
    assert overlay.frames[0].any()
    assert not overlay.frames[-1].any()  # frame 15: the hand is never tracked again


def test_no_overlay_flag_returns_untouched_frames():
    rng = np.random.default_rng(0)
    seg = segment(line([-0.1, 0.0, 0.5], [0.1, 0.0, 0.5], 24))
    seg.frames = rng.integers(0, 255, seg.frames.shape, dtype=np.uint8)
    original = seg.frames.copy()
    overlay = overlay_frames(seg.frames, seg.extrinsics, K, seg.keypoints, seg.kept, "left", OverlayConfig(draw=False))
    np.testing.assert_array_equal(overlay.frames, original[overlay.indices])
    drawn = overlay_frames(seg.frames, seg.extrinsics, K, seg.keypoints, seg.kept, "left")
    assert not np.array_equal(drawn.frames, overlay.frames)
    np.testing.assert_array_equal(seg.frames, original)  # the input is never drawn on


# --- a local fake OpenAI-compatible endpoint ---------------------------------------------------

GOOD = json.dumps(
    {
        "instruction": "Pick up the red cup from the table.",
        "paraphrases": [
            "Lift the red cup off the table.",
            "Grab the red cup and raise it.",
            "Take the red cup from the table.",
            "Pick the red cup up.",
            "Raise the red cup from the table.",
        ],
    }
)


class FakeEndpoint:
    """POST /v1/chat/completions answered from a script of steps; the last step repeats.

    A step is ``("reply", text)``, ``("sleep", seconds, text)``, ``("status", code)`` or
    ``("body", bytes)`` (a 200 whose body is not a completion).
    """

    def __init__(self) -> None:
        self.script: list[tuple] = [("reply", GOOD)]
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with fake.lock:
                    fake.requests.append({"path": self.path, "body": body})
                    step = fake.script[min(len(fake.requests), len(fake.script)) - 1]
                try:
                    self._answer(step, body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (the timeout test)

            def _answer(self, step: tuple, body: dict) -> None:
                kind = step[0]
                if kind == "sleep":
                    time.sleep(step[1])
                    step = ("reply", step[2])
                if kind == "status":
                    payload, code = json.dumps({"error": {"message": "scripted failure"}}).encode(), step[1]
                elif kind == "body":
                    payload, code = step[1], 200
                else:
                    message = {"role": "assistant", "content": step[1]}
                    completion = {
                        "id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": body["model"],
                        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    }  # fmt: skip
                    payload, code = json.dumps(completion).encode(), 200
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"


@pytest.fixture
def endpoint() -> Iterator[FakeEndpoint]:
    fake = FakeEndpoint()
    thread = threading.Thread(target=fake.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()
    thread.join(timeout=5)


def config(endpoint: FakeEndpoint, **overrides) -> VLMConfig:
    base = dict(base_url=endpoint.url, model="fake-vlm", timeout_s=5.0, retries=2, backoff_s=0.01, max_backoff_s=0.05)
    return VLMConfig(**{**base, **overrides})


FRAMES = np.random.default_rng(1).integers(0, 255, (8, 96, 128, 3), dtype=np.uint8)


def test_vlm_normal_reply_and_request_shape(endpoint):
    caption = VLMWriter(config(endpoint)).describe(FRAMES, "right")
    assert caption.ok and caption.source == "vlm" and not caption.na and caption.error is None
    assert caption.text == "Pick up the red cup from the table."
    assert len(caption.paraphrases) == 5
    [request] = endpoint.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["body"]["model"] == "fake-vlm"
    [message] = request["body"]["messages"]
    texts = [part["text"] for part in message["content"] if part["type"] == "text"]
    urls = [part["image_url"]["url"] for part in message["content"] if part["type"] == "image_url"]
    assert len(texts) == 1 and "right hand" in texts[0] and "{hand}" not in texts[0]
    assert len(urls) == 8
    for url in urls:
        assert url.startswith("data:image/jpeg;base64,")
        image = cv2.imdecode(np.frombuffer(base64.b64decode(url.split(",", 1)[1]), np.uint8), cv2.IMREAD_COLOR)
        assert image.shape == (96, 128, 3)


def test_vlm_na_reply_is_a_distinct_result(endpoint):
    endpoint.script = [("reply", '{"instruction": "N/A", "paraphrases": []}')]
    caption = VLMWriter(config(endpoint)).describe(FRAMES, "left")
    assert caption.na and caption.text is None and caption.error is None and not caption.ok
    assert parse_reply("N/A.").na  # a bare N/A is unambiguous without the JSON


@pytest.mark.parametrize(
    "bad",
    [
        ("reply", "Sure! First pick up the cup. Then put it down somewhere."),
        ("reply", '{"instruction": "Pick up the cup", "paraphrases": ['),
        ("reply", '{"instruction": "Pick up the cup.", "paraphrases": ["Lift the cup."]}'),
        ("reply", ""),
        ("body", b"<html>not json</html>"),
    ],
)
def test_vlm_malformed_reply_is_retried(endpoint, bad):
    endpoint.script = [bad, ("reply", "```json\n" + GOOD + "\n```")]
    caption = VLMWriter(config(endpoint)).describe(FRAMES, "right")
    assert caption.ok and caption.text == "Pick up the red cup from the table."
    assert len(endpoint.requests) == 2


def test_vlm_timeout_then_success(endpoint):
    endpoint.script = [("sleep", 2.0, GOOD), ("reply", GOOD)]
    began = time.monotonic()
    caption = VLMWriter(config(endpoint, timeout_s=0.4)).describe(FRAMES, "right")
    assert caption.ok
    assert len(endpoint.requests) == 2
    assert time.monotonic() - began < 1.8  # the client did not wait for the slow reply


def test_vlm_persistent_failure_gives_error_caption(endpoint):
    endpoint.script = [("status", 503)]
    caption = VLMWriter(config(endpoint, retries=2)).describe(FRAMES, "right")
    assert caption.error is not None and "gave up after 3 attempts" in caption.error
    assert caption.text is None and not caption.na and caption.source == "vlm"
    assert len(endpoint.requests) == 3


def test_vlm_client_error_is_not_retried(endpoint):
    endpoint.script = [("status", 401)]
    caption = VLMWriter(config(endpoint, retries=3)).describe(FRAMES, "right")
    assert caption.error is not None and "AuthenticationError" in caption.error
    assert len(endpoint.requests) == 1


def test_vlm_cache_hit_makes_no_request_and_corrupt_entry_is_ignored(endpoint, tmp_path):
    cfg = config(endpoint, cache_dir=tmp_path / "cache")
    first = VLMWriter(cfg).describe(FRAMES, "right")
    second = VLMWriter(cfg).describe(FRAMES, "right")
    assert first == second and len(endpoint.requests) == 1
    VLMWriter(cfg).describe(FRAMES, "left")  # another prompt: another entry
    assert len(endpoint.requests) == 2
    for path in (tmp_path / "cache").rglob("*.json"):
        path.write_text('{"key": "tru')
    VLMWriter(cfg).describe(FRAMES, "right")
    assert len(endpoint.requests) == 3
    VLMWriter(cfg).describe(FRAMES, "right")
    assert len(endpoint.requests) == 3  # rewritten entry is valid again


def test_failures_are_not_cached(endpoint, tmp_path):
    endpoint.script = [("status", 500), ("reply", GOOD)]
    cfg = config(endpoint, cache_dir=tmp_path / "cache", retries=0)
    assert VLMWriter(cfg).describe(FRAMES, "right").error
    assert VLMWriter(cfg).describe(FRAMES, "right").ok  # asked again, not served from the cache
    assert VLMWriter(cfg).describe(FRAMES, "right").ok
    assert len(endpoint.requests) == 2


def test_parse_reply_rejects_garbage():
    for bad in ["", "I cannot help with that.", '{"paraphrases": []}', '{"instruction": "Pick up the cup. Then drink.", "paraphrases": []}']:
        with pytest.raises(MalformedReply):
            parse_reply(bad)


def test_factory_and_vlm_annotator_end_to_end(endpoint):
    assert isinstance(make_annotator(None), OfflineAnnotator)
    assert isinstance(make_annotator(VLMConfig(base_url=None)), OfflineAnnotator)
    seg = segment(line([-0.1, 0.0, 0.5], [0.1, -0.05, 0.5], 20))
    annotator = make_annotator(config(endpoint))
    assert isinstance(annotator, VLMAnnotator)
    assert annotator.annotate(seg).ok
    ablation = VLMAnnotator(config(endpoint), OverlayConfig(draw=False))
    assert ablation.annotate(seg).ok
    prompts = [r["body"]["messages"][0]["content"][0]["text"] for r in endpoint.requests]
    assert "drawn" in prompts[0] and "drawn" not in prompts[1]
    assert PROMPT.startswith(PROMPT_NO_OVERLAY.split("\n")[0])
    images = [[p for p in r["body"]["messages"][0]["content"] if p["type"] == "image_url"] for r in endpoint.requests]
    assert [len(i) for i in images] == [8, 8] and images[0] != images[1]


# --- offline captioner -------------------------------------------------------------------------


def test_offline_directions():
    right = OfflineAnnotator().annotate(segment(line([-0.1, 0.0, 0.5], [0.1, 0.0, 0.5])))
    left = OfflineAnnotator().annotate(segment(line([0.1, 0.0, 0.5], [-0.1, 0.0, 0.5])))
    assert right.text == "Move your right hand to the right."
    assert left.text == "Move your right hand to the left."
    assert right.source == "offline" and len(right.paraphrases) == 5 and len(set(right.paraphrases)) == 5
    assert right.text not in right.paraphrases


def test_offline_grasp_and_lift_names_nearest_object():
    palms = line([0.0, 0.05, 0.5], [0.0, -0.05, 0.5])  # camera y is down: this rises 10 cm
    cup = SceneObject("red cup", np.array([[0.0, 0.06, 0.5]]), np.array([[0.0, -0.04, 0.5]]))
    bowl = SceneObject("blue bowl", np.array([[0.2, 0.06, 0.5]]), np.array([[0.2, 0.06, 0.5]]))
    caption = OfflineAnnotator().annotate(segment(palms, np.linspace(0.0, 0.8, 20), objects=[bowl, cup]))
    assert caption.text == "Pick up the red cup."
    assert all("red cup" in p for p in caption.paraphrases)
    # Grasp without lifting, the bowl now nearest.
    palms = line([0.1, 0.05, 0.5], [0.19, 0.05, 0.5])
    caption = OfflineAnnotator().annotate(segment(palms, np.linspace(0.0, 0.8, 20), objects=[cup, bowl]))
    assert caption.text == "Grasp the blue bowl."


def test_offline_release_reach_static_and_keypoint_fallback():
    cup = SceneObject("green mug", np.array([[0.0, 0.05, 0.5]]), np.array([[0.0, 0.05, 0.5]]))
    lowering = line([0.0, -0.05, 0.5], [0.0, 0.05, 0.5])
    assert OfflineAnnotator().annotate(segment(lowering, np.linspace(0.8, 0.0, 20), objects=[cup])).text == "Put down the green mug."
    reaching = line([-0.2, 0.05, 0.4], [-0.02, 0.05, 0.5])
    assert OfflineAnnotator().annotate(segment(reaching, objects=[cup])).text == "Reach for the green mug."
    still = OfflineAnnotator().annotate(segment(line([0.0, 0.0, 0.5], [0.01, 0.0, 0.5])))
    assert still.na and still.text is None and still.source == "offline"
    # Without theta the closure comes from the fingertips.
    closing = segment(line([0.0, 0.0, 0.5], [0.02, 0.0, 0.5]), np.linspace(0.0, 1.0, 20), with_theta=False)
    assert OfflineAnnotator().annotate(closing).text == "Grasp the object."


def test_offline_untracked_segment_is_an_error_result():
    seg = segment(line([0.0, 0.0, 0.5], [0.1, 0.0, 0.5]))
    seg.kept[1:] = False
    caption = OfflineAnnotator().annotate(seg)
    assert caption.error and not caption.ok


def test_humansim_objects_labels_and_world_frame():
    from envs.humansim.truth import ClipTruth

    count = 5
    extrinsics = make_transform(np.broadcast_to(np.eye(3), (count, 3, 3)), np.tile([0.0, 0.0, 1.0], (count, 1)))
    poses = np.zeros((count, 1, 7))
    poses[:, 0, 3] = 1.0
    poses[:, 0, :3] = np.linspace([0.0, 0.0, 0.0], [0.4, 0.0, 0.0], count)
    truth = ClipTruth(
        clip_id="clip_000000", fps=30.0, width=WIDTH, height=HEIGHT, intrinsics=K, extrinsics=extrinsics, hands={},
        prop_names=["board"], prop_poses=poses, prop_points=[np.zeros((1, 3))], segments=[], narrations=[],
        meta={"props": {"board": {"category": "cutting_board", "colour": "red"}}},
    )  # fmt: skip
    [board] = humansim_objects(truth, 1, 4)
    assert board.label == "red cutting board"
    np.testing.assert_allclose(board.start, [[0.1, 0.0, 1.0]])  # in the first camera's frame
    np.testing.assert_allclose(board.end, [[0.4, 0.0, 1.0]])
