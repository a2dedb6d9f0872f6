"""XHAND1 + Realman robot environments and the robot-side helpers they share.

Importing this package registers the gymnasium ids ``VitraBench/{PickPlace,FunctionalGrasp,Pour,Sweep}-v0``.
"""

from envs.robot import registration as registration
