"""Instructions from a vision-language model behind any OpenAI-compatible endpoint.

One request per segment: the prompt plus the 8 frames as base64 JPEG data URLs in a single user
message; the model answers with JSON holding the instruction *and* its 5 paraphrases. One request
instead of two halves cost and latency, and the paraphrases see the same frames, so they cannot
drift to another object. A reply that is not that JSON, or whose instruction is not one short
imperative sentence, counts as a failed attempt (retried); timeouts, connection errors, 429 and
5xx are retried with exponential backoff; anything still failing becomes ``Caption.error``.
Valid replies are cached by content hash (``cache.py``), failures are not, so a rerun retries them.
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import openai

from data_engine.annotate.base import Caption, SegmentView
from data_engine.annotate.cache import ReplyCache, content_key
from data_engine.annotate.overlay import OverlayConfig, overlay_frames, tile_frames

NUM_PARAPHRASES = 5

_TASK = """Write ONE imperative sentence (at most 15 words) telling someone what the {hand} hand does \
in this clip, naming the object it handles and, when it matters, where the object goes, for example \
"Pick up the red cup from the table." or "Put the knife into the drawer." Describe only the {hand} \
hand, never the other hand. Do not mention the drawing, the frames, the video or the camera.
If the {hand} hand neither handles an object nor reaches for one (it rests, gestures, is out of view \
or only moves through the air), the instruction is exactly "N/A".

Then write {paraphrases} paraphrases of the instruction: different wording, same meaning, same \
object, each a single imperative sentence. For "N/A" give an empty list.

Answer with JSON only, no other text:
{"instruction": "<sentence or N/A>", "paraphrases": ["<paraphrase 1>", "...", "<paraphrase {paraphrases}>"]}"""

# The project's own prompt (VITRA's is unpublished). Placeholders: {hand}, {frames}, {paraphrases};
# they are replaced literally, so other braces (the JSON example) need no escaping.
PROMPT = (
    """You are labelling first-person (egocentric) video for teaching a robot hand to act like a human hand.
The {frames} images are frames of one short clip, in time order. On every frame, the path that the \
palm of the person's {hand} hand will follow from that moment until the end of the clip is drawn as \
a coloured line: a dot marks where the palm is in that frame and an arrowhead marks where it ends. \
The drawing is a guide to which hand and which motion is meant; describe the real action.

"""
    + _TASK
)

# For the "no overlay" ablation: the same request without the paragraph about the drawing.
PROMPT_NO_OVERLAY = (
    """You are labelling first-person (egocentric) video for teaching a robot hand to act like a human hand.
The {frames} images are frames of one short clip, in time order.

"""
    + _TASK
)


@dataclass(frozen=True)
class VLMConfig:
    """Where and how to ask. ``base_url`` unset means "no endpoint": the offline captioner is used."""

    base_url: str | None = None  # "https://api.openai.com/v1", "http://localhost:8000/v1" (vLLM), ...
    model: str = "gpt-4.1"
    api_key_env: str = "OPENAI_API_KEY"  # read at request time; local servers accept any key
    prompt: str | None = None  # None: PROMPT, or PROMPT_NO_OVERLAY for the no-overlay ablation
    max_tokens: int = 400
    temperature: float = 0.2
    timeout_s: float = 60.0
    retries: int = 4  # attempts after the first
    backoff_s: float = 2.0  # wait before retry n is backoff_s * 2**(n-1), capped at max_backoff_s
    max_backoff_s: float = 60.0
    image_max_side: int = 512  # frames are downscaled to this before JPEG encoding
    jpeg_quality: int = 85
    tile: bool = False  # send one 2x4 grid instead of 8 images (endpoints limited to one image)
    cache_dir: Path | None = None


class MalformedReply(ValueError):
    """The model answered, but not with a usable instruction."""


_RETRYABLE = (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError)
_NA = {"N/A", "NA", "N.A"}  # compared after dropping a final period


class VLMWriter:
    """Sends frames and a prompt, returns a ``Caption``; holds the client and the reply cache."""

    def __init__(self, config: VLMConfig) -> None:
        if not config.base_url:
            raise ValueError("VLMWriter needs config.base_url")
        self.config = config
        self.cache = ReplyCache(config.cache_dir) if config.cache_dir else None
        self._client: openai.OpenAI | None = None

    def __getstate__(self) -> dict:
        """Picklable for process pools and Ray: the HTTP client is rebuilt in the worker."""
        return {**self.__dict__, "_client": None}

    @property
    def client(self) -> openai.OpenAI:
        if self._client is None:
            self._client = openai.OpenAI(
                base_url=self.config.base_url,
                api_key=os.environ.get(self.config.api_key_env) or "unused",
                timeout=self.config.timeout_s,
                max_retries=0,  # retries are ours: they also cover malformed replies
            )
        return self._client

    def describe(self, frames: np.ndarray, hand: str, prompt_template: str = PROMPT) -> Caption:
        """The instruction for ``hand`` in these (already overlaid) frames; never raises for endpoint trouble."""
        config = self.config
        prompt = render_prompt(config.prompt or prompt_template, hand, len(frames))
        images = [tile_frames(frames)] if config.tile else list(frames)
        encoded = [encode_jpeg(image, config.image_max_side, config.jpeg_quality) for image in images]
        key = content_key(config.model, prompt, encoded, temperature=config.temperature, max_tokens=config.max_tokens)
        cached = self.cache.get(key) if self.cache else None
        if cached is not None:
            try:
                return parse_reply(cached)
            except MalformedReply:
                pass  # an entry from an older parser: ask again
        problem = "no attempt made"
        for attempt in range(config.retries + 1):
            if attempt:
                time.sleep(min(config.max_backoff_s, config.backoff_s * 2 ** (attempt - 1)))
            try:
                reply = self._request(prompt, encoded)
                caption = parse_reply(reply)
            except (*_RETRYABLE, MalformedReply) as error:
                problem = f"{type(error).__name__}: {error}"
                continue
            except openai.OpenAIError as error:  # 4xx other than 429: asking again will not help
                return Caption(None, [], "vlm", error=f"{type(error).__name__}: {error}")
            if self.cache:
                self.cache.put(key, reply)
            return caption
        return Caption(None, [], "vlm", error=f"gave up after {config.retries + 1} attempts; last: {problem}")

    def _request(self, prompt: str, images: list[bytes]) -> str:
        content: list[dict] = [{"type": "text", "text": prompt}]
        for data in images:
            url = "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")
            content.append({"type": "image_url", "image_url": {"url": url}})
        try:
            response = self.client.chat.completions.create(
                model=self.config.model,
                messages=[{"role": "user", "content": content}],
                max_tokens=self.config.max_tokens,
                temperature=self.config.temperature,
            )
        except (openai.APIResponseValidationError, ValueError) as error:  # a 200 whose body is not a completion
            raise MalformedReply(f"unreadable response body ({error})") from error
        choices = getattr(response, "choices", None)
        text = choices[0].message.content if choices else None
        if not text or not text.strip():
            raise MalformedReply("empty reply")
        return text


class VLMAnnotator:
    """Overlay the segment's frames, then ask the VLM."""

    def __init__(self, config: VLMConfig, overlay: OverlayConfig = OverlayConfig()) -> None:
        self.writer = VLMWriter(config)
        self.overlay = overlay

    def annotate(self, segment: SegmentView) -> Caption:
        s = segment
        frames = overlay_frames(s.frames, s.extrinsics, s.intrinsics, s.keypoints, s.kept, s.hand, self.overlay).frames
        return self.writer.describe(frames, segment.hand, PROMPT if self.overlay.draw else PROMPT_NO_OVERLAY)


def render_prompt(template: str, hand: str, frames: int) -> str:
    values = {"{hand}": hand, "{frames}": str(frames), "{paraphrases}": str(NUM_PARAPHRASES)}
    for placeholder, value in values.items():
        template = template.replace(placeholder, value)
    return template


def encode_jpeg(image: np.ndarray, max_side: int, quality: int) -> bytes:
    """RGB uint8 -> JPEG bytes, downscaled so the longer side is at most ``max_side``."""
    scale = max_side / max(image.shape[:2])
    if scale < 1.0:
        size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return data.tobytes()


def parse_reply(reply: str) -> Caption:
    """The model's text -> Caption; raises ``MalformedReply`` when it is not a usable answer.

    Tolerates code fences and chatter around the JSON object, and a bare "N/A" (unambiguous even
    without the JSON). Needs at least ``NUM_PARAPHRASES`` distinct valid paraphrases; extra ones
    are dropped.
    """
    match = re.search(r"\{.*\}", reply, re.DOTALL)
    if match is None:
        if _is_na(reply):
            return Caption(None, [], "vlm", na=True)
        raise MalformedReply(f"no JSON object in reply {reply[:200]!r}")
    try:
        data = json.loads(match.group(0))
    except ValueError as error:
        raise MalformedReply(f"invalid JSON ({error})") from error
    if not isinstance(data, dict) or not isinstance(data.get("instruction"), str):
        raise MalformedReply("JSON without a string 'instruction'")
    if _is_na(data["instruction"]):
        return Caption(None, [], "vlm", na=True)
    text = clean_sentence(data["instruction"])
    raw = data.get("paraphrases")
    paraphrases: list[str] = []
    for candidate in raw if isinstance(raw, list) else []:
        try:
            sentence = clean_sentence(candidate) if isinstance(candidate, str) else None
        except MalformedReply:
            continue
        if sentence and sentence.lower() not in {p.lower() for p in [text, *paraphrases]}:
            paraphrases.append(sentence)
    if len(paraphrases) < NUM_PARAPHRASES:
        raise MalformedReply(f"{len(paraphrases)} usable paraphrases, {NUM_PARAPHRASES} needed")
    return Caption(text, paraphrases[:NUM_PARAPHRASES], "vlm")


def clean_sentence(text: str) -> str:
    """One short imperative sentence, capitalised and ending in punctuation, or ``MalformedReply``."""
    sentence = text.strip().strip("\"'`").strip()
    words = sentence.split()
    if "\n" in sentence or not 2 <= len(words) <= 30:
        raise MalformedReply(f"not one short sentence: {text[:120]!r}")
    if not sentence[0].isalpha() or re.search(r"[.!?;]\s+\S", sentence):
        raise MalformedReply(f"not a single sentence: {text[:120]!r}")
    if sentence[-1] not in ".!?":
        sentence += "."
    return sentence[0].upper() + sentence[1:]


def _is_na(text: str) -> bool:
    return text.strip().strip("\"'`").strip().rstrip(".").upper() in _NA
