"""Stage 8, annotation: one instruction (+ 5 paraphrases) per hand segment.

A VLM over an OpenAI-compatible endpoint writes it from 8 frames with the palm's future path drawn
on them (``vlm``, ``overlay``); without an endpoint the offline captioner builds it from the
trajectory (``offline``). Both return a ``Caption`` and never raise for a bad segment.
"""

from __future__ import annotations

from data_engine.annotate.base import Annotator, Caption, SceneObject, SegmentView
from data_engine.annotate.offline import OfflineAnnotator, OfflineConfig, humansim_objects
from data_engine.annotate.overlay import Overlay, OverlayConfig, overlay_frames, sample_indices, tile_frames
from data_engine.annotate.vlm import PROMPT, PROMPT_NO_OVERLAY, VLMAnnotator, VLMConfig, VLMWriter

__all__ = [
    "PROMPT",
    "PROMPT_NO_OVERLAY",
    "Annotator",
    "Caption",
    "OfflineAnnotator",
    "OfflineConfig",
    "Overlay",
    "OverlayConfig",
    "SceneObject",
    "SegmentView",
    "VLMAnnotator",
    "VLMConfig",
    "VLMWriter",
    "humansim_objects",
    "make_annotator",
    "overlay_frames",
    "sample_indices",
    "tile_frames",
]


def make_annotator(
    vlm: VLMConfig | None = None, overlay: OverlayConfig = OverlayConfig(), offline: OfflineConfig = OfflineConfig()
) -> Annotator:
    """The VLM annotator when an endpoint is configured (``vlm.base_url``), else the offline captioner."""
    if vlm is not None and vlm.base_url:
        return VLMAnnotator(vlm, overlay)
    return OfflineAnnotator(offline)
