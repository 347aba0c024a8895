"""Chinese (and English) voice end to end on the default audio config: the real xiaozhi-sdk
client sends a spoken question as Opus to a real `serve` (Silero VAD, Whisper base with
language detection limited to zh + en, Kokoro answering); a scripted LLM keeps the replies
fixed, so the test is about the voice. The question is a real Mandarin recording shipped in
the xiaozhi-sdk wheel or Kokoro speech (another voice than the answering one). Checked: the
`stt` text (simplified Chinese, the right words) and the spoken answer, decoded by the SDK and
transcribed by Whisper, against the reply text (CER <= 10%; English: every word heard)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from daemon.audio.pcm import resample, rms_dbfs
from daemon.config import AsrConfig
from tests.support.audio import silence
from tests.support.sdk_voice import VoiceDevice, is_
from tests.support.server import ServerProcess, server_config
from tests.support.speech_scores import cer, words
from tests.support.voices import MODELS, kokoro_speech, recording, sdk_recordings

pytest.importorskip("misaki", reason="misaki[zh] is a dependency of xiaozhi-memd")

REPLIES = {
    "模型": "我是小智，一个在你家里离线运行的语音助手。",
    "你好": "你好！今天有什么可以帮你的吗？",
    "看看": "我现在看不到图片，你可以描述一下吗？",
    "播放": "好的，马上为你播放音乐。",
    "下雨": "明天是晴天，不会下雨，可以出去玩。",
    "(?i)light": "Sure. The light in the kitchen is now on.",
    "(?i)hello": "Hello! How can I help you today?",
}
RULES = {"rules": [{"json": True, "match": ".*", "reply": {"facts": []}},
                   *({"match": k, "reply": v} for k, v in REPLIES.items())]}
# What each recording says (Whisper base hears these words in it), and the reply it gets.
RECORDINGS = {
    "test_16k.wav": "模型", "test_24k.wav": "模型", "test_48k.wav": "模型",
    "16k_greet.wav": "你好", "16k_take_photo.wav": "看看", "16k_play_music.wav": "播放",
    "16k_say_hello.wav": "hello",
}
MAX_CER = 0.10


def voice_config(tmp: Path, api: dict | None = None, **audio: object) -> Path:
    rules = tmp / "rules.json"
    rules.write_text(json.dumps(RULES, ensure_ascii=False))
    return server_config(tmp, models_dir=str(MODELS),
                         llm={"provider": "scripted", "scripted": {"replies_file": str(rules)}},
                         audio={"enabled": True, **audio}, api=api or {})


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("voice-zh")
    srv = ServerProcess(voice_config(tmp), tmp / "server.log")  # the default audio config
    srv.start()
    srv.wait_ready(timeout=180)
    assert "TTS kokoro:zf_xiaoxiao+af_heart" in srv.log(), srv.log()
    yield srv
    assert srv.stop() == 0, srv.log()
    assert "Traceback" not in srv.log(), srv.log()


@pytest.fixture(scope="module")
def whisper():
    from daemon.audio.asr import FasterWhisperAsr
    from daemon.modelfiles import resolve_whisper_folder

    folder = resolve_whisper_folder("whisper-base", MODELS)
    return {lang: FasterWhisperAsr(folder, AsrConfig(language=lang, max_decode_s=60))
            for lang in ("zh", "en")}


def reply_for(stt: str) -> str:
    import re

    return next(v for k, v in REPLIES.items() if re.search(k, stt))


def is_simplified(text: str) -> bool:
    import zhconv

    return zhconv.convert(text, "zh-cn") == text


async def ask(server: ServerProcess, mac: str, pcm: np.ndarray) -> tuple[str, np.ndarray]:
    """One spoken question -> (the stt text, the answer's audio at 24 kHz)."""
    async with VoiceDevice(server.ws_url, mac) as dev:
        await dev.send_pcm(np.concatenate([pcm, silence(1.2)]))
        _t, stt = await dev.wait_for(is_("stt"))
        await dev.wait_for(is_("tts", "stop"))
        return stt["text"], dev.audio()


def heard(whisper, pcm: np.ndarray, lang: str) -> str:  # type: ignore[no-untyped-def]
    assert pcm.size / 24000 > 0.8 and rms_dbfs(pcm) > -35, "no audible answer"
    return whisper[lang].transcribe(resample(pcm, 24000, 16000)).text


@pytest.mark.parametrize("name", list(RECORDINGS))
async def test_a_real_recording_is_heard_and_answered_intelligibly(
    server: ServerProcess, whisper, name: str,  # type: ignore[no-untyped-def]
) -> None:
    expected = RECORDINGS[name]
    path = sdk_recordings()[name]
    stt, answer = await ask(server, f"aa:30:00:00:00:{list(RECORDINGS).index(name):02x}",
                            recording(path))
    assert expected in stt.lower(), stt
    assert is_simplified(stt), stt
    reply = reply_for(stt)
    if expected == "hello":  # English: every word of the answer is heard
        got = heard(whisper, answer, "en")
        assert set(words(reply)) <= set(words(got)), (got, reply)
    else:
        got = heard(whisper, answer, "zh")
        assert cer(got, reply) <= MAX_CER, (got, reply)


async def test_a_question_in_kokoro_mandarin_is_answered_in_mandarin(
    server: ServerProcess, whisper,  # type: ignore[no-untyped-def]
) -> None:
    stt, answer = await ask(server, "aa:30:00:00:01:01", kokoro_speech("明天会下雨吗？"))
    assert "下雨" in stt and is_simplified(stt), stt
    got = heard(whisper, answer, "zh")
    assert cer(got, REPLIES["下雨"]) <= MAX_CER, got


async def test_a_question_in_kokoro_english_is_answered_by_the_english_voice(
    server: ServerProcess, whisper,  # type: ignore[no-untyped-def]
) -> None:
    stt, answer = await ask(server, "aa:30:00:00:01:02",
                            kokoro_speech("Please turn on the light in the kitchen."))
    assert "light" in stt.lower() and "kitchen" in stt.lower(), stt
    got = heard(whisper, answer, "en")
    reply = REPLIES["(?i)light"]
    assert set(words(reply)) <= set(words(got)), (got, reply)


async def test_without_a_kokoro_voice_espeak_speaks_and_the_turn_completes(
    tmp_path: Path,
) -> None:
    cfg = voice_config(tmp_path, tts={"kokoro_voice_zh": "zf_not_installed"})
    srv = ServerProcess(cfg, tmp_path / "server.log")
    srv.start()
    try:
        srv.wait_ready(timeout=180)
        log = srv.log()
        assert "Kokoro voice not available" in log and "TTS espeak-ng" in log, log
        assert log.count("Kokoro voice not available") == 1
        stt, answer = await ask(srv, "aa:30:00:00:02:01", kokoro_speech("明天会下雨吗？"))
        assert "下雨" in stt
        assert answer.size / 24000 > 0.8 and rms_dbfs(answer) > -35
    finally:
        assert srv.stop() == 0, srv.log()
    assert "Traceback" not in srv.log()


async def test_names_a_device_remembers_are_heard_and_only_by_that_device(tmp_path: Path) -> None:
    """Whisper base hears "Siobhan" as "Shavon" and 林晓雯 as 林小文; the device whose user has
    them in memory gets them right, the other device (same audio) does not get its words."""
    import httpx

    key = "voice-test-key"
    srv = ServerProcess(voice_config(tmp_path, api={"key": key}), tmp_path / "server.log")
    srv.start()
    knows, other = "aa:30:00:00:03:01", "aa:30:00:00:03:02"
    try:
        srv.wait_ready(timeout=180)
        async with httpx.AsyncClient(base_url=srv.http_url,
                                     headers={"Authorization": f"Token {key}"}) as http:
            for fact in ("My sister Siobhan lives in Galway", "我女儿叫林晓雯，在苏州上学"):
                r = await http.post("/v1/memories/", json={
                    "messages": [{"role": "user", "content": fact}], "user_id": knows,
                    "infer": False})
                assert r.status_code == 200, r.text
        for question, name in (("Is Siobhan still in Galway?", "siobhan"),
                               ("林晓雯今天几点放学？", "林晓雯")):
            pcm = kokoro_speech(question)
            heard_by_knows, _a = await ask(srv, knows, pcm)
            heard_by_other, _b = await ask(srv, other, pcm)
            assert name in heard_by_knows.lower(), heard_by_knows
            assert name not in heard_by_other.lower(), heard_by_other
    finally:
        assert srv.stop() == 0, srv.log()
    assert "Traceback" not in srv.log()
