"""vitra-bench: the shared spine (hand kinematics, action/state layout, corpus, tasks, configs, CLI)."""

__version__ = "0.1.0"
