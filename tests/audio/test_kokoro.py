"""The Kokoro voice with the real model: Mandarin and English heard back by Whisper, clause
streaming, and every failure (broken voice file, text it cannot speak, onnxruntime errors)
ending in espeak-ng speech instead of silence."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from daemon.audio.kokoro import KokoroTts, load_voice_pack, resolve_kokoro
from daemon.audio.kokoro_vocab import VOCAB
from daemon.audio.pcm import resample, rms_dbfs
from daemon.audio.services import VoiceUnavailable, build_tts
from daemon.audio.tts import EspeakTts, TtsError
from daemon.config import AsrConfig, Config, TtsConfig
from daemon.modelfiles import ModelMissingError
from tests.support.speech_scores import cer, wer
from tests.support.voices import MODELS

pytest.importorskip("misaki", reason="misaki[zh] is a dependency of xiaozhi-memd")


@pytest.fixture(scope="module")
def folder() -> Path:
    return resolve_kokoro("kokoro-82m", MODELS)


@pytest.fixture(scope="module")
def kokoro(folder: Path) -> KokoroTts:
    return KokoroTts(folder, TtsConfig(), EspeakTts(TtsConfig()))


@pytest.fixture(scope="module")
def whisper():  # type: ignore[no-untyped-def]
    from daemon.audio.asr import FasterWhisperAsr
    from daemon.modelfiles import resolve_whisper_folder

    folder = resolve_whisper_folder("whisper-base", MODELS)
    return {lang: FasterWhisperAsr(folder, AsrConfig(language=lang, max_decode_s=60))
            for lang in ("zh", "en")}


def hear(whisper, speech, lang: str) -> str:  # type: ignore[no-untyped-def]
    return whisper[lang].transcribe(resample(speech.pcm, speech.rate, 16000)).text


def test_mandarin_is_heard_back(kokoro: KokoroTts, whisper) -> None:  # type: ignore[no-untyped-def]
    text = "明天会下雨吗？我帮你把客厅的灯打开了。"
    speech = kokoro.synthesize(text)
    assert speech.rate == 24000 and speech.duration_s > 1.5 and rms_dbfs(speech.pcm) > -35
    assert cer(hear(whisper, speech, "zh"), text) <= 0.1


def test_english_is_heard_back(kokoro: KokoroTts, whisper) -> None:  # type: ignore[no-untyped-def]
    text = "Sure. The light in the kitchen is now on."
    assert wer(hear(whisper, kokoro.synthesize(text), "en"), text) == 0


def test_english_words_inside_chinese_are_spoken_in_english(
    kokoro: KokoroTts, whisper,  # type: ignore[no-untyped-def]
) -> None:
    heard = hear(whisper, kokoro.synthesize("我明天要去Costco买东西。"), "zh")
    assert "costco" in heard.lower().replace(" ", ""), heard


def test_stream_yields_one_piece_per_clause(kokoro: KokoroTts) -> None:
    pieces = list(kokoro.stream("你好，我是小智。今天天气很好，适合出去走走！"))
    assert len(pieces) == 4 and all(p.pcm.size and p.rate == 24000 for p in pieces)
    whole = sum(p.duration_s for p in pieces)
    assert pieces[0].duration_s < whole / 2  # the first clause can be played long before the rest


class BrokenSession:
    """An onnxruntime session that fails for some inputs (as a damaged model would)."""

    def __init__(self, real, fail_when_longer_than: int) -> None:  # type: ignore[no-untyped-def]
        self.real = real
        self.limit = fail_when_longer_than

    def run(self, names, feeds):  # type: ignore[no-untyped-def]
        if feeds["tokens"].shape[1] > self.limit:
            raise RuntimeError("[ONNXRuntimeError] : 2 : INVALID_ARGUMENT")
        return self.real.run(names, feeds)


def test_a_failing_clause_is_spoken_by_espeak(kokoro: KokoroTts, folder: Path, caplog) -> None:
    tts = KokoroTts(folder, TtsConfig(), kokoro.fallback,
                    session=BrokenSession(kokoro.session, fail_when_longer_than=30))
    with caplog.at_level(logging.WARNING):  # clauses of 15 (+2), 40 and 51 tokens
        pieces = list(tts.stream("我知道了。这是一个很长很长的句子，需要说很久很久才能说完。"))
    assert [p.rate for p in pieces] == [24000, 22050, 22050]  # Kokoro, then espeak-ng twice
    assert all(p.pcm.size for p in pieces)
    assert sum("spoken by espeak-ng instead" in r.message for r in caplog.records) == 2


def test_text_kokoro_cannot_speak_falls_back(kokoro: KokoroTts) -> None:
    speech = kokoro.synthesize("ÆØÅ ⅷ")  # no phoneme Kokoro knows
    assert speech.pcm.size > 0


def test_without_a_fallback_a_failure_is_a_tts_error(kokoro: KokoroTts, folder: Path) -> None:
    tts = KokoroTts(folder, TtsConfig(), None,
                    session=BrokenSession(kokoro.session, fail_when_longer_than=12))
    with pytest.raises(TtsError, match="no fallback"):
        tts.synthesize("这是一个很长的句子，需要说很久很久才能说完。")


def test_damaged_or_missing_voice_files_are_refused(tmp_path: Path, folder: Path) -> None:
    bad = tmp_path / "zf_xiaoxiao.bin"
    bad.write_bytes(b"\0" * 1000)
    with pytest.raises(TtsError, match="damaged"):
        load_voice_pack(bad)
    with pytest.raises(TtsError, match="missing"):
        load_voice_pack(tmp_path / "nope.bin")
    with pytest.raises(ModelMissingError, match="models install kokoro-82m"):
        resolve_kokoro("kokoro-82m", tmp_path)


def _cfg(tmp_path: Path, **tts: object) -> Config:
    return Config.model_validate({"models_dir": str(MODELS), "audio": {"tts": tts}}).resolved(tmp_path)


def test_kokoro_is_the_default_when_installed(tmp_path: Path) -> None:
    assert build_tts(_cfg(tmp_path)).name == "kokoro:zf_xiaoxiao+af_heart"


def test_auto_falls_back_to_espeak_with_one_line(tmp_path: Path, caplog) -> None:
    broken = tmp_path / "kokoro"
    broken.mkdir()
    for f in folder_files():
        shutil.copy(f, broken / f.name) if f.suffix == ".bin" else (broken / f.name).symlink_to(f)
    (broken / "af_heart.bin").write_bytes(b"broken")
    with caplog.at_level(logging.WARNING):
        tts = build_tts(_cfg(tmp_path, kokoro_model=str(broken)))
    assert tts.name == "espeak-ng"
    lines = [r.message for r in caplog.records if "Kokoro voice not available" in r.message]
    assert len(lines) == 1 and "damaged" in lines[0] and "models install kokoro-82m" in lines[0]
    with pytest.raises(VoiceUnavailable, match="damaged"):
        build_tts(_cfg(tmp_path, provider="kokoro", kokoro_model=str(broken)))


def folder_files() -> list[Path]:
    return sorted(resolve_kokoro("kokoro-82m", MODELS).iterdir())


def test_first_audio_of_a_long_sentence_is_a_clause_not_the_sentence(kokoro: KokoroTts) -> None:
    text = "好的，我已经记住了，你的女儿叫林晓雯，她在上海读书，每个周末都会回家吃饭。"
    first = next(iter(kokoro.stream(text)))
    assert first.duration_s < kokoro.synthesize(text).duration_s / 3
    assert np.abs(first.pcm).max() > 1000


def test_english_phonemes_come_from_misakis_lexicon_and_espeak_for_the_rest() -> None:
    from daemon.audio.g2p import EnglishG2P

    g2p = EnglishG2P()
    assert g2p("the kitchen") == "ðə kˈɪʧᵊn."  # lexicon, weak "the" before a consonant
    assert g2p("the end, to eat") == "ði ˈɛnd, tʊ ˈit."  # ... and before a vowel
    named = g2p("Call Siobhan at 3.")  # a name and a number: not in the lexicon, read by espeak
    assert named.startswith("kˈɔl ") and "θɹˈi" in named
    assert all(c in VOCAB for c in named)
