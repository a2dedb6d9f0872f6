"""Digital twin of the real set-up: the Realman controller's TCP server, a fake ``xhand_controller``
SDK and a fake head camera, all backed by one MuJoCo simulation of ``assets/xhand1``, with fault
injection. Tests and rehearsals run the real drivers against it; nothing here is used on hardware.

The twin loads the MJCF directly with ``mujoco`` rather than through ``envs.robot`` so that it
depends on the asset files only (see ``sim.py`` for where the env could take over later).
"""
