"""faster-whisper with the local Whisper base: English and Chinese, garbage gives nothing, caps."""

from __future__ import annotations

import asyncio
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from daemon.audio.asr import AsrWorker, FasterWhisperAsr, SegmentStats, Transcript, judge, token_cap
from daemon.config import AsrConfig
from tests.support.audio import silence, speech, white_noise, words


def test_english_sentence_is_transcribed(whisper_en) -> None:
    said = "Please turn on the light in the kitchen."
    out = whisper_en.transcribe(speech(said))
    assert words(out.text) == words(said), out
    assert out.language == "en" and not out.dropped
    assert 0 < out.rtf < 10


def test_mandarin_recording_comes_back_simplified_with_auto_language(
    whisper_folder: Path, whisper_en
) -> None:
    import xiaozhi_sdk

    wav = Path(xiaozhi_sdk.__file__).parent / "file" / "audio" / "test_16k.wav"
    with wave.open(str(wav)) as w:
        assert w.getframerate() == 16000
        pcm = np.frombuffer(w.readframes(w.getnframes()), np.int16)
    asr = FasterWhisperAsr(whisper_folder, AsrConfig(language="auto", max_decode_s=60),
                           model=whisper_en.model)
    before = asr.encoder_reuses
    out = asr.transcribe(pcm)
    assert out.language == "zh"
    assert "什么" in out.text and "模型" in out.text, out  # simplified (traditional: 甚麼/模型)
    assert "麼" not in out.text
    assert asr.encoder_reuses == before + 1  # detection and decoding shared one encoder pass


def test_noise_and_silence_give_no_text_in_bounded_time(whisper_en) -> None:
    cfg = whisper_en.cfg
    for audio in (white_noise(20), np.zeros(16000 * 10, np.int16)):
        t0 = time.perf_counter()
        out = whisper_en.transcribe(audio)
        took = time.perf_counter() - t0
        assert out.text == "", out
        assert out.dropped
        assert took < cfg.max_decode_s + 5


def test_judge_drops_what_the_model_doubts() -> None:
    cfg = AsrConfig()

    def seg(text: str, lp: float = -0.3, ns: float = 0.05, cr: float = 1.2) -> list[SegmentStats]:
        return [SegmentStats(text, lp, ns, cr)]

    assert judge(seg(" Turn on the light."), cfg) == ""
    assert judge(seg(" ..."), cfg) == "no text"
    assert judge(seg(" you", lp=-0.9, ns=0.9), cfg).startswith("no speech")
    assert judge(seg(" hmm", lp=-1.6), cfg).startswith("low confidence")
    assert judge(seg(" la la la la la la la la", cr=3.1), cfg).startswith("repetitive")
    assert judge(seg(" Thanks for watching!"), cfg) == "known hallucination"
    assert judge(seg("字幕由Amara.org社区提供"), cfg) == "known hallucination"
    assert judge(seg(" ok ok ok"), cfg, hit_token_cap=True).startswith("token cap")
    # a confident answer is kept even if the no-speech head is unsure
    assert judge(seg(" Yes.", lp=-0.2, ns=0.8), cfg) == ""


def test_token_cap_grows_with_length_within_the_limit() -> None:
    cfg = AsrConfig(max_tokens=160)
    assert token_cap(1.0, cfg) == 24
    assert token_cap(5.0, cfg) == 56
    assert token_cap(60.0, cfg) == 160


class SlowAsr:
    name = "slow"

    def transcribe(self, pcm: np.ndarray) -> Transcript:
        time.sleep(1.0)
        return Transcript(text="late")


async def test_worker_stops_waiting_after_its_timeout() -> None:
    worker = AsrWorker(SlowAsr(), timeout_s=0.2)
    t0 = time.perf_counter()
    out = await worker.transcribe(np.zeros(16000, np.int16))
    assert out.text == "" and out.dropped == "timeout"
    assert time.perf_counter() - t0 < 0.6
    await asyncio.sleep(0.9)
    worker.close()


@pytest.mark.parametrize("n", [0, 100])
def test_too_short_audio_is_not_decoded(whisper_en, n: int) -> None:
    out = whisper_en.transcribe(np.zeros(n, np.int16))
    assert out.text == "" and out.dropped == "too short" and out.decode_s == 0


def test_memory_hotwords_do_not_turn_noise_into_names(whisper_folder) -> None:  # type: ignore[no-untyped-def]
    asr = FasterWhisperAsr(whisper_folder, AsrConfig(max_decode_s=60))
    hot = "林晓雯 苏州 周杰伦 晴天 王子轩 Siobhan Galway Biscuit Aidan"
    backwards = np.concatenate([speech("Please play some music in the living room.")[::-1],
                                speech("The quick brown fox jumps over the lazy dog.")[::-1]])
    for pcm in (white_noise(2.0), white_noise(2.0, level=300, seed=1), backwards,
                np.concatenate([silence(1.0), white_noise(0.1, 8000), silence(1.0)])):
        out = asr.transcribe(pcm, hot)
        assert out.text == "" and out.dropped, out
