"""Robot and scene descriptions shipped as package data (no code lives in the asset folders)."""

from pathlib import Path

XHAND1_DIR = Path(__file__).parent / "xhand1"
