"""Voice end to end: the real `xiaozhi-sdk` client sends real Opus (16 kHz PCM it encodes
itself) to `xiaozhi-memd serve`, which runs the real VAD, Whisper and espeak-ng; a scripted LLM
keeps the answers deterministic. The SDK decodes our Opus answer (its output_audio_queue).

Audio is sent faster than real time (the server must not care)."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from daemon.audio.pcm import rms_dbfs
from daemon.audio.tts import EspeakTts
from daemon.config import TtsConfig
from tests.support.audio import silence, speech, white_noise, words
from tests.support.sdk_voice import LIGHT_ANSWER, RULES, STORY, VoiceDevice, is_
from tests.support.server import ServerProcess, server_config

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 120  # ASR on a busy 2-core machine can take many seconds per utterance


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("voice")
    rules = tmp / "rules.json"
    rules.write_text(json.dumps(RULES))
    cfg = server_config(
        tmp, models_dir=str(ROOT / "models"),
        llm={"provider": "scripted", "scripted": {"replies_file": str(rules)}},
        # espeak-ng: these tests check pacing and durations against espeak-ng's own output (it
        # synthesises far faster than real time); Kokoro is tested in test_voice_chinese.py
        audio={"enabled": True, "asr": {"language": "en", "max_decode_s": 60},
               "tts": {"provider": "espeak-ng"}},
    )
    srv = ServerProcess(cfg, tmp / "server.log")
    srv.start()
    srv.wait_ready(timeout=120)
    assert "voice on: ASR faster-whisper:whisper-base" in srv.log()
    assert "TTS espeak-ng" in srv.log()
    yield srv
    assert srv.stop() == 0, srv.log()
    assert "Traceback" not in srv.log(), srv.log()


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text) if s]


async def user_messages(server: ServerProcess, device: str, expect: int) -> list[str]:
    """What the device's user said, as recorded (written just after the turn's last message);
    waits a little for `expect` rows, then checks a moment longer that no more come."""
    db = Path(server.config).parent / "data" / "memory.sqlite3"
    rows: list[str] = []
    for i in range(60):
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            rows = [r[0] for r in conn.execute(
                "SELECT content FROM messages WHERE role = 'user' AND user_id = ? ORDER BY seq",
                (device,))]
        if len(rows) > expect or (len(rows) == expect and i >= 5):
            break
        await asyncio.sleep(0.1)
    return rows


async def test_spoken_question_gets_a_spoken_answer(server: ServerProcess) -> None:
    question = "Please turn on the light in the kitchen."
    async with VoiceDevice(server.ws_url, "aa:10:00:00:00:01") as dev:
        await dev.say(question)
        spoke_at = time.monotonic()
        _t, stt = await dev.wait_for(is_("stt"))
        assert words(stt["text"]) == words(question)
        t_stop, _m = await dev.wait_for(is_("tts", "stop"))
        msgs = dev.messages()
        kinds = [(m["type"], m.get("state")) for m in msgs if m["type"] in ("stt", "llm", "tts")]
        assert kinds[0] == ("stt", None) and kinds[-1] == ("tts", "stop")
        said = [m["text"] for m in msgs if m.get("state") == "sentence_start"]
        assert said == sentences(LIGHT_ANSWER)
        pcm = dev.audio()

    # what the SDK decoded: our answer, non-silent, as long as espeak-ng makes it
    tts = EspeakTts(TtsConfig())
    expected_s = sum(tts.synthesize(s).duration_s for s in said)
    got_s = pcm.size / 24000
    assert expected_s <= got_s <= expected_s + 0.1 * len(said) + 0.2, (got_s, expected_s)
    assert rms_dbfs(pcm) > -35
    n = len(dev.frame_times)
    assert n == round(got_s / 0.06)
    # paced: after a pre-buffer of 3, about one 60 ms frame per 60 ms
    span = dev.frame_times[-1] - dev.frame_times[0]
    assert (n - 4) * 0.06 * 0.8 <= span <= (n - 3) * 0.06 + 0.8, (span, n)
    assert t_stop >= dev.frame_times[-1]  # `tts stop` only after the last frame
    assert dev.frame_times[0] > spoke_at
    assert await user_messages(server, "aa:10:00:00:00:01", 1) == [stt["text"]]


async def test_barge_in_stops_the_answer_and_the_new_question_is_answered(
    server: ServerProcess,
) -> None:
    async with VoiceDevice(server.ws_url, "aa:10:00:00:00:02") as dev:
        await dev.say("Tell me a story about a robot.")
        await dev.wait_for(is_("stt"))
        while len(dev.frame_times) < 15:  # the story is being told
            await asyncio.sleep(0.05)
        mark = len(dev.received)
        talk_at = time.monotonic()
        await dev.say("What time is it now?")
        t_stop, _ = await dev.wait_for(is_("tts", "stop"), 10, start=mark)
        assert t_stop - talk_at < 3.0  # stopped as soon as the user was heard
        frames_at_stop = sum(t <= t_stop for t in dev.frame_times)
        _t2, stt2 = await dev.wait_for(is_("stt"), start=mark)
        assert words(stt2["text"]) == words("What time is it now?")
        await dev.wait_for(is_("tts", "stop"), start=mark + 1 + dev.messages(mark).index(stt2))
        start2 = dev.messages(mark).index(stt2) + mark
        said2 = [m["text"] for m in dev.messages(start2) if m.get("state") == "sentence_start"]
        assert said2 == ["It is time for tea."]
    story_frames = round(sum(EspeakTts(TtsConfig()).synthesize(s).duration_s
                             for s in sentences(STORY)) / 0.06)
    assert 15 <= frames_at_stop < story_frames / 2  # the story was cut short
    story_sentences = [m for m in dev.messages(0)[: mark] if m.get("state") == "sentence_start"]
    assert len(story_sentences) < len(sentences(STORY))
    late = [t for t in dev.frame_times if t_stop + 0.3 < t < _t2]
    assert late == []  # nothing of the old answer after its `tts stop`


async def test_abort_or_listen_start_stops_the_audio_at_once(server: ServerProcess) -> None:
    async with VoiceDevice(server.ws_url, "aa:10:00:00:00:03") as dev:
        for stop in ("abort", "listen"):
            mark = len(dev.received)
            await dev.sdk.send_text("Tell me a story")
            await dev.wait_for(is_("tts", "sentence_start"), start=mark)
            first = len(dev.frame_times)
            while len(dev.frame_times) < first + 8:
                await asyncio.sleep(0.02)
            if stop == "abort":
                await dev.sdk.send_abort()
                await dev.wait_for(is_("tts", "stop"), 5, start=mark)
            else:
                await dev.send_json({"type": "listen", "state": "start", "mode": "realtime"})
            await asyncio.sleep(0.3)  # frames already in flight
            n = len(dev.frame_times)
            await asyncio.sleep(1.0)
            assert len(dev.frame_times) == n, f"audio went on after {stop}"
            assert n - first < 40


async def test_manual_mode_and_wake_word_audio_is_not_a_question(server: ServerProcess) -> None:
    async with VoiceDevice(server.ws_url, "aa:10:00:00:00:04", mode="manual") as dev:
        await dev.send_json({"type": "listen", "state": "stop"})
        # the firmware sends the wake word's audio, then `detect`, then `listen start`
        await dev.send_pcm(speech("Alexa, hello there."))
        await dev.send_json({"type": "listen", "state": "detect", "text": "alexa"})
        await dev.send_json({"type": "listen", "state": "start", "mode": "manual"})
        await dev.send_pcm(np.concatenate([speech("Turn off the music in the living room."),
                                           silence(2.5)]))
        await asyncio.sleep(0.5)
        assert not [m for m in dev.messages() if m["type"] == "stt"]  # manual: waits for stop
        await dev.send_json({"type": "listen", "state": "stop"})
        _t, stt = await dev.wait_for(is_("stt"))
        assert words(stt["text"]) == words("Turn off the music in the living room.")
        await dev.wait_for(is_("tts", "stop"))


async def test_garbage_audio_never_reaches_the_llm(server: ServerProcess) -> None:
    mac = "aa:10:00:00:00:05"
    rng = np.random.default_rng(11)
    t0 = time.monotonic()
    async with VoiceDevice(server.ws_url, mac) as dev:
        assert dev.sdk.websocket is not None
        for _ in range(300):  # random bytes as Opus packets
            await dev.sdk.websocket.send(rng.integers(0, 256, int(rng.integers(1, 300)),
                                                      dtype=np.uint8).tobytes())
        await dev.send_pcm(silence(120))  # two minutes of silence
        await dev.send_pcm(white_noise(90, level=4000, seed=5))  # and of noise
        brown = np.cumsum(rng.standard_normal(16000 * 30))
        await dev.send_pcm((brown / np.abs(brown).max() * 12000).astype(np.int16))
        # speech-like garbage: the VAD hears speech, Whisper is not sure of any words
        backwards = np.concatenate([speech("Please play some music in the living room.")[::-1],
                                    speech("The quick brown fox jumps over the lazy dog.")[::-1]])
        await dev.send_pcm(np.concatenate([backwards, silence(1.5)]))
        sent_s = time.monotonic() - t0
        # the connection still works: a real question afterwards is the first thing heard
        await dev.say("What time is it now?")
        _t, stt = await dev.wait_for(is_("stt"))
        assert words(stt["text"]) == words("What time is it now?")
        await dev.wait_for(is_("tts", "stop"))
        first_stt = next(i for i, m in enumerate(dev.messages()) if m["type"] == "stt")
        assert not [m for m in dev.messages()[:first_stt] if m["type"] in ("llm", "tts")]
    assert await user_messages(server, mac, 1) == [stt["text"]]
    assert sent_s < 60
    assert time.monotonic() - t0 < sent_s + 2 * TIMEOUT
    assert "undecodable audio frame" in server.log()
    assert "not used (low confidence" in server.log() or "not used (" in server.log()


async def test_without_voice_models_the_server_serves_text_turns(make_server, tmp_path: Path) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps(RULES))
    srv = make_server(models_dir=str(tmp_path / "no-models"),
                      llm={"provider": "scripted", "scripted": {"replies_file": str(rules)}})
    srv.start()
    srv.wait_ready()
    off = [x for x in srv.log().splitlines() if "voice is off" in x]
    assert len(off) == 1, srv.log()
    assert "whisper-base" in off[0] and "xiaozhi-memd models install whisper-base" in off[0]
    async with VoiceDevice(srv.ws_url, "aa:10:00:00:00:06") as dev:
        await dev.say("Please turn on the light in the kitchen.")  # audio: ignored
        await dev.sdk.send_text("Hello there")
        await dev.wait_for(is_("tts", "stop"), 20)
        said = [m["text"] for m in dev.messages() if m.get("state") == "sentence_start"]
        assert said == sentences(LIGHT_ANSWER)
        assert [m["text"] for m in dev.messages() if m["type"] == "stt"] == ["Hello there"]
        assert dev.frame_times == []  # text only
    assert srv.stop() == 0


@pytest.mark.parametrize("version", [2, 3])
async def test_binary_framing_follows_the_devices_protocol_version(server: ServerProcess,
                                                                   version: int) -> None:
    """A firmware-style client (no SDK: it speaks v1 only): v2/v3 frames both ways."""
    import websockets

    from daemon.audio.opus import OpusDecoder, OpusEncoder
    from daemon.protocol import FRAME_OPUS, BinaryFrame, decode_frame, encode_frame

    headers = {"Device-Id": f"aa:10:00:00:00:1{version}", "Client-Id": "c", "Protocol-Version":
               str(version)}
    async with websockets.connect(server.ws_url, additional_headers=headers) as ws:
        await ws.send(json.dumps({"type": "hello", "version": version, "transport": "websocket",
                                  "audio_params": {"format": "opus", "sample_rate": 16000,
                                                   "channels": 1, "frame_duration": 20}}))
        hello = json.loads(await ws.recv())
        assert hello["audio_params"]["sample_rate"] == 24000
        await ws.send(json.dumps({"type": "listen", "state": "start", "mode": "auto"}))
        pcm = np.concatenate([speech("Please turn on the light in the kitchen."), silence(1.2)])
        for i, packet in enumerate(OpusEncoder(16000, 20).encode(pcm)):  # 20 ms, as some devices
            await ws.send(encode_frame(version, BinaryFrame(FRAME_OPUS, packet, i * 20)))
        texts: list[dict[str, Any]] = []
        frames: list[bytes] = []

        async def until_tts_stop() -> None:
            while not any(m.get("type") == "tts" and m.get("state") == "stop" for m in texts):
                data = await ws.recv()
                if isinstance(data, bytes):
                    frames.append(data)
                else:
                    texts.append(json.loads(data))

        await asyncio.wait_for(until_tts_stop(), TIMEOUT)
    stt = next(m for m in texts if m["type"] == "stt")
    assert words(stt["text"]) == words("Please turn on the light in the kitchen.")
    decoded = [decode_frame(version, f) for f in frames]
    assert decoded and all(f.type == FRAME_OPUS for f in decoded)
    dec = OpusDecoder(24000, 1, out_rate=24000)
    audio = np.concatenate([dec.decode(f.payload) for f in decoded])
    assert audio.size == len(frames) * 1440 and rms_dbfs(audio) > -35
    if version == 2:
        assert [f.timestamp_ms for f in decoded[:3]] == [0, 60, 120]
