"""VLM replies on disk, keyed by a hash of everything that determines them, so reruns cost nothing.

One JSON file per entry, written atomically (a crash leaves the old state or the whole entry,
and parallel workers never see half a file); an unreadable entry is treated as a miss.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from vitra_bench.corpus.files import atomic_write_json


def content_key(model: str, prompt: str, images: list[bytes], **params: object) -> str:
    """SHA-256 over the model, prompt, encoded images and generation parameters (length-prefixed parts)."""
    digest = hashlib.sha256()
    parts = [model.encode(), prompt.encode(), json.dumps(params, sort_keys=True).encode(), *images]
    for part in parts:
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)
    return digest.hexdigest()


class ReplyCache:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> str | None:
        try:
            entry = json.loads(self._path(key).read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("key") != key or not isinstance(entry.get("reply"), str):
            return None
        return entry["reply"]

    def put(self, key: str, reply: str) -> None:
        atomic_write_json(self._path(key), {"key": key, "reply": reply})
