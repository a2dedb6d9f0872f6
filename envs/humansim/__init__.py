"""HumanSim: procedural egocentric human-hand videos rendered in MuJoCo, with hidden ground truth."""
