"""TTS providers: espeak-ng (English and Mandarin) and piper (English), real engines."""

from __future__ import annotations

import numpy as np
import pytest

from daemon.audio.pcm import rms_dbfs
from daemon.audio.tts import EspeakTts, TtsError, clean_text
from daemon.config import TtsConfig


@pytest.fixture(scope="module")
def espeak() -> EspeakTts:
    return EspeakTts(TtsConfig())


def test_english_sentence(espeak: EspeakTts) -> None:
    s = espeak.synthesize("Hello, I am your voice assistant.")
    assert s.rate == 22050
    assert 1.0 < s.duration_s < 4.0
    assert rms_dbfs(s.pcm) > -35
    assert s.synth_s < s.duration_s  # faster than real time


def test_mandarin_uses_the_pinyin_voice(espeak: EspeakTts) -> None:
    assert espeak.voice_for("你好，我是小智。") == "cmn-latn-pinyin"
    assert espeak.voice_for("Hello there.") == "en"
    s = espeak.synthesize("你好，我是小智。今天天气很好。")
    assert 1.5 < s.duration_s < 6.0 and rms_dbfs(s.pcm) > -35


def test_markup_and_emoji_are_not_read(espeak: EspeakTts) -> None:
    assert clean_text("**Hello** 🙂 _there_ #1") == "Hello there 1"
    assert espeak.synthesize("🙂🙂").pcm.size == 0
    plain = espeak.synthesize("Good morning.")
    marked = espeak.synthesize("**Good** morning. 🙂")
    assert abs(plain.duration_s - marked.duration_s) < 0.15


def test_missing_binary_or_voice_is_a_clear_error() -> None:
    with pytest.raises(TtsError, match="espeak-ng"):
        EspeakTts(TtsConfig(), binary="/nonexistent/espeak-ng")
    with pytest.raises(TtsError, match="no-such-voice"):
        EspeakTts(TtsConfig(voice_en="no-such-voice"))


def test_piper_english_voice_and_chinese_fallback(espeak: EspeakTts) -> None:
    pytest.importorskip("piper", reason="piper-tts is installed by `models install --all`")
    from daemon.audio.tts import PiperTts
    from daemon.modelfiles import resolve_piper_voice
    from tests.support.audio import MODELS

    piper = PiperTts(resolve_piper_voice("piper-joe-us", MODELS), TtsConfig(), espeak)
    s = piper.synthesize("Hello, how are you today?")
    assert s.rate == 22050 and 0.8 < s.duration_s < 4 and rms_dbfs(s.pcm) > -35
    assert s.pcm.dtype == np.int16
    zh = piper.synthesize("你好。")
    assert zh.pcm.size > 0  # spoken by the espeak-ng fallback
