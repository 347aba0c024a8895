"""Audio test material: speech made by espeak-ng, silence, noise, and where the models are."""

from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import numpy as np

from daemon.audio.pcm import parse_wav, resample

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "models"


@lru_cache(maxsize=32)
def _espeak(text: str, voice: str) -> bytes:
    if not shutil.which("espeak-ng"):
        raise AssertionError("espeak-ng is not installed (apt-get install espeak-ng)")
    out = subprocess.run(["espeak-ng", "-v", voice, "--stdout", text], capture_output=True,
                         check=True).stdout
    return out


def speech(text: str, rate: int = 16000, voice: str = "en") -> np.ndarray:
    """int16 speech of `text` at `rate` (espeak-ng, 22,050 Hz, resampled)."""
    pcm, sr = parse_wav(_espeak(text, voice))
    return resample(pcm, sr, rate)


def silence(seconds: float, rate: int = 16000) -> np.ndarray:
    return np.zeros(int(seconds * rate), np.int16)


def white_noise(seconds: float, level: float = 3000, seed: int = 0, rate: int = 16000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(rng.standard_normal(int(seconds * rate)) * level, -32768, 32767).astype(np.int16)


def words(text: str) -> list[str]:
    return "".join(c.lower() if c.isalnum() or c.isspace() else " " for c in text).split()
