"""Shared pytest configuration.

MuJoCo picks its OpenGL backend when it is first imported, so the offscreen software backend is
chosen here, before any test module imports mujoco: renderer tests then run on a machine with no
display instead of failing or skipping. Everything a test writes goes under pytest's tmp_path.
"""

import os

os.environ.setdefault("MUJOCO_GL", "egl")
