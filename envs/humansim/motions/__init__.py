"""HumanSim's motion programs: hands that reach, grasp, carry, pour, wipe... with their ground truth.

``make_choreography`` writes a whole clip (both hands, every prop, segments, narrations) for the
props on a table; ``reach_from_distance`` a controlled grasp clip for evaluation. The programs
themselves (``programs``) work on a ``Stage`` for clips scripted by hand.
"""

from .programs import Destination, GraspPlan, Infeasible, grasp_target, plan_grasp
from .scripts import make_choreography, reach_from_distance
from .timeline import HandTrack, Stage

__all__ = [
    "Destination",
    "GraspPlan",
    "HandTrack",
    "Infeasible",
    "Stage",
    "grasp_target",
    "make_choreography",
    "plan_grasp",
    "reach_from_distance",
]
