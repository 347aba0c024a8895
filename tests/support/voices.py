"""Speech material for voice tests: the real Mandarin recordings shipped in the xiaozhi-sdk
wheel, and questions spoken by Kokoro (a different voice from the one that answers)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from daemon.audio.pcm import parse_wav, resample

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "models"


def sdk_recordings() -> dict[str, Path]:
    """name -> path of each WAV in xiaozhi_sdk/file/audio (16, 24 and 48 kHz)."""
    import xiaozhi_sdk

    folder = Path(xiaozhi_sdk.__file__).parent / "file" / "audio"
    return {p.name: p for p in sorted(folder.glob("*.wav"))}


def recording(path: Path, rate: int = 16000) -> np.ndarray:
    pcm, sr = parse_wav(path.read_bytes())
    return resample(pcm, sr, rate)


@lru_cache(maxsize=4)
def kokoro(voice_zh: str = "zf_xiaobei", voice_en: str = "am_michael"):  # type: ignore[no-untyped-def]
    from daemon.audio.kokoro import KokoroTts, resolve_kokoro
    from daemon.config import TtsConfig

    cfg = TtsConfig(kokoro_voice_zh=voice_zh, kokoro_voice_en=voice_en)
    return KokoroTts(resolve_kokoro("kokoro-82m", MODELS), cfg, None)


def kokoro_speech(text: str, rate: int = 16000, voice_zh: str = "zf_xiaobei",
                  voice_en: str = "am_michael") -> np.ndarray:
    """int16 speech of ``text`` at ``rate``, spoken by Kokoro (not the server's answer voice)."""
    speech = kokoro(voice_zh, voice_en).synthesize(text)
    return resample(speech.pcm, speech.rate, rate)
