"""Real-robot runner: the same TaskSpec and policy on the Realman RM75 arm + XHAND1 hand, behind a safety layer.

Map (each module's docstring says why it is the way it is):

* ``interfaces``: ``Robot`` / ``Camera`` (LeRobot-style, context managers that always disconnect).
* ``robots/realman``: JSON-over-TCP driver speaking the vendor SDK's bytes (``protocol``, ``driver``, ``config``).
* ``robots/xhand``: XHAND1 driver over the vendor's ``xhand_controller`` SDK, imported lazily.
* ``cameras/realsense``: the head D455 via ``pyrealsense2``, imported lazily.
* ``kinematics``, ``calibration``, ``action_mapping``: VITRA actions <-> joint targets (DLS IK, camera->base).
* ``safety``: joint, speed and workspace limits, watchdog, halts; every clamp logged.
* ``runner``, ``recorder``, ``results``, ``replay``, ``teleop``, ``dry_run``, ``devices``, ``config``: the commands.
* ``twin``: Realman TCP server, fake XHAND SDK and camera over one MuJoCo simulation, with fault injection.

Imports ``vitra_bench`` and ``policies``; from ``envs`` only the pure-numpy ``vitra_bench.xhand_mapping``
(the joint table the policy's checkpoints were trained with) and nothing else.
"""
