"""HumanSim rendering speed: rendered frames/s per core at 224x224 and 640x480, next to MuJoCo's raw
physics step rate on the same scene (the baseline, measured in the same run).

Software rendering (EGL through Mesa's llvmpipe) would spread over every core; ``LP_NUM_THREADS=1``
pins it to one so that the numbers are per core, as the data-scaling runs budget them.

    python benchmarks/humansim_render.py [--frames 60] [--preset wild]
"""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("LP_NUM_THREADS", "1")

import argparse
import time
from dataclasses import replace

import mujoco

from envs.humansim.generate import HumanSimConfig, pose_frame, setup_clip
from envs.humansim.scene import RENDER_CAMERA
from vitra_bench.benchmarking import machine_info, write_results


def physics_steps_per_second(model: mujoco.MjModel, steps: int) -> float:
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    start = time.perf_counter()
    for _ in range(steps):
        mujoco.mj_step(model, data)
    return steps / (time.perf_counter() - start)


def render_frames_per_second(config: HumanSimConfig, frames: int) -> tuple[float, float, mujoco.MjModel]:
    """Frames/s of pose + RGB render, of RGB + segmentation (what generation does), and the model."""
    setup = setup_clip(config, 0)
    data = mujoco.MjData(setup.model)
    count = min(frames, setup.choreography.num_frames)
    rates = []
    with mujoco.Renderer(setup.model, config.height, config.width) as renderer:
        for with_segmentation in (False, True):
            pose_frame(setup, data, 0)
            renderer.update_scene(data, camera=RENDER_CAMERA)
            renderer.render()  # warm-up: first render compiles shaders and uploads textures
            start = time.perf_counter()
            for t in range(count):
                pose_frame(setup, data, t)
                renderer.update_scene(data, camera=RENDER_CAMERA)
                renderer.render()
                if with_segmentation:
                    renderer.enable_segmentation_rendering()
                    renderer.render()
                    renderer.disable_segmentation_rendering()
            rates.append(count / (time.perf_counter() - start))
    return rates[0], rates[1], setup.model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60, help="frames rendered per size")
    parser.add_argument("--preset", default="wild", choices=("lab", "wild"))
    parser.add_argument("--steps", type=int, default=5000, help="physics steps for the baseline")
    args = parser.parse_args()

    rows = []
    for width, height in ((224, 224), (640, 480)):
        config = replace(HumanSimConfig(preset=args.preset), width=width, height=height)
        rgb, rgb_seg, model = render_frames_per_second(config, args.frames)
        physics = physics_steps_per_second(model, args.steps)
        rows.append(
            {
                "size": f"{width}x{height}",
                "render_fps": round(rgb, 1),
                "render+seg_fps": round(rgb_seg, 1),
                "physics_steps_per_s": round(physics),
                "physics/render": round(physics / rgb, 1),
            }
        )

    info = machine_info(
        LP_NUM_THREADS=os.environ["LP_NUM_THREADS"], mujoco=mujoco.__version__, MUJOCO_GL=os.environ["MUJOCO_GL"]
    )
    notes = (
        "`render+seg_fps` is what clip generation costs per frame (RGB, then segmentation for "
        "keypoint visibility); `physics/render` says how many physics steps one rendered frame costs."
    )
    title = f"HumanSim rendering vs raw physics ({args.preset} scene, one core)"
    print(write_results("humansim_render", title, info, rows, notes, info_in_csv=False))


if __name__ == "__main__":
    main()
