"""MuJoCo environments: HumanSim (procedural human-hand videos) and the XHAND1 + Realman robot tasks."""
