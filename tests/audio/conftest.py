"""Audio fixtures: the real Whisper model (the material itself is in tests/support/audio.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.config import AsrConfig
from tests.support.audio import MODELS


@pytest.fixture(scope="session")
def whisper_folder() -> Path:
    from daemon.modelfiles import resolve_whisper_folder

    return resolve_whisper_folder("whisper-base", MODELS)


@pytest.fixture(scope="session")
def whisper_en(whisper_folder: Path):
    from daemon.audio.asr import FasterWhisperAsr

    # a generous time cap: these tests check what is heard, on a machine that may be busy
    return FasterWhisperAsr(whisper_folder, AsrConfig(language="en", max_decode_s=60))
