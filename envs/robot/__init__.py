"""XHAND1 + Realman robot environments and the robot-side helpers they share."""
