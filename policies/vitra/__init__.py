"""VITRA: a PaliGemma backbone with FoV and cognition tokens conditioning a causal DiT action expert.

Layout after LeRobot's policies: ``configuration`` (the dataclass), ``modeling`` (the policy, its
loss and sampler), and the parts it is built from (``tokenizer``, ``backbone``, ``dit``, ``diffusion``).
``VitraPolicy`` is imported on first use: the model pulls in transformers and diffusers (~8 s here),
which a command that only parses a ``VitraConfig`` (``--help``, config checks) should not pay for.
"""

from typing import Any

from policies.vitra.configuration import BackboneConfig, ExpertConfig, VitraConfig

__all__ = ["BackboneConfig", "ExpertConfig", "VitraConfig", "VitraPolicy"]


def __getattr__(name: str) -> Any:
    if name == "VitraPolicy":
        from policies.vitra.modeling import VitraPolicy

        return VitraPolicy
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
