"""The listener state machine (no sockets): modes, end of speech, barge-in cue, wake word.

A scripted VAD drives the mode logic deterministically; the real Silero and WebRTC engines are
checked on espeak-ng speech followed by silence."""

from __future__ import annotations

import numpy as np
import pytest

from daemon.audio.listener import Listener, SpeechStarted, Utterance
from daemon.audio.vad import SileroVad, WebRtcVad, make_vad_factory
from daemon.config import VadConfig
from tests.support.audio import silence, speech, white_noise

W = 512  # window of the scripted VAD (as Silero's: 32 ms)


class LoudnessVad:
    """Speech = a window whose samples are non-zero. Lets tests write speech as ones."""

    window = W

    def __init__(self) -> None:
        self.resets = 0

    def prob(self, window: np.ndarray) -> float:
        return 1.0 if np.abs(window).max() > 0 else 0.0

    def reset(self) -> None:
        self.resets += 1


def voiced(ms: int) -> np.ndarray:
    return np.full(16 * ms, 1000, np.int16)


def quiet(ms: int) -> np.ndarray:
    return np.zeros(16 * ms, np.int16)


CFG = VadConfig(min_speech_ms=200, silence_ms=500, pre_roll_ms=128, max_utterance_s=5,
                barge_in_ms=300)


def feed(listener: Listener, *parts: np.ndarray, chunk: int = 960) -> list:
    audio = np.concatenate(parts)
    events: list = []
    for i in range(0, audio.size, chunk):
        events += listener.feed(audio[i : i + chunk])
    return events


def utterances(events: list) -> list[Utterance]:
    return [e for e in events if isinstance(e, Utterance)]


def test_nothing_is_heard_before_listen_start() -> None:
    li = Listener(LoudnessVad(), CFG)
    assert feed(li, voiced(1000), quiet(1000)) == []
    assert li.windows == 0  # the VAD did not even run on it


def test_auto_mode_one_utterance_then_stops_listening() -> None:
    li = Listener(LoudnessVad(), CFG)
    li.start("auto")
    events = feed(li, quiet(400), voiced(1000), quiet(800), voiced(1000), quiet(800))
    utts = utterances(events)
    assert len(utts) == 1 and utts[0].reason == "silence"
    assert not li.listening
    u = utts[0]
    # pre-roll + speech + at most KEEP_TRAILING_MS of the silence
    assert 1.0 <= u.duration_s <= 1.0 + 0.128 + 0.3 + 0.05
    assert u.speech_ms >= 990
    assert sum(isinstance(e, SpeechStarted) for e in events) == 1


def test_realtime_mode_keeps_listening_and_cues_each_utterance() -> None:
    li = Listener(LoudnessVad(), CFG)
    li.start("realtime")
    events = feed(li, voiced(800), quiet(700), voiced(600), quiet(700), voiced(100), quiet(700))
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["SpeechStarted", "Utterance", "SpeechStarted", "Utterance"]  # the click: nothing
    assert li.listening


def test_short_clicks_are_not_utterances() -> None:
    li = Listener(LoudnessVad(), CFG)
    li.start("realtime")
    events = feed(li, *[p for _ in range(10) for p in (voiced(64), quiet(600))])
    assert events == []


def test_manual_mode_waits_for_stop_whatever_the_pauses() -> None:
    li = Listener(LoudnessVad(), CFG)
    li.start("manual")
    events = feed(li, quiet(300), voiced(500), quiet(1500), voiced(500), quiet(200))
    assert utterances(events) == []
    out = li.stop()
    assert len(out) == 1 and out[0].reason == "stop"
    assert abs(out[0].duration_s - 3.0) < 0.05  # everything since listen start
    assert not li.listening


def test_manual_stop_without_speech_gives_nothing() -> None:
    li = Listener(LoudnessVad(), CFG)
    li.start("manual")
    feed(li, quiet(3000))
    assert li.stop() == []


def test_long_speech_is_cut_at_the_cap() -> None:
    li = Listener(LoudnessVad(), CFG)
    li.start("realtime")
    utts = utterances(feed(li, voiced(12000)))
    assert [u.reason for u in utts] == ["max_length", "max_length"]
    assert all(abs(u.duration_s - 5.0) < 0.1 for u in utts)


def test_wake_word_audio_is_discarded() -> None:
    li = Listener(LoudnessVad(), CFG)
    li.start("manual")
    feed(li, np.full(16 * 700, 2000, np.int16))  # the wake word
    li.discard()  # `listen detect` with the wake word
    feed(li, voiced(600))
    out = li.stop()
    assert len(out) == 1 and abs(out[0].duration_s - 0.6) < 0.04
    assert np.all(out[0].pcm == 1000)  # none of the wake-word samples


def test_start_resets_the_vad_and_the_buffers() -> None:
    vad = LoudnessVad()
    li = Listener(vad, CFG)
    li.start("realtime")
    feed(li, voiced(400))
    li.start("auto")
    assert vad.resets == 2 and not li.in_speech
    assert len(utterances(feed(li, voiced(300), quiet(600)))) == 1


def test_odd_chunk_sizes_give_the_same_result() -> None:
    audio = (quiet(300), voiced(900), quiet(700))
    results = []
    for chunk in (1, 160, 511, 960, 5000):
        li = Listener(LoudnessVad(), CFG)
        li.start("auto")
        results.append([u.pcm.size for u in utterances(feed(li, *audio, chunk=chunk))])
    assert all(r == results[0] and len(r) == 1 for r in results)


@pytest.mark.parametrize("engine", ["silero", "webrtc"])
def test_real_vad_finds_the_end_of_speech(engine: str) -> None:
    cfg = VadConfig(provider=engine)
    vad = make_vad_factory(cfg)()
    assert isinstance(vad, SileroVad if engine == "silero" else WebRtcVad)
    li = Listener(vad, cfg)
    li.start("auto")
    talk = speech("Please turn on the light in the kitchen.")
    events: list = []
    audio = np.concatenate([silence(1.0), talk, silence(2.0)])
    ended_at = None
    for i in range(0, audio.size, 960):
        got = li.feed(audio[i : i + 960])
        if utterances(got) and ended_at is None:
            ended_at = (i + 960) / 16000
        events += got
    utts = utterances(events)
    assert len(utts) == 1
    speech_end = 1.0 + talk.size / 16000
    # detected after the configured silence, not much later
    assert ended_at is not None
    assert speech_end + cfg.silence_ms / 1000 - 0.2 <= ended_at <= speech_end + cfg.silence_ms / 1000 + 0.4
    assert abs(utts[0].duration_s - talk.size / 16000) < 0.8
    assert utts[0].speech_ms > 1000


def test_silero_ignores_a_minute_of_noise_and_silence() -> None:
    li = Listener(SileroVad(), VadConfig())
    li.start("realtime")
    events = feed(li, white_noise(30), silence(30), white_noise(30, level=300, seed=3))
    assert events == []
